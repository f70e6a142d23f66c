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
    """The one device a verb runs on: ``cuda`` when present (``auto``), else ``cpu``; a forced device is checked."""
    import torch

    from lorakit.errors import ConfigError

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    kind, _, index = requested.partition(":")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {requested!r} asked for, but this torch ({torch.__version__}) sees no CUDA GPU; "
                              "install the CUDA build of torch, or use device auto / cpu")
        if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
            raise ConfigError(f"device {requested!r}: this machine has {torch.cuda.device_count()} CUDA device(s) "
                              f"(cuda:0..cuda:{torch.cuda.device_count() - 1})")
    elif requested not in ("cpu", "mps"):
        raise ConfigError(f"unknown device {requested!r}; use auto, cpu, cuda or cuda:N")
    return requested


def dtype_name(precision: str) -> str:
    """The torch dtype's name for a resolved precision (``bf16`` -> ``bfloat16``): what an NF4 base computes in."""
    return {"bf16": "bfloat16", "fp16": "float16"}.get(precision, "float32")


def resolve_precision(device: str, requested: str) -> str:
    """``requested`` unless it is auto: bf16 (fp16 without bf16) on CUDA, bf16 on CPUs with fast bf16, else fp32."""
    import torch

    if requested != "auto":
        return requested
    if device.startswith("cuda"):
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    fast_bf16 = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return "bf16" if fast_bf16 else "fp32"


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


TCMALLOC = "libtcmalloc_minimal.so.4"
TCMALLOC_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib")


def find_tcmalloc() -> str | None:
    """gperftools' tcmalloc (Debian/Ubuntu: ``apt install libtcmalloc-minimal4``), if this machine has it."""
    for d in TCMALLOC_DIRS:
        path = os.path.join(d, TCMALLOC)
        if os.path.isfile(path):
            return path
    return None


def allocator_env(env: dict[str, str], tcmalloc: str | None) -> dict[str, str] | None:
    """The environment to restart the CLI in with tcmalloc preloaded; None to keep this process as it is.

    Why: glibc's malloc keeps the freed blocks of a CPU training step's activations (a few hundred KB to
    a few MB each, a different set every step) and the process grows step after step; tcmalloc reuses
    them. Measured on the demo's SmolLM2 training (docs/benchmarks.md): peak RSS 4.7 GB -> 3.65 GB at
    the same or better speed. A preload cannot be switched on inside a running process, hence the
    restart. ``LORAKIT_ALLOCATOR=system`` keeps glibc's allocator.
    """
    choice = env.get("LORAKIT_ALLOCATOR", "auto")
    if choice != "auto" or tcmalloc is None or "tcmalloc" in env.get("LD_PRELOAD", ""):
        return None
    preload = ":".join(p for p in (tcmalloc, env.get("LD_PRELOAD", "")) if p)
    # tcmalloc prints a line for every allocation over 1 GB (a 7B model's weights): not news to a user
    quiet = {"TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD": env.get("TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD", str(1 << 40))}
    return {**env, **quiet, "LD_PRELOAD": preload, "LORAKIT_ALLOCATOR": "tcmalloc"}


def allocator() -> str:
    """The memory allocator of this process, for run records: tcmalloc when preloaded, else the system's."""
    return "tcmalloc" if "tcmalloc" in os.environ.get("LD_PRELOAD", "") else "system"
