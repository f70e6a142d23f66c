"""Training: tokenization with assistant-only labels, the LoRA loop, checkpoints and resume."""
