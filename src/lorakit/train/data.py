"""Tokenized training examples, length-bucketed batches, and a batch packed into one row (``train.packing``)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from lorakit.data.chat import ChatExample
from lorakit.errors import DataError

IGNORE = -100


@dataclass
class Tokenized:
    input_ids: list[int]
    labels: list[int]  # IGNORE on prompt tokens: the loss covers the assistant's answer only


def tokenize_example(ex: ChatExample, tok, max_seq_len: int) -> Tokenized | None:
    """Prompt tokens from the chat template, answer tokens labelled; None if the answer cannot fit."""
    prompt = tok.apply_chat_template(ex.messages[:-1], add_generation_prompt=True, tokenize=False)
    full = tok.apply_chat_template(ex.messages, tokenize=False)
    if not full.startswith(prompt):
        raise DataError(
            "the chat template does not render the prompt as a prefix of the full conversation; "
            "lorakit cannot locate the answer tokens for this model's template", line=ex.line
        )
    p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
    a_ids = tok(full[len(prompt):], add_special_tokens=False)["input_ids"]
    if len(a_ids) >= max_seq_len:
        return None
    p_ids = p_ids[-(max_seq_len - len(a_ids)):]  # keep the end of an over-long prompt
    return Tokenized(p_ids + a_ids, [IGNORE] * len(p_ids) + a_ids)


def tokenize_all(examples: list[ChatExample], tok, max_seq_len: int) -> tuple[list[Tokenized], int]:
    out = [t for t in (tokenize_example(e, tok, max_seq_len) for e in examples) if t is not None]
    return out, len(examples) - len(out)


def batch_order(lengths: list[int], batch_size: int, seed: int, epoch: int,
                group_by_length: bool = True) -> list[list[int]]:
    """Shuffled batches: of similar length (``group_by_length``: pools of 64 batches are sorted by length, then
    split, so little is padded), or uniformly random (HF's sampler: the rows in shuffled order, cut into batches).

    The order is a pure function of (seed, epoch), which is what makes resume exact.
    """
    rng = random.Random(f"{seed}/{epoch}")
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    if not group_by_length:
        return [idx[i:i + batch_size] for i in range(0, len(idx), batch_size)]
    pool = batch_size * 64
    batches = []
    for start in range(0, len(idx), pool):
        chunk = sorted(idx[start:start + pool], key=lambda i: lengths[i])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(items: list[Tokenized], pad_id: int, multiple: int = 8):
    """Right-padded tensors; lengths rounded up to ``multiple`` so kernels see few distinct shapes."""
    import torch

    from lorakit.models.head import pad_right

    ids, mask = pad_right([t.input_ids for t in items], pad_id, multiple)
    labels = torch.full_like(ids, IGNORE)
    for row, t in enumerate(items):
        labels[row, :len(t.labels)] = torch.tensor(t.labels)
    return ids, labels, mask


def pack(ids, labels, mask):
    """A padded batch as one row with no padding: each row's tokens end to end, positions restarting at 0.

    ``(ids, labels, position_ids)``, each ``[1, total tokens]``. Given ``position_ids`` and no attention mask,
    transformers builds a block-diagonal causal mask from the restarts (``find_packed_sequence_indices``; on CUDA
    flash-attention runs the rows as variable-length sequences), so no token attends across rows. The first token
    of each row gets no label: its target would be predicted from the previous row's last token. In the padded
    batch it was never a target either, so the loss and its token count are the padded batch's.
    """
    import torch

    keep = mask.bool()
    lengths = keep.sum(1)
    starts = torch.cumsum(lengths, 0) - lengths
    total = int(lengths.sum())
    positions = torch.arange(total, device=ids.device) - torch.repeat_interleave(starts, lengths)
    packed_labels = labels[keep]  # boolean indexing copies: the padded batch's labels stay as they were
    packed_labels[starts] = IGNORE
    return ids[keep].unsqueeze(0), packed_labels.unsqueeze(0), positions.unsqueeze(0)
