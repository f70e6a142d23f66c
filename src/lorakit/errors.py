"""The lorakit exception tree.

Every error a user can cause derives from :class:`LorakitError`, and its message says
what to do next. Catch ``LorakitError`` to handle all of them; the CLI prints the
message and exits with code 2 instead of showing a traceback.

    LorakitError
    ├── ConfigError      invalid YAML / unknown or ill-typed keys / bad overrides
    ├── DataError        a malformed data file (names the file, line and field)
    ├── ModelLoadError   a model that cannot be found or loaded (says what to install)
    ├── TrainError       training cannot start or continue (e.g. no checkpoint to resume)
    ├── EvalError        evaluation inputs missing or inconsistent
    ├── ExportError      an export failed or its parity check found a difference
    └── ServeError       the server cannot start (bad adapter folder, port in use)
"""

from __future__ import annotations

__all__ = ["LorakitError", "ConfigError", "DataError", "ModelLoadError", "TrainError", "EvalError", "ExportError",
           "ServeError"]


class LorakitError(Exception):
    """Base class of every error lorakit raises on purpose."""


class ConfigError(LorakitError):
    """The configuration is invalid; the message lists every bad key."""


class DataError(LorakitError):
    """A data file is malformed; the message names the file and line."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
        self.path = path
        self.line = line


class ModelLoadError(LorakitError):
    """A model could not be found or loaded; the message says what to install or which path was tried."""


class TrainError(LorakitError):
    """Training could not start or continue."""


class EvalError(LorakitError):
    """Evaluation could not run with the inputs given."""


class ExportError(LorakitError):
    """An export failed, or its parity check found an answer that differs from the evaluated model's."""


class ServeError(LorakitError):
    """The server cannot start with the options given."""
