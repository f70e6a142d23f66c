"""lorakit: turn a small open LLM into a reliable specialist with LoRA, and prove it with numbers."""

from lorakit.errors import ConfigError, DataError, EvalError, LorakitError, ModelLoadError, TrainError

__version__ = "0.1.0"

__all__ = ["ConfigError", "DataError", "EvalError", "LorakitError", "ModelLoadError", "TrainError", "__version__"]
