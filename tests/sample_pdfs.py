"""``examples/sample_pdfs.py`` (the shipped policy PDFs' content and their reportlab builder), imported by path:
it lives with the examples, not in the package, and ``examples/`` is not a package."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

PATH = Path(__file__).resolve().parents[1] / "examples" / "sample_pdfs.py"


def _load():
    if "sample_pdfs" not in sys.modules:
        spec = importlib.util.spec_from_file_location("sample_pdfs", PATH)
        module = importlib.util.module_from_spec(spec)
        sys.modules["sample_pdfs"] = module
        spec.loader.exec_module(module)
    return sys.modules["sample_pdfs"]


sample_pdfs = _load()
