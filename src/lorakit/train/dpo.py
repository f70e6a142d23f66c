"""DPO (Rafailov et al. 2023): the sigmoid preference loss against a frozen reference, on LoRA.

Our own loop rather than TRL's ``DPOTrainer``, for the reasons of :mod:`lorakit.train.trainer`: the
LM head runs on the answer tokens only, the frozen base stays in bf16 on CPU, and checkpoints
resume exactly. The reference is the starting model (``train.init_from``'s adapter, else the base),
so its log-probabilities are computed once, before the first step, and saved in the run folder: no
second model is held in memory and a resumed run reads them back. The loss is TRL's ``sigmoid``
loss, and ``sft_weight`` is TRL's ``rpo_alpha`` (the chosen answers' per-token NLL added).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from lorakit.data.chat import ChatExample
from lorakit.data.preference import PreferencePair
from lorakit.train.data import Tokenized, collate, tokenize_example
from lorakit.train.losses import sequence_logps

logger = logging.getLogger(__name__)


@dataclass
class TokenizedPair:
    chosen: Tokenized
    rejected: Tokenized

    @property
    def length(self) -> int:
        return max(len(self.chosen.input_ids), len(self.rejected.input_ids))


def tokenize_pairs(pairs: list[PreferencePair], tok, max_seq_len: int) -> tuple[list[TokenizedPair], int]:
    """Both answers of every pair after the same prompt, answer tokens labelled; pairs that cannot fit are counted."""
    out = []
    for p in pairs:
        sides = [tokenize_example(ChatExample(p.prompt + [{"role": "assistant", "content": answer}], line=p.line),
                                  tok, max_seq_len) for answer in (p.chosen, p.rejected)]
        if None not in sides:
            out.append(TokenizedPair(*sides))
    return out, len(pairs) - len(out)


def collate_pairs(items: list[TokenizedPair], pad_id: int):
    """``(ids, labels, mask)`` with the chosen answers in rows ``0..B-1`` and the rejected in ``B..2B-1``."""
    return collate([p.chosen for p in items] + [p.rejected for p in items], pad_id)


def dpo_terms(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta: float):
    """Per pair: the sigmoid DPO loss and the implicit rewards ``beta * (log pi - log ref)`` of both answers."""
    import torch.nn.functional as F

    chosen_reward = beta * (policy_chosen - ref_chosen)
    rejected_reward = beta * (policy_rejected - ref_rejected)
    return -F.logsigmoid(chosen_reward - rejected_reward), chosen_reward, rejected_reward


def pair_loss(model, batch, ref, beta: float, sft_weight: float):
    """Summed loss of the pairs of ``batch`` (from :func:`collate_pairs`), and summed statistics to log.

    ``ref``: the reference log-probabilities of the same rows (chosen then rejected).
    """
    ids, labels, mask = batch
    n = ids.shape[0] // 2
    logps, counts = sequence_logps(model, ids, labels, mask)
    losses, chosen_r, rejected_r = dpo_terms(logps[:n], logps[n:], ref[:n], ref[n:], beta)
    loss = losses.sum()
    nll = -(logps[:n] / counts[:n].clamp(min=1)).sum()
    if sft_weight:
        loss = loss + sft_weight * nll
    margin = (chosen_r - rejected_r).detach()
    stats = {"dpo_loss": float(losses.detach().sum()), "rewards/chosen": float(chosen_r.detach().sum()),
             "rewards/rejected": float(rejected_r.detach().sum()), "rewards/margin": float(margin.sum()),
             "rewards/margin_sq": float((margin ** 2).sum()), "rewards/accuracy": float((margin > 0).sum()),
             "chosen_nll": float(nll.detach())}
    return loss, stats


def reference_logps(model, data: list[TokenizedPair], pad_id: int, device: str, precision: str,
                    batch_size: int) -> tuple[list[float], list[float]]:
    """The starting model's summed answer log-probabilities of every pair, in eval mode (no dropout), no grad."""
    import torch

    from lorakit.runtime import autocast

    chosen, rejected = [], []
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, len(data), batch_size):
            part = data[start:start + batch_size]
            ids, labels, mask = collate_pairs(part, pad_id)
            with autocast(device, precision):
                logps, _ = sequence_logps(model, ids.to(device), labels.to(device), mask.to(device))
            chosen += logps[:len(part)].float().tolist()
            rejected += logps[len(part):].float().tolist()
    model.train(was_training)
    return chosen, rejected
