"""Atomic checkpoints that make a killed run resume exactly where it stopped."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from lorakit.io import atomic_dir

CKPT_PREFIX = "step-"


def _rng_state() -> dict:
    import numpy as np
    import torch

    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    import numpy as np
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(ckpt_dir: Path, step: int, model, optimizer, scheduler, extra: dict, keep: int) -> Path:
    """Write ``ckpt_dir/step-N`` via a temp folder and a rename, then prune old checkpoints."""
    import torch
    from peft import get_peft_model_state_dict

    target = ckpt_dir / f"{CKPT_PREFIX}{step:07d}"
    with atomic_dir(target) as tmp:
        state = {
            "step": step,
            "adapter": get_peft_model_state_dict(model),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": _rng_state(),
            "extra": extra,
        }
        torch.save(state, tmp / "state.pt")
    for old in list_checkpoints(ckpt_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def list_checkpoints(ckpt_dir: Path) -> list[Path]:
    if not ckpt_dir.is_dir():
        return []
    return sorted(p for p in ckpt_dir.iterdir() if p.name.startswith(CKPT_PREFIX) and (p / "state.pt").is_file())


def load_checkpoint(path: Path, model, optimizer, scheduler) -> dict:
    """Restore adapter, optimizer, scheduler and RNG states; returns the saved step and extras."""
    import torch
    from peft import set_peft_model_state_dict

    state = torch.load(path / "state.pt", weights_only=False)
    set_peft_model_state_dict(model, state["adapter"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    _set_rng_state(state["rng"])
    return {"step": state["step"], **state["extra"]}
