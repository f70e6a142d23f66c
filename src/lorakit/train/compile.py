"""``train.compile``: the model's repeated blocks (decoder layers) compiled by ``torch.compile`` while training.

Regional compilation, as PyTorch's docs recommend for transformers: every decoder layer shares one compiled
graph (with dynamic sequence lengths), so a run compiles a layer or two, not the whole model, and the
embeddings, the LM head on answer positions and the loss stay eager. On CPU, inductor fuses what eager
runs as separate passes over memory (RMSNorm's casts and reductions, rotary embeddings, SiLU x up, the
LoRA scalings): measured side by side on SmolLM2-135M (docs/benchmarks.md), 1.1-1.9x the tokens/s of
eager after the first step, which holds the compiling: ~8-25 s with a warm cache, ~35 s-2.5 min cold on 2 cores.

``auto`` compiles where that was measured to pay: SFT / classification / DPO on CPU, runs of at least
:data:`MIN_TOKENS` tokens (:data:`MIN_TOKENS_WARM` when inductor's cache already holds these layers, see
:func:`compile_key`), with a C++ compiler present, and with LoRA dropout only at batches of
:data:`MIN_BATCH_WITH_DROPOUT` rows or more. GRPO is left eager: it samples answers with the same
layers between steps, in shapes (a KV cache, one token at a time) that would recompile them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)

BACKEND = "inductor"  # torch.compile's; the unit tests trace with "aot_eager" (no C++ compiling, ~10x faster)
DYNAMIC = True  # one graph for every sequence length
# measured on SmolLM2-135M, 2 cores: cold compiling cost ~67 s and the defaults ran at 333 instead of 243 tokens/s,
# so it pays from ~60k tokens on (~15 s and ~14k tokens with inductor's cache warm); 2.5x that, for slower spells
MIN_TOKENS = 150_000
# with inductor's cache warm the first step cost ~6 s more than an eager one on an AMX Xeon (8.4-9.3 s) and
# ~15-25 s on an AMD EPYC: the compiled steps repay that within ~14k-22k tokens; 2.5x the larger
MIN_TOKENS_WARM = 50_000
# with LoRA dropout at batch 4 the compiled steps ran at 1.01x eager (the masks' hashing eats the fusing); at
# batch 8, 1.32-1.95x. Without dropout compiled won at both (1.21x at 4, 1.11-1.86x at 8)
MIN_BATCH_WITH_DROPOUT = 8


def should_compile(setting: str | bool, device: str, method: str, tokens: int, lora_dropout: float = 0.0,
                   batch_size: int = 8, warm: dict | None = None) -> tuple[bool, str]:
    """Whether to compile, and why (logged: the user did not make this choice when ``setting`` is ``auto``).

    ``warm``: what :func:`earlier_compile` found, when an earlier run compiled these same layers into inductor's
    cache; its compiling is then a cache lookup and shorter runs repay it."""
    if setting != "auto":
        return bool(setting), f"train.compile={str(setting).lower()}"
    if method == "grpo":
        return False, "train.compile=auto: GRPO samples with the layers between steps, which would recompile them"
    if device != "cpu":
        return False, f"train.compile=auto compiles on CPU, where it was measured; on {device} set train.compile=true"
    least = MIN_TOKENS_WARM if warm else MIN_TOKENS
    cache = (f"inductor's cache holds these layers from {warm.get('when', 'an earlier run')}"
             if warm else "no earlier compiled run of these layers found in inductor's cache: a cold compile assumed")
    if tokens < least:
        return False, (f"train.compile=auto: ~{tokens} tokens to train are too few to repay compiling "
                       f"(under {least}; {cache}); set train.compile=true to compile anyway")
    if lora_dropout > 0 and batch_size < MIN_BATCH_WITH_DROPOUT:
        return False, (f"train.compile=auto: with LoRA dropout, batches under {MIN_BATCH_WITH_DROPOUT} rows ran no faster "
                       f"compiled (the hashed masks cost what fusing saves); set train.compile=true to compile anyway")
    if shutil.which("g++") is None and shutil.which("c++") is None:
        return False, "train.compile=auto: no C++ compiler (g++) for torch.compile's CPU kernels"
    return True, f"train.compile=auto: compiling the decoder layers (~{tokens} tokens to train on CPU; {cache})"


def compile_key(model, precision: str, settings: dict) -> str:
    """A digest of what shapes the compiled layers' graph: torch, the backend, the model's config and attention
    kernel, the precision, and the run's ``settings`` (the trainer's: LoRA, quantization).

    Inductor keeps what it compiled on disk (its FX graph and AOT autograd caches, ``TORCHINDUCTOR_CACHE_DIR``,
    by default ``/tmp/torchinductor_$USER``) but has no public way to ask whether a graph is there before
    tracing it. So lorakit leaves a marker under that directory, named by this key, after a run's first compiled
    step (:func:`remember_compile`): the marker goes when the cache directory goes. A key that says more than
    the graph depends on only makes ``auto`` take the cold threshold more often."""
    import torch

    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    blocks = sorted({type(b).__name__ for b in repeated_blocks(model)})
    what = {"torch": torch.__version__, "backend": BACKEND, "dynamic": DYNAMIC, "blocks": blocks,
            "config": inner.config.to_dict(), "precision": precision,
            # the attention kernel is traced into the layers, and config.to_dict() leaves it out
            "attention": getattr(inner.config, "_attn_implementation", None), **settings}
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _marker(key: str) -> Path | None:
    """Where the marker of ``key`` lives, or None when inductor's disk caches are off (nothing would be warm)."""
    if BACKEND != "inductor":
        return None
    try:  # private torch modules: if a release moves them, the cache reads as cold, and training goes on
        import torch._inductor.config as inductor_config
        # torch's own resolution of the cache directory (the env var or its default), not a copy of its rules
        from torch._inductor.runtime.cache_dir_utils import cache_dir

        if not getattr(inductor_config, "fx_graph_cache", False):
            return None
        return Path(cache_dir()) / "lorakit" / f"{key}.json"
    except (ImportError, AttributeError, OSError) as e:
        logger.debug("inductor's cache directory is unknown (%s): a cold compile assumed", e)
        return None


def earlier_compile(key: str) -> dict | None:
    """The marker an earlier compiled run of the same layers left (its first step's seconds, when), or None."""
    path = _marker(key)
    try:
        return json.loads(path.read_text()) if path is not None and path.is_file() else None
    except (OSError, ValueError):
        return None  # a torn or foreign file: treat the cache as cold


def remember_compile(key: str, first_step_seconds: float) -> None:
    """After a compiled first step: inductor's cache now holds these layers (see :func:`compile_key`)."""
    from lorakit.io import atomic_write_text

    path = _marker(key)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({"first_step_seconds": first_step_seconds,
                                            "when": time.strftime("a run on %Y-%m-%d %H:%M")}))
    except OSError as e:  # a read-only cache directory costs the next run a cold threshold, nothing else
        logger.debug("could not leave the compile marker %s: %s", path, e)


def repeated_blocks(model) -> list:
    """The model's repeated blocks: the modules of the classes transformers lists in ``_no_split_modules``."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    names = set(getattr(inner, "_no_split_modules", None) or [])
    return [m for m in inner.modules() if type(m).__name__ in names]


@contextmanager
def compiled_layers(model, enabled: bool):
    """While the block runs, each repeated block of ``model`` runs compiled (``nn.Module.compile``: the
    parameters, state dict and saved adapter are untouched); afterwards they run eagerly again."""
    import torch

    blocks = repeated_blocks(model) if enabled else []
    if enabled and not blocks:
        logger.warning("train.compile: %s names no repeated blocks (_no_split_modules); training eagerly",
                       type(model).__name__)
    for block in blocks:
        block.compile(dynamic=DYNAMIC, backend=BACKEND)

    # the first block's input needs no gradient (frozen embeddings), the others' do: one graph for all of them
    # instead of a second compile, at the cost of the first block's input gradient (1 block of SmolLM2's 30)
    def needs_grad(module, args, out):
        return out.requires_grad_() if torch.is_grad_enabled() else out  # not in a no-grad forward (GRPO's sampling)

    hook = model.get_input_embeddings().register_forward_hook(needs_grad) if blocks else None
    try:
        yield bool(blocks)
    finally:
        if hook is not None:
            hook.remove()
        for block in blocks:
            block._compiled_call_impl = None  # what nn.Module.compile set: back to the eager forward
