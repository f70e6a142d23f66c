"""Check a LoRA adapter folder before PEFT reads it, so a damaged file is a clear error, not a traceback."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from lorakit.errors import ModelLoadError
from lorakit.io import sha256_file
from lorakit.rundir import RUN_RECORD

WEIGHTS = "adapter_model.safetensors"


def safetensors_problem(path: Path) -> str | None:
    """Why ``path`` is not a whole safetensors file (header cut, data shorter or longer than the header says)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            return f"it has {size} bytes, too few for a safetensors header"
        (n,) = struct.unpack("<Q", head)
        if 8 + n > size:
            return f"its header says {n} header bytes but the file has {size} bytes in all (cut short)"
        try:
            header = json.loads(f.read(n))
        except (json.JSONDecodeError, UnicodeDecodeError):
            return "its header is not valid JSON (damaged)"
    ends = [t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"]
    want = 8 + n + max(ends, default=0)
    if size != want:
        return f"it has {size} bytes, its header describes {want} (cut short or damaged)"
    return None


def check_adapter(adapter_dir: str | Path) -> Path:
    """``adapter_dir`` when it holds a whole adapter; else a ModelLoadError naming the file and what to do.

    Checks the config, the weights' safetensors structure, and (when the run recorded it at training
    time) the weights' sha256.
    """
    adapter_dir = Path(adapter_dir)
    config, weights = adapter_dir / "adapter_config.json", adapter_dir / WEIGHTS
    if not config.is_file():
        raise ModelLoadError(f"{config} is missing: {adapter_dir} holds no adapter; point at a run folder "
                             "or an adapter folder written by `lorakit train` / `lorakit export --format peft`")
    if not weights.is_file():
        raise ModelLoadError(f"{weights} is missing; copy the whole adapter folder again, or retrain with `lorakit train`")
    problem = safetensors_problem(weights)
    record = adapter_dir / RUN_RECORD
    if problem is None and record.is_file():
        want = json.loads(record.read_text(encoding="utf-8")).get("adapter_sha256")
        if want and sha256_file(weights) != want:
            problem = "its sha256 differs from the one recorded when it was trained (damaged or replaced)"
    if problem:
        raise ModelLoadError(f"{weights} is damaged: {problem}. Copy the adapter folder again from where it was "
                             "trained, or retrain it with `lorakit train CONFIG` (add --resume to continue from a "
                             "checkpoint)")
    return adapter_dir
