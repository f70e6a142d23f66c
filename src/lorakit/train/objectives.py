"""What one training method adds to the shared loop: its rows, its batches, its loss, and what it logs.

:func:`lorakit.train.trainer.train` owns everything else (model, optimizer, schedule, checkpoints,
resume, distributed gradients, the record), so SFT and DPO resume, log and export the same way.
An objective's ``loss`` returns a *sum* over its rows and ``weight`` the number the step's sums are
divided by (answer tokens for SFT, pairs for DPO), so gradient accumulation and several processes
give the gradient of the whole batch.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import Counter
from pathlib import Path

from lorakit.config import RunConfig
from lorakit.data.chat import load_chat_jsonl
from lorakit.data.preference import load_preferences
from lorakit.errors import TrainError
from lorakit.io import atomic_write_text, read_json, sha256_file
from lorakit.rundir import RunDir
from lorakit.train.data import IGNORE, collate, pack, tokenize_all
from lorakit.train.dpo import collate_pairs, pair_loss, reference_logps, tokenize_pairs
from lorakit.train.losses import answer_loss, row_sums, token_logps

logger = logging.getLogger(__name__)


def train_rows(cfg: RunConfig, train_file: Path):
    """The train file's rows this run uses: ``train.first_example`` skipped, then at most ``train.max_examples``."""
    first, most = cfg.train.first_example, cfg.train.max_examples
    rows = load_chat_jsonl(train_file, limit=first + most if most else None)[first:]
    if not rows:
        raise TrainError(f"train.first_example={first} skips every row of {train_file}; lower it")
    if first:
        logger.info("train.first_example=%d: training on rows %d-%d of %s", first, first + 1, first + len(rows),
                    train_file)
    return rows


class SFT:
    """Supervised: cross-entropy of the answer tokens, divided by the answer tokens of the whole step."""

    name = "sft"

    def __init__(self, cfg: RunConfig, train_file: Path, tok):
        self.examples = train_rows(cfg, train_file)
        self.data, self.skipped = tokenize_all(self.examples, tok, cfg.train.max_seq_len)
        self.lengths = [len(t.input_ids) for t in self.data]
        self.pad = tok.pad_token_id
        self.source = train_file
        self.packing = cfg.train.packing

    @property
    def system_prompt(self) -> str | None:
        return Counter(e.system or "" for e in self.examples).most_common(1)[0][0] or None

    def collate(self, rows: list[int]):
        return collate([self.data[j] for j in rows], self.pad)

    def weight(self, batch) -> int:
        return int((batch[1][:, 1:] != IGNORE).sum())

    def shard(self, batch, dist):
        return dist.shard(batch)

    def loss(self, model, batch, device: str):
        ids, labels, mask = (t.to(device) for t in batch)
        if self.packing:  # packed after sharding, so each process packs its own rows
            ids, labels, positions = pack(ids, labels, mask)
            loss_sum, _ = answer_loss(model, ids, labels, None, positions)
        else:
            loss_sum, _ = answer_loss(model, ids, labels, mask)
        return loss_sum, {}

    def summary(self, sums: dict, weight: float) -> dict:
        return {}

    def record(self) -> dict:
        return {}


class Classify:
    """``train.head: classification``: cross-entropy of each row's label over the head's logits, per row.

    The rows' prompts are encoded as generation would see them (chat template with the generation prompt); the
    label is the row's answer (see :func:`lorakit.models.head.closed_label_set`).
    """

    name = "sft"

    def __init__(self, cfg: RunConfig, train_file: Path, tok, labels: list[str]):
        from lorakit.models.head import prompt_ids

        self.examples = train_rows(cfg, train_file)
        self.labels = labels
        index = {v: i for i, v in enumerate(labels)}
        self.data = [(prompt_ids(tok, ex.messages[:-1], cfg.train.max_seq_len), index[ex.answer.strip()])
                     for ex in self.examples]
        self.skipped = 0  # an over-long prompt keeps its end, as at answer time: no row is left out
        self.lengths = [len(ids) for ids, _ in self.data]
        self.pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        self.source = train_file

    @staticmethod
    def labels_of(cfg: RunConfig, train_file: Path) -> list[str]:
        from lorakit.models.head import closed_label_set

        return closed_label_set([ex.answer for ex in train_rows(cfg, train_file)], str(train_file))

    system_prompt = SFT.system_prompt

    def collate(self, rows: list[int]):
        import torch

        from lorakit.models.head import pad_right

        ids, mask = pad_right([self.data[j][0] for j in rows], self.pad)
        return ids, torch.tensor([self.data[j][1] for j in rows], dtype=torch.long), mask

    def weight(self, batch) -> int:
        return int(batch[1].shape[0])

    def shard(self, batch, dist):
        return dist.shard(batch)

    def loss(self, model, batch, device: str):
        import torch.nn.functional as F

        from lorakit.models.head import head_logits

        ids, target, mask = (t.to(device) for t in batch)
        logits = head_logits(model, ids, mask).float()
        loss_sum = F.cross_entropy(logits, target, reduction="sum")
        return loss_sum, {"correct": int((logits.argmax(-1) == target).sum())}

    def summary(self, sums: dict, weight: float) -> dict:
        return {"train_accuracy": round(sums.get("correct", 0) / max(weight, 1), 4)}

    def record(self) -> dict:
        return {"head": "classification", "labels": self.labels}


class DPO:
    """Preference pairs: the sigmoid DPO loss against the starting model, divided by the pairs of the step."""

    name = "dpo"

    def __init__(self, cfg: RunConfig, pairs_file: Path, tok):
        settings = cfg.train.dpo
        self.beta, self.sft_weight = settings.beta, settings.sft_weight
        self.pairs = load_preferences(pairs_file)
        self.data, self.skipped = tokenize_pairs(self.pairs, tok, cfg.train.max_seq_len)
        if self.skipped:
            logger.warning("%d of %d preference pairs do not fit train.max_seq_len=%d and are left out",
                           self.skipped, len(self.pairs), cfg.train.max_seq_len)
        self.lengths = [p.length for p in self.data]
        self.pad = tok.pad_token_id
        self.source = pairs_file
        self.ref_chosen: list[float] = []
        self.ref_rejected: list[float] = []
        self.reference_seconds = 0.0  # 0 when read back from the run folder

    @property
    def system_prompt(self) -> str | None:
        systems = Counter(p.prompt[0]["content"] if p.prompt[0]["role"] == "system" else "" for p in self.pairs)
        return systems.most_common(1)[0][0] or None

    def load_reference(self, run: RunDir, model, start: Path | None, device: str, precision: str,
                       batch_size: int, write: bool) -> None:
        """The starting model's log-probabilities of every pair: read from the run folder, else computed once.

        Must run before a checkpoint is loaded into ``model``: the reference is the model as it starts.
        """
        key = {"pairs_sha256": sha256_file(self.source), "pairs": len(self.data),
               "start": sha256_file(start / "adapter_model.safetensors") if start else "base", "precision": precision}
        path = run.reference_logps
        if path.is_file():
            saved = read_json(path)
            if saved.get("key") == key:
                logger.info("DPO reference: reusing the starting model's log-probabilities in %s", path)
                self.ref_chosen, self.ref_rejected = saved["chosen"], saved["rejected"]
                return
        t0 = time.perf_counter()
        self.ref_chosen, self.ref_rejected = reference_logps(model, self.data, self.pad, device, precision, batch_size)
        self.reference_seconds = round(time.perf_counter() - t0, 1)
        logger.info("DPO reference: log-probabilities of %d pairs under the starting model in %.0f s",
                    len(self.data), self.reference_seconds)
        if write:
            atomic_write_text(path, json.dumps({"key": key, "chosen": self.ref_chosen, "rejected": self.ref_rejected}))

    def collate(self, rows: list[int]):
        import torch

        ids, labels, mask = collate_pairs([self.data[j] for j in rows], self.pad)
        ref = torch.tensor([self.ref_chosen[j] for j in rows] + [self.ref_rejected[j] for j in rows])
        return ids, labels, mask, ref

    def weight(self, batch) -> int:
        return batch[0].shape[0] // 2

    def shard(self, batch, dist):
        """This process's pairs, each with both of its answers (rows ``i`` and ``i + B``)."""
        n = batch[0].shape[0] // 2
        mine = list(range(dist.rank, n, dist.world))
        rows = mine + [i + n for i in mine]
        return tuple(t[rows] for t in batch)

    def loss(self, model, batch, device: str):
        ids, labels, mask, ref = (t.to(device) for t in batch)
        return pair_loss(model, (ids, labels, mask), ref, self.beta, self.sft_weight)

    def summary(self, sums: dict, weight: float) -> dict:
        """Per-pair means of the step: rewards (with the margin's spread), accuracy, chosen NLL."""
        mean = {k: v / weight for k, v in sums.items()}
        std = math.sqrt(max(mean.pop("rewards/margin_sq") - mean["rewards/margin"] ** 2, 0.0))
        return {**{k: round(v, 5) for k, v in mean.items()}, "rewards/margin_std": round(std, 5)}

    def record(self) -> dict:
        return {"pairs": len(self.data), "beta": self.beta, "sft_weight": self.sft_weight,
                "reference_seconds": self.reference_seconds}


class GRPO:
    """Group-relative policy optimisation (Shao et al. 2024) with a verifiable reward, on-policy.

    Every train row of a step is answered ``samples`` times by the model as it is (sampled, eval mode);
    each answer's advantage is its reward minus its group's mean, over the group's spread (TRL's
    ``scale_rewards="group"``). One update per batch of samples, so the policy ratio is 1 and the
    loss is ``-advantage x`` the answer's mean token log-probability. No KL term in the loss (TRL's
    default ``beta=0`` since 0.19), but the KL to the starting model is logged every step (``kl``:
    TRL's k3 estimate, ``exp(r) - r - 1`` with ``r`` = reference minus policy log-probability, averaged
    over the answer tokens trained on), from one extra no-grad forward with the starting LoRA weights
    swapped in. Answers whose group all scored the same carry no signal and are not run forward at all.
    """

    name = "grpo"

    def __init__(self, cfg: RunConfig, train_file: Path, tok, reward):
        if reward is None:
            raise TrainError("train.method=grpo needs a reward: train with `lorakit train` / `lorakit run` (the "
                             "task's scorer, or train.grpo.reward), or pass reward= to lorakit.train.trainer.train")
        self.settings = cfg.train.grpo
        self.reward = reward
        self.examples = train_rows(cfg, train_file)
        self.data = self.examples  # one row per prompt; its answers are sampled at every step
        self.skipped = 0
        self.lengths = [len(e.user) for e in self.examples]
        self.tok, self.pad, self.max_seq_len = tok, tok.pad_token_id, cfg.train.max_seq_len
        self.max_new_tokens = self.settings.max_new_tokens or cfg.eval.max_new_tokens
        self.source = train_file
        self.model = self.device = self.precision = None

    system_prompt = SFT.system_prompt

    def bind(self, model, device: str, precision: str) -> None:
        """The model it samples from; its trainable weights as they start (before a checkpoint is loaded) are
        the reference for the logged KL: a copy of the LoRA weights only, a few MB."""
        self.model, self.device, self.precision = model, device, precision
        self.start = [(p, p.detach().clone()) for p in model.parameters() if p.requires_grad]

    def _reference_token_logps(self, model, ids, labels, mask):
        """Per answer token, its log-probability under the starting weights (eval mode, no grad)."""
        import torch

        was_training = model.training
        swapped = [(p, p.data) for p, _ in self.start]
        # autocast caches its bf16 copies of the weights by tensor for the whole step: without clearing it the
        # swapped-in weights would never be read (and the KL would be 0)
        torch.clear_autocast_cache()
        try:
            for p, start in self.start:
                p.data = start
            model.eval()
            with torch.no_grad():
                return token_logps(model, ids, labels, mask)[0]
        finally:
            for p, current in swapped:
                p.data = current
            model.train(was_training)
            torch.clear_autocast_cache()

    def _sample(self, convs: list[list[dict]]) -> list[str]:
        import torch

        from lorakit.generation.generate import generate
        from lorakit.runtime import autocast

        self.model.eval()
        try:
            with torch.no_grad(), autocast(self.device, self.precision):
                return generate(self.model, self.tok, convs, batch_size=len(convs), temperature=self.settings.temperature,
                                max_new_tokens=self.max_new_tokens)
        finally:
            self.model.train()

    def collate(self, rows: list[int]):
        """Sample the group of every row, score it, and batch every answer with its advantage and reward."""
        import torch

        from lorakit.data.chat import ChatExample
        from lorakit.train.data import tokenize_example

        g = self.settings.samples
        items = [self.examples[j] for j in rows]
        convs = [ex.messages[:-1] for ex in items]
        answers = self._sample([c for c in convs for _ in range(g)])  # item 0's group first, then item 1's, ...
        rewards = torch.tensor([self.reward(items[k // g], a) for k, a in enumerate(answers)], dtype=torch.float32)
        groups = rewards.view(len(items), g)
        adv = ((groups - groups.mean(1, keepdim=True)) / (groups.std(1, keepdim=True) + 1e-4)).flatten()
        seqs = [tokenize_example(ChatExample(convs[k // g] + [{"role": "assistant", "content": a}]), self.tok,
                                 self.max_seq_len) for k, a in enumerate(answers)]
        keep = [k for k, s in enumerate(seqs) if s is not None]
        ids, labels, mask = collate([seqs[k] for k in keep], self.pad)
        return ids, labels, mask, adv[keep], rewards[keep]

    def weight(self, batch) -> int:
        return max(batch[0].shape[0], 1)

    def shard(self, batch, dist):
        return dist.shard(batch)

    def loss(self, model, batch, device: str):
        import torch

        ids, labels, mask, adv, rewards = (t.to(device) for t in batch)
        stats = {"reward": float(rewards.sum()), "reward_sq": float((rewards ** 2).sum()),
                 "trained_answers": float((adv.abs() > 1e-6).sum())}
        live = adv.abs() > 1e-6
        if not bool(live.any()):  # every group scored alike: nothing to learn from this batch
            return torch.zeros((), device=device), stats
        ids, labels, mask, adv = ids[live], labels[live], mask[live], adv[live]
        tokens, rows = token_logps(model, ids, labels, mask)  # per token: the KL below needs them
        logps, counts = row_sums(tokens, rows, ids.shape[0])
        diff = self._reference_token_logps(model, ids, labels, mask).float() - tokens.detach().float()
        stats.update(kl_sum=float((diff.exp() - diff - 1).sum()), kl_tokens=float(tokens.numel()))
        return -(adv * logps / counts.clamp(min=1)).sum(), stats

    def summary(self, sums: dict, weight: float) -> dict:
        """The step's reward mean and spread over all sampled answers, and the share that carried a signal."""
        mean = sums.get("reward", 0.0) / weight
        std = math.sqrt(max(sums.get("reward_sq", 0.0) / weight - mean ** 2, 0.0))
        kl_tokens = sums.get("kl_tokens", 0.0)
        return {"reward": round(mean, 5), "reward_std": round(std, 5),
                "trained_share": round(sums.get("trained_answers", 0.0) / weight, 4),
                "kl": float(f"{sums['kl_sum'] / kl_tokens:.4g}") if kl_tokens else None}  # small early: 4 digits

    def record(self) -> dict:
        s = self.settings
        return {"samples": s.samples, "temperature": s.temperature, "reward": s.reward or "task scorer",
                "field_weights": s.field_weights}
