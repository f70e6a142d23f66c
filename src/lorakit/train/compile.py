"""``train.compile``: the model's repeated blocks (decoder layers) compiled by ``torch.compile`` while training.

Regional compilation, as PyTorch's docs recommend for transformers: every decoder layer shares one compiled
graph (with dynamic sequence lengths), so a run compiles a layer or two, not the whole model, and the
embeddings, the LM head on answer positions and the loss stay eager. On CPU, inductor fuses what eager
runs as separate passes over memory (RMSNorm's casts and reductions, rotary embeddings, SiLU x up, the
LoRA scalings): measured side by side on SmolLM2-135M (docs/benchmarks.md), 1.1-1.9x the tokens/s of
eager after the first step, which holds the compiling: ~15-25 s with a warm cache, ~1-2.5 min cold on 2 cores.

``auto`` compiles where that was measured to pay: SFT / classification / DPO on CPU, runs of at least
:data:`MIN_TOKENS` tokens, with a C++ compiler present, and with LoRA dropout only at batches of
:data:`MIN_BATCH_WITH_DROPOUT` rows or more. GRPO is left eager: it samples answers with the same
layers between steps, in shapes (a KV cache, one token at a time) that would recompile them.
"""

from __future__ import annotations

import logging
import shutil
from contextlib import contextmanager

logger = logging.getLogger(__name__)

BACKEND = "inductor"  # torch.compile's; the unit tests trace with "aot_eager" (no C++ compiling, ~10x faster)
DYNAMIC = True  # one graph for every sequence length
# measured on SmolLM2-135M, 2 cores: cold compiling cost ~67 s and the defaults ran at 333 instead of 243 tokens/s,
# so it pays from ~60k tokens on (~15 s and ~14k tokens with inductor's cache warm); 2.5x that, for slower spells
MIN_TOKENS = 150_000
# with LoRA dropout at batch 4 the compiled steps ran at 1.01x eager (the masks' hashing eats the fusing); at
# batch 8, 1.32-1.95x. Without dropout compiled won at both (1.21x at 4, 1.11-1.86x at 8)
MIN_BATCH_WITH_DROPOUT = 8


def should_compile(setting: str | bool, device: str, method: str, tokens: int, lora_dropout: float = 0.0,
                   batch_size: int = 8) -> tuple[bool, str]:
    """Whether to compile, and why (logged: the user did not make this choice when ``setting`` is ``auto``)."""
    if setting != "auto":
        return bool(setting), f"train.compile={str(setting).lower()}"
    if method == "grpo":
        return False, "train.compile=auto: GRPO samples with the layers between steps, which would recompile them"
    if device != "cpu":
        return False, f"train.compile=auto compiles on CPU, where it was measured; on {device} set train.compile=true"
    if tokens < MIN_TOKENS:
        return False, (f"train.compile=auto: ~{tokens} tokens to train are too few to repay compiling "
                       f"(under {MIN_TOKENS}); set train.compile=true to compile anyway")
    if lora_dropout > 0 and batch_size < MIN_BATCH_WITH_DROPOUT:
        return False, (f"train.compile=auto: with LoRA dropout, batches under {MIN_BATCH_WITH_DROPOUT} rows ran no faster "
                       f"compiled (the hashed masks cost what fusing saves); set train.compile=true to compile anyway")
    if shutil.which("g++") is None and shutil.which("c++") is None:
        return False, "train.compile=auto: no C++ compiler (g++) for torch.compile's CPU kernels"
    return True, f"train.compile=auto: compiling the decoder layers (~{tokens} tokens to train on CPU)"


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
