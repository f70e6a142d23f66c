"""Checkpoints that make a killed run resume exactly where it stopped, and that can be trusted.

A checkpoint is a folder ``step-NNNNNNN`` written through a temporary folder and one rename:

- ``tensors.safetensors``: the adapter, the optimizer's moment tensors and torch's RNG state;
- ``state.json``: the step, the optimizer's hyper-parameters, the scheduler, Python's and numpy's
  RNG states and the run's extras (loss log, seconds, tokens);
- ``manifest.json``, written last: every file's size and sha256.

No pickle: loading a run folder from someone else cannot run code (an unrestricted ``torch.load``
could). A checkpoint whose manifest does not verify (cut by a full disk, a
partial copy, a sync tool) is skipped with a message, and ``--resume`` takes the newest intact one.
"""

from __future__ import annotations

import errno
import logging
import random
import shutil
from pathlib import Path

from lorakit.errors import TrainError
from lorakit.io import atomic_dir, read_json, sha256_file, write_json

log = logging.getLogger(__name__)

CKPT_PREFIX = "step-"
MANIFEST = "manifest.json"
FORMAT = 2  # 1: one pickled state.pt (lorakit <= 0.1), no longer loaded


def _rng_state() -> tuple[dict, dict]:
    """(JSON-able states, tensors) of every random generator a training step draws from."""
    import numpy as np
    import torch

    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    states = {"python": [version, list(internal), gauss],
              "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)]}
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        tensors.update({f"rng.cuda.{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    return states, tensors


def _set_rng_state(states: dict, tensors: dict) -> None:
    import numpy as np
    import torch

    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(tensors["rng.torch"])
    cuda = [tensors[k] for k in sorted(k for k in tensors if k.startswith("rng.cuda."))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)


def _optimizer_split(state_dict: dict) -> tuple[dict, dict]:
    """An optimizer state_dict as (JSON-able part, tensors): per-parameter tensors become ``optim.<id>.<key>``."""
    import torch

    tensors, scalars = {}, {}
    for pid, per_param in state_dict["state"].items():
        for key, value in per_param.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{pid}.{key}"] = value
            else:
                scalars.setdefault(str(pid), {})[key] = value
    return {"param_groups": state_dict["param_groups"], "scalars": scalars}, tensors


def _optimizer_join(meta: dict, tensors: dict) -> dict:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            pid, key = name.split(".", 2)[1:]
            state.setdefault(int(pid), {})[key] = value
    for pid, values in meta["scalars"].items():
        state.setdefault(int(pid), {}).update(values)
    groups = [{**g, "betas": tuple(g["betas"])} if "betas" in g else g for g in meta["param_groups"]]
    return {"state": state, "param_groups": groups}


def save_checkpoint(ckpt_dir: Path, step: int, model, optimizer, scheduler, extra: dict, keep: int) -> Path:
    """Write ``ckpt_dir/step-N`` via a temp folder and a rename, then prune old checkpoints.

    A full disk raises a TrainError naming the folder and the space needed; nothing half-written
    is left and the earlier checkpoints stay.
    """
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    target = ckpt_dir / f"{CKPT_PREFIX}{step:07d}"
    optim_meta, optim_tensors = _optimizer_split(optimizer.state_dict())
    rng_meta, rng_tensors = _rng_state()
    tensors = {f"adapter.{k}": v.detach().contiguous() for k, v in get_peft_model_state_dict(model).items()}
    tensors.update({k: v.contiguous() for k, v in {**optim_tensors, **rng_tensors}.items()})
    state = {"format": FORMAT, "step": step, "optimizer": optim_meta, "scheduler": scheduler.state_dict(),
             "rng": rng_meta, "extra": extra}
    try:
        with atomic_dir(target) as tmp:
            save_file(tensors, str(tmp / "tensors.safetensors"))
            write_json(tmp / "state.json", state)
            write_json(tmp / MANIFEST, {"format": FORMAT, "files": {
                f.name: {"size": f.stat().st_size, "sha256": sha256_file(f)} for f in sorted(tmp.iterdir())}})
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        need = sum(t.numel() * t.element_size() for t in tensors.values()) / 2**20
        free = shutil.disk_usage(ckpt_dir).free / 2**20
        raise TrainError(f"disk full while saving checkpoint {target}: it needs about {need:.0f} MB and "
                         f"{free:.0f} MB are free on that disk. Nothing was half-written and the earlier checkpoints "
                         f"are kept: free some space (or lower train.keep_checkpoints), then rerun with --resume") from e
    for old in list_checkpoints(ckpt_dir, verify=False)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def checkpoint_problem(path: Path) -> str | None:
    """Why the checkpoint at ``path`` cannot be trusted, or None when its manifest verifies."""
    if (path / "state.pt").is_file() and not (path / MANIFEST).is_file():
        return "written by an older lorakit as a pickled state.pt, which lorakit no longer loads (it could run code)"
    try:
        manifest = read_json(path / MANIFEST)
    except Exception:  # noqa: BLE001 (a missing or cut manifest: any read error means the same)
        return f"{MANIFEST} is missing or unreadable"
    for name, want in manifest.get("files", {}).items():
        f = path / name
        if not f.is_file():
            return f"{name} is missing"
        if f.stat().st_size != want["size"]:
            return f"{name} has {f.stat().st_size} bytes, the manifest says {want['size']} (cut short or changed)"
        if sha256_file(f) != want["sha256"]:
            return f"{name} does not match its sha256 in the manifest (damaged or changed)"
    return None


def list_checkpoints(ckpt_dir: Path, *, verify: bool = True) -> list[Path]:
    """Finished checkpoints, oldest first; with ``verify`` only those whose manifest verifies."""
    if not ckpt_dir.is_dir():
        return []
    done = sorted(p for p in ckpt_dir.iterdir() if p.name.startswith(CKPT_PREFIX) and p.is_dir())
    return [p for p in done if not verify or checkpoint_problem(p) is None]


def newest_intact(ckpt_dir: Path) -> tuple[Path | None, list[dict]]:
    """The newest checkpoint that verifies, and the newer ones skipped, each with the reason (also logged)."""
    skipped = []
    for path in reversed(list_checkpoints(ckpt_dir, verify=False)):
        problem = checkpoint_problem(path)
        if problem is None:
            return path, skipped
        log.warning("--resume: skipping checkpoint %s: %s", path, problem)
        skipped.append({"checkpoint": str(path), "reason": problem})
    return None, skipped


def load_checkpoint(path: Path, model, optimizer, scheduler) -> dict:
    """Restore adapter, optimizer, scheduler and RNG states; returns the saved step and extras."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    state = read_json(path / "state.json")
    tensors = load_file(str(path / "tensors.safetensors"))
    set_peft_model_state_dict(model, {k.removeprefix("adapter."): v for k, v in tensors.items()
                                      if k.startswith("adapter.")})
    optimizer.load_state_dict(_optimizer_join(state["optimizer"], tensors))
    scheduler.load_state_dict(state["scheduler"])
    _set_rng_state(state["rng"], tensors)
    return {"step": state["step"], **state["extra"]}


def describe(skipped: list[dict]) -> str:
    return "; ".join(f"{Path(s['checkpoint']).name}: {s['reason']}" for s in skipped)


