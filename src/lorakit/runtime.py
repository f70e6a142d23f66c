"""Process-wide runtime choices: thread count, device, seeds, autocast."""

from __future__ import annotations

import contextlib
import os
import random


def free_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def setup_threads(share: int = 1) -> int:
    """Match torch's intra-op threads to the cores we may use: oversubscription made generation 10x slower.

    ``share``: processes on this machine splitting the cores (data-parallel training).
    """
    import torch

    n = int(os.environ.get("LORAKIT_THREADS", 0)) or max(1, free_cores() // share)
    torch.set_num_threads(n)
    return n


def pick_device(requested: str = "auto") -> str:
    import torch

    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "cuda"
    return "cpu"


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def autocast(device: str, precision: str):
    """bf16 autocast where it helps (3-4x on AVX512-BF16 CPUs), a no-op for fp32."""
    import torch

    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.split(":")[0], dtype=dtype)
