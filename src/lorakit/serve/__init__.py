"""``lorakit serve``: an OpenAI-compatible server over a base model and its LoRA adapters."""
