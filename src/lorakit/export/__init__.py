"""``lorakit export``: the trained adapter as a PEFT folder, a merged model, GGUF, or an Ollama model."""

from lorakit.export.artifacts import FORMATS, export

__all__ = ["FORMATS", "export"]
