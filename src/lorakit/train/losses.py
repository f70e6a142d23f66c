"""The training losses on answer tokens: the LM head runs on the positions that are scored, nothing else.

On a 49k vocabulary the prompt's logits are ~20% of a CPU step; SFT and DPO both need only the answer's.
"""

from __future__ import annotations

from lorakit.train.data import IGNORE


def answer_logits(model, ids, labels, mask, position_ids=None):
    """``(logits, targets, keep)``: fp32 logits and targets of the answer tokens (``keep``: where they are).

    ``mask`` is the padding mask; a packed row (:func:`lorakit.train.data.pack`) has none and passes its
    ``position_ids`` instead.
    """
    import torch

    base = model.get_base_model()
    # use_cache=False: a training forward has no use for a KV cache, and building one costs a copy per layer
    hidden = base.get_decoder()(input_ids=ids, attention_mask=mask, position_ids=position_ids,
                                use_cache=False).last_hidden_state
    targets = labels[:, 1:]
    keep = targets != IGNORE
    logits = base.get_output_embeddings()(hidden[:, :-1][keep]).float()
    cap = getattr(base.config, "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return logits, targets[keep], keep


def answer_loss(model, ids, labels, mask, position_ids=None):
    """Summed cross-entropy over answer tokens, with the LM head applied to those positions only."""
    import torch.nn.functional as F

    logits, targets, keep = answer_logits(model, ids, labels, mask, position_ids)
    return F.cross_entropy(logits, targets, reduction="sum"), int(keep.sum())


def token_logps(model, ids, labels, mask):
    """The log-probability of every answer token (flat, in row order), and the row each belongs to."""
    import torch
    import torch.nn.functional as F

    logits, targets, keep = answer_logits(model, ids, labels, mask)
    rows = torch.arange(ids.shape[0], device=ids.device).unsqueeze(1).expand(-1, keep.shape[1])[keep]
    return -F.cross_entropy(logits, targets, reduction="none"), rows


def row_sums(tokens, rows, n: int):
    """Per row of ``n``: the sum of its tokens' values (from :func:`token_logps`), and how many there are."""
    import torch

    sums = torch.zeros(n, device=tokens.device, dtype=tokens.dtype).index_add(0, rows, tokens)
    return sums, torch.bincount(rows, minlength=n)


def sequence_logps(model, ids, labels, mask):
    """Per row: the summed log-probability of its answer tokens, and how many there are."""
    tokens, rows = token_logps(model, ids, labels, mask)
    return row_sums(tokens, rows, ids.shape[0])
