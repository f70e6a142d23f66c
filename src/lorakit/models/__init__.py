"""Model resolution and loading: named presets, GGUF conversion cache, any HF id or local folder."""

from lorakit.models.loader import PRESETS, ModelSource, load, load_model, load_tokenizer, resolve_model

__all__ = ["PRESETS", "ModelSource", "load", "load_model", "load_tokenizer", "resolve_model"]
