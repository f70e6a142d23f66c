"""Batched greedy generation: one code path for base and tuned models."""

from __future__ import annotations

from collections.abc import Callable


def generate(model, tok, conversations: list[list[dict]], *, batch_size: int, max_new_tokens: int,
             on_batch: Callable[[int], None] | None = None) -> list[str]:
    """Greedy answers for chat ``conversations`` (each ending with the user turn), in input order.

    Prompts are sorted by length so a batch holds similar lengths (less padding), left-padded
    so every row's answer starts at the same position.
    """
    import torch

    texts = [tok.apply_chat_template(c, add_generation_prompt=True, tokenize=False) for c in conversations]
    ids = tok(texts, add_special_tokens=False)["input_ids"]  # tokenized once: sorted by length, then padded
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    out: list[str] = [""] * len(ids)
    device = next(model.parameters()).device
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        enc = tok.pad({"input_ids": [ids[i] for i in idx]}, return_tensors="pt").to(device)
        with torch.inference_mode():
            gen = model.generate(**enc, do_sample=False, max_new_tokens=max_new_tokens,
                                 pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
        new = gen[:, enc["input_ids"].shape[1]:]
        for i, row in zip(idx, new):
            out[i] = tok.decode(row, skip_special_tokens=True)
        if on_batch:
            on_batch(len(idx))
    return out
