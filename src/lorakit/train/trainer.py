"""``lorakit train``: LoRA fine-tuning with assistant-only loss, bf16 autocast, exact resume.

A plain PyTorch loop rather than ``transformers.Trainer``: it applies the LM head only to the
answer tokens (no logits for the prompt, ~20% of a step on a 49k vocabulary), keeps the
frozen base in bf16 on CPU, and checkpoints everything an exact resume needs (adapter,
optimizer, scheduler, RNG, data position) in one atomic folder.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lorakit.config import RunConfig, dump_config
from lorakit.errors import ConfigError, TrainError
from lorakit.io import atomic_dir, atomic_write_text, sha256_file
from lorakit.rundir import RunDir, library_versions, write_run_record
from lorakit.runtime import allocator
from lorakit.train.checkpoint import describe, list_checkpoints, load_checkpoint, newest_intact, save_checkpoint
from lorakit.train.data import batch_order

logger = logging.getLogger(__name__)


def build_lora_model(model, lora, precision: str, device: str, quantized: bool = False, start: Path | None = None,
                     task_type: str = "CAUSAL_LM"):
    """Wrap ``model`` with LoRA; on CPU the frozen base is stored in bf16, adapters stay fp32.

    ``start``: an adapter folder whose weights (and LoRA shape) the training starts from, instead of a
    fresh LoRA. A ``quantized`` (NF4) base is already placed and typed by its loader and is left as it is.
    ``task_type="SEQ_CLS"``: a classification model, whose head PEFT trains in full beside the LoRA weights.
    """
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model

    if precision == "bf16" and device == "cpu" and not quantized:
        model.to(torch.bfloat16)
    if start is not None:
        peft_model = PeftModel.from_pretrained(model, str(start), is_trainable=True)
    else:
        cfg = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                         target_modules=lora.target_modules, task_type=task_type)
        peft_model = get_peft_model(model, cfg)
    for p in peft_model.parameters():
        if p.requires_grad:
            p.data = p.data.float()
    return peft_model if quantized else peft_model.to(device)


def starting_adapter(cfg: RunConfig) -> Path | None:
    """``train.init_from``'s adapter folder (a run folder or an adapter folder), checked; None without it.

    Its base must be the config's model; its LoRA shape replaces ``train.lora`` (said when they differ).
    """
    from lorakit.models.adapter import check_adapter
    from lorakit.models.head import read_labels
    from lorakit.rundir import RunRecord

    if cfg.train.init_from is None:
        return None
    given = Path(cfg.train.init_from)
    adapter = check_adapter(RunDir(given).adapter if (RunDir(given).adapter / "adapter_config.json").is_file() else given)
    if read_labels(adapter) is not None:
        raise ConfigError(f"train.init_from={given} is a classification-head adapter (train.head: classification); "
                          f"{cfg.train.method.upper()} continues a language-model adapter: start from a run trained "
                          "with train.head=lm, or drop train.init_from")
    record = adapter / "run_record.json"
    if record.is_file():
        rec = RunRecord.read(record)
        if rec.base_model != cfg.model.name:
            raise ConfigError(f"train.init_from={given} was trained on {rec.base_model!r}, but model.name is "
                              f"{cfg.model.name!r}; set model.name={rec.base_model} (an adapter only fits its base)")
    shape = json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8"))
    lora = cfg.train.lora
    if (shape.get("r"), shape.get("lora_alpha")) != (lora.r, lora.alpha):
        logger.warning("train.init_from: training goes on with its adapter's LoRA shape (r=%s, alpha=%s); "
                       "train.lora (r=%s, alpha=%s) does not apply", shape.get("r"), shape.get("lora_alpha"),
                       lora.r, lora.alpha)
    logger.info("starting from the adapter in %s", adapter)
    return adapter


@contextmanager
def neftune(model, alpha: float | None):
    """NEFTune noise on the input embeddings, in training mode, while the block runs (none without ``alpha``).

    A hook of our own rather than TRL's: this loop is not ``transformers.Trainer``. The noise is
    uniform in +-alpha/sqrt(L*d) (L tokens, d the width), as in the paper and TRL.
    """
    import torch

    def hook(module, args, output):
        if not module.training:
            return output
        scale = alpha / math.sqrt(output.shape[-2] * output.shape[-1])
        return output + torch.empty_like(output).uniform_(-scale, scale)

    handle = model.get_input_embeddings().register_forward_hook(hook) if alpha else None
    try:
        yield
    finally:
        if handle is not None:  # the returned model must not keep adding noise
            handle.remove()


@contextmanager
def rank_dropout(model, p: float):
    """Dropout on every LoRA A output (r values per token) in training mode, while the block runs.

    PEFT's ``lora_dropout`` drops the layer's input before A: a copy of every adapted layer's
    activations, which made a CPU step ~1.5x slower here. Dropping A's r-dimensional output
    (LyCORIS calls it rank dropout) regularises the same low-rank update for almost nothing.
    A hook rather than a module swap, so the saved adapter keeps PEFT's own layout.
    """
    import torch.nn.functional as F

    def hook(module, args, output):
        return F.dropout(output, p, training=True) if module.training else output

    lora_a = [m for name, m in model.named_modules() if ".lora_A." in f"{name}." and not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in lora_a] if p else []
    try:
        yield
    finally:
        for h in handles:  # the returned model must not keep dropping
            h.remove()


def _peak_rss_mb() -> float | None:
    try:
        import resource
    except ImportError:  # not on POSIX
        return None
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux reports KiB


def _save_adapter(model, tok, out: Path, record: dict) -> None:
    from lorakit.models.head import write_labels

    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        if record.get("labels"):  # a classification head: its outputs' names travel with its weights
            write_labels(tmp, record["labels"])
        # lets eval, export and serve tell a damaged copy from the adapter that was trained
        write_run_record(tmp, {**record, "adapter_sha256": sha256_file(tmp / "adapter_model.safetensors")})


class _Progress:
    """A rich progress bar showing loss and tokens/s; plain log lines when not on a terminal."""

    def __init__(self, total: int, start: int, enabled: bool = True):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("train"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                            TimeRemainingColumn(), transient=False, disable=not enabled)
        self.task = self.bar.add_task("train", total=total, completed=start, info="")
        # rich draws a bar only on a terminal; piped to a file or CI log, a line every tenth of the run instead
        self.plain = enabled and not self.bar.console.is_terminal
        self.total, self.said = total, start * 10 // max(total, 1)

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        self.bar.__exit__(*exc)

    def update(self, step: int, info: str):
        self.bar.update(self.task, completed=step, info=info)
        tenth = step * 10 // max(self.total, 1)
        if self.plain and tenth > self.said:
            self.said = tenth
            logger.info("train step %d/%d  %s", step, self.total, info)


@dataclass
class TrainResult:
    adapter_dir: Path
    model: Any  # the PEFT model as it ended, for callers that inspect weights
    steps_done: int


def head_labels(cfg: RunConfig, train_file: Path | None, say: bool = True) -> list[str] | None:
    """The labels of a classification head (``train.head: classification``); None to generate answers."""
    from lorakit.train.objectives import Classify

    if cfg.train.head != "classification":
        return None
    labels = Classify.labels_of(cfg, train_file)
    if say:
        logger.info("train.head=classification: %d labels from the train answers", len(labels))
    return labels


def pairs_file(cfg: RunConfig) -> Path:
    """DPO's preference file: ``train.dpo.pairs_file``, else the pairs mined into the run folder."""
    return Path(cfg.train.dpo.pairs_file or RunDir(cfg.output_dir).pairs)


def _objective(cfg: RunConfig, train_file: Path | None, tok, reward, labels: list[str] | None = None):
    from lorakit.train.objectives import DPO, GRPO, SFT, Classify

    if labels is not None:
        return Classify(cfg, train_file, tok, labels)
    if cfg.train.method == "sft":
        return SFT(cfg, train_file, tok)
    if cfg.train.method == "grpo":
        return GRPO(cfg, train_file, tok, reward)
    source = pairs_file(cfg)
    if not source.is_file():
        raise TrainError(f"train.method=dpo: no preference pairs at {source}. Set train.dpo.pairs_file to your pairs "
                         "file, or train with `lorakit train CONFIG` / `lorakit run`, which first mine pairs from "
                         "the starting model's mistakes (or `lorakit data pairs RUN_DIR --out FILE`)")
    return DPO(cfg, source, tok)


def _fresh_checkpoints(ckpt_dir: Path, resume: bool, is_main: bool):
    """The checkpoint to resume from (None for a fresh run, whose old checkpoints are cleared) and the damaged ones."""
    resume_from, skipped_ckpts = newest_intact(ckpt_dir) if resume else (None, [])
    if resume and resume_from is None:
        found = f"; found only damaged ones ({describe(skipped_ckpts)})" if skipped_ckpts else ""
        raise TrainError(f"--resume: no intact checkpoint under {ckpt_dir}{found}. Start the run again without "
                         "--resume (it clears that folder and trains from step 0)")
    if resume_from is not None and is_main:  # the skipped ones were logged as warnings by newest_intact
        logger.info("--resume: continuing from %s", resume_from)
    if not resume and list_checkpoints(ckpt_dir, verify=False) and is_main:
        shutil.rmtree(ckpt_dir)  # a fresh run must not mix with an old run's state
    if is_main:
        for stale in ckpt_dir.glob(".step-*"):  # a checkpoint half-written when the process was killed
            shutil.rmtree(stale, ignore_errors=True)
    return resume_from, skipped_ckpts


class TrainRecipe:
    """One training run as a recipe (torchtune's pattern): :meth:`setup` loads the model, data, optimizer and
    any resumed state; :meth:`train_step` is one optimizer step over ``train.grad_accum`` micro-batches inside
    :meth:`training`; :meth:`save_checkpoint` when :meth:`checkpoint_due`; :meth:`finish` saves the adapter and
    its record. :meth:`run` chains them; the same parts, driven for fewer steps, stop a run midway."""

    def __init__(self, cfg: RunConfig, *, resume: bool = False, reward=None):
        self.cfg, self.resume, self.reward = cfg, resume, reward
        self.step, self.log, self.seconds, self.tokens_seen = 0, [], 0.0, 0
        self.compiled, self.first_step, self.compile_key, self.earlier_compile = False, None, None, None

    def setup(self) -> "TrainRecipe":
        import torch
        from transformers import get_cosine_schedule_with_warmup

        from lorakit.data.ensure import ensure_data
        from lorakit.models import load_model
        from lorakit.runtime import dtype_name, pick_device, resolve_precision, seed_everything, setup_threads
        from lorakit.tracking import Tracker
        from lorakit.train.distributed import Dist

        cfg, t = self.cfg, self.cfg.train
        self.dist = dist = Dist.setup()
        self.threads = setup_threads(share=dist.local_world)
        self.run_dir = run = RunDir(cfg.output_dir)
        # DPO learns from its pairs file alone: no task data is made for it
        train_file = None if t.method == "dpo" else ensure_data(cfg)[0]
        self.resume_from, self.skipped_ckpts = _fresh_checkpoints(run.checkpoints, self.resume, dist.is_main)
        self.start = starting_adapter(cfg)
        if dist.is_main:
            run.root.mkdir(parents=True, exist_ok=True)
        self.tracker = Tracker(t.report_to if dist.is_main else [], run, cfg.model_dump(mode="json"))
        seed_everything(t.seed)
        self.device = device = dist.device(pick_device(t.device))
        self.precision = precision = resolve_precision(device, t.precision)
        labels = head_labels(cfg, train_file, dist.is_main)
        # an NF4 base computes in the run's precision; a plain base loads in fp32 and build_lora_model casts it
        compute = dtype_name(precision) if t.quantization == "nf4" else "float32"
        model, self.tok, self.model_dir = load_model(cfg.model.name, quantization=t.quantization, device=device,
                                                     labels=labels, dtype=compute)
        if labels is not None and t.head_init == "label_words":
            from lorakit.models.head import init_from_label_words

            init_from_label_words(model, self.tok, labels)
        attention = t.attention if t.attention != "auto" else "eager" if device == "cpu" else None
        if attention is not None:
            if t.attention == "auto":
                logger.info("train.attention=auto: eager attention on CPU (2-10% faster than SDPA for short "
                            "training sequences, measured; SDPA takes 12-20% less memory: train.attention=sdpa)")
            model.set_attn_implementation(attention)
        self.model = model = build_lora_model(model, t.lora, precision, device, t.quantization == "nf4", self.start,
                                              task_type="SEQ_CLS" if labels is not None else "CAUSAL_LM")
        self.objective = objective = _objective(cfg, train_file, self.tok, self.reward, labels)
        if not objective.data:
            raise TrainError(f"no training example fits max_seq_len={t.max_seq_len}; raise it")
        if objective.name == "dpo":  # the model as it starts, before a checkpoint is loaded into it
            objective.load_reference(run, model, self.start, device, precision, cfg.eval.batch_size, dist.is_main)
        if objective.name == "grpo":  # it samples its answers from the model as it trains
            objective.bind(model, device, precision)
        self.per_epoch = math.ceil(len(objective.data) / t.batch_size)
        self.total = t.max_steps or max(1, math.ceil(t.epochs * self.per_epoch / t.grad_accum))

        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.params, lr=t.lr, weight_decay=t.weight_decay)
        self.scheduler = get_cosine_schedule_with_warmup(self.optimizer, int(t.warmup_ratio * self.total), self.total)
        if self.resume:
            state = load_checkpoint(self.resume_from, model, self.optimizer, self.scheduler)
            self.step, self.log, self.seconds, self.tokens_seen = (state["step"], state["log"], state["seconds"],
                                                                   state["tokens"])
        if dist.is_main:
            run.root.mkdir(parents=True, exist_ok=True)
            atomic_write_text(run.config, dump_config(cfg))
        self._orders: dict[int, list[list[int]]] = {}
        return self

    def _micro_batch(self, i: int):
        epoch, pos = divmod(i, self.per_epoch)
        if epoch not in self._orders:
            t = self.cfg.train
            self._orders[epoch] = batch_order(self.objective.lengths, t.batch_size, t.seed, epoch, t.group_by_length)
        return self.objective.collate(self._orders[epoch][pos])

    @contextmanager
    def training(self):
        """The model in training mode, with the progress bar and the train-time noise (NEFTune, LoRA dropouts)."""
        from lorakit.train import lora_dropout
        from lorakit.train.compile import compile_key, compiled_layers, earlier_compile, should_compile

        t = self.cfg.train
        lengths = self.objective.lengths
        tokens = (self.total - self.step) * t.grad_accum * t.batch_size * sum(lengths) // max(len(lengths), 1)
        if t.compile is not False:  # what inductor's cache may already hold for these layers (compile.py)
            self.compile_key = compile_key(self.model, self.precision, {"lora": t.lora.model_dump(mode="json"),
                                                                        "quantization": t.quantization})
            self.earlier_compile = earlier_compile(self.compile_key)
        compile_it, why = should_compile(t.compile, self.device, self.objective.name, tokens, t.lora.dropout,
                                         t.batch_size * t.grad_accum, self.earlier_compile)
        logger.info(why)
        if t.packing and self.device == "cpu":
            logger.warning("train.packing on CPU: measured at 0.63-0.95x the tokens/s of lorakit's length-bucketed "
                           "padded batches, with more memory (docs/training.md); drop it unless you measured a win")
        self.model.train()
        try:
            with _Progress(self.total, self.step, enabled=self.dist.is_main) as self._progress, \
                    compiled_layers(self.model, compile_it) as self.compiled, \
                    neftune(self.model, t.neftune_alpha), rank_dropout(self.model, t.lora.rank_dropout), \
                    lora_dropout.lean_lora_dropout(self.model, compiled=self.compiled):
                yield self
        finally:
            self.tracker.close()

    def train_step(self) -> float:
        """One optimizer step over ``grad_accum`` micro-batches (rows shared across processes); returns its loss."""
        import torch

        from lorakit.runtime import autocast
        from lorakit.train.compile import remember_compile

        t, dist, objective = self.cfg.train, self.dist, self.objective
        t0, tokens_before = time.perf_counter(), self.tokens_seen
        batches = [self._micro_batch(self.step * t.grad_accum + k) for k in range(t.grad_accum)]
        weight = sum(objective.weight(b) for b in batches)  # global: every rank sees all rows
        self.tokens_seen += sum(int(b[2].sum()) for b in batches)
        loss_total, sums = 0.0, Counter()
        for batch in batches:
            part = objective.shard(batch, dist)
            if part[0].shape[0] == 0:  # fewer rows than processes in a short last batch
                continue
            with autocast(self.device, self.precision):
                loss_sum, stats = objective.loss(self.model, part, self.device)
            if loss_sum.requires_grad:  # GRPO: a batch whose groups all scored alike has no gradient
                (loss_sum / weight).backward()
            loss_total += float(loss_sum.detach())
            sums.update(stats)
        dist.sum_grads(self.params)  # = the single-process gradient of the global batch
        loss_total = dist.sum_scalar(loss_total)
        sums = {k: dist.sum_scalar(v) for k, v in sums.items()}
        torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        self.seconds += time.perf_counter() - t0
        loss = loss_total / weight
        if (self.step % t.log_every == 0 or self.step == self.total) and dist.is_main:
            self._log(loss, objective.summary(sums, weight))
        if self.first_step is None:  # this process's first step: it includes compiling, when compiled
            self.first_step = {"seconds": round(time.perf_counter() - t0, 2), "tokens": self.tokens_seen - tokens_before}
            if self.compiled:
                logger.info("first step (compiling the decoder layers): %.0f s", self.first_step["seconds"])
                if dist.is_main:
                    remember_compile(self.compile_key, self.first_step["seconds"])
        rate = self.tokens_seen / max(self.seconds, 1e-9)
        self._progress.update(self.step, f"loss {loss:.3f}  {rate:.0f} tok/s")
        return loss

    def _log(self, loss: float, extra: dict) -> None:
        self.log.append({"step": self.step, "loss": round(loss, 5), "lr": self.scheduler.get_last_lr()[0],
                         "tokens": self.tokens_seen, "seconds": round(self.seconds, 2), **extra})
        atomic_write_text(self.run_dir.train_log, "".join(json.dumps(r) + "\n" for r in self.log))
        self.tracker.log({"train/loss": loss, "train/lr": self.log[-1]["lr"],
                          "train/tokens_per_second": self.tokens_seen / max(self.seconds, 1e-9),
                          **{f"train/{k}": v for k, v in extra.items()}}, self.step)

    def checkpoint_due(self) -> bool:
        return self.step % self.cfg.train.checkpoint_every == 0 or self.step == self.total

    def save_checkpoint(self) -> None:
        """Everything an exact resume needs (adapter, optimizer, scheduler, RNG, data position), atomically."""
        if self.dist.is_main:
            extra = {"log": self.log, "seconds": self.seconds, "tokens": self.tokens_seen}
            save_checkpoint(self.run_dir.checkpoints, self.step, self.model, self.optimizer, self.scheduler, extra,
                            self.cfg.train.keep_checkpoints)
        self.dist.barrier()

    def finish(self) -> TrainResult:
        """The adapter and its run record (what it was trained on, how, how fast), written atomically."""
        cfg, objective = self.cfg, self.objective
        record = {
            "task": cfg.data.task,
            "base_model": cfg.model.name,
            "model_dir": self.model_dir,
            "system_prompt": objective.system_prompt,
            "method": objective.name,
            "init_from": str(self.start) if self.start else None,
            "init_from_sha256": sha256_file(self.start / "adapter_model.safetensors") if self.start else None,
            "train_file": str(objective.source),
            "train_sha256": sha256_file(objective.source),
            "examples": len(objective.data),
            "skipped_too_long": objective.skipped,
            **objective.record(),
            "steps": self.total,
            "tokens": self.tokens_seen,
            "seconds": round(self.seconds, 1),
            "tokens_per_second": round(self.tokens_seen / max(self.seconds, 1e-9), 1),
            "final_loss": self.log[-1]["loss"] if self.log else None,
            "device": self.device,
            "precision": self.precision,
            "quantization": cfg.train.quantization,
            "peak_rss_mb": _peak_rss_mb(),
            "allocator": allocator(),  # tcmalloc when the lorakit command preloaded it (see runtime.allocator_env)
            "threads": self.threads,
            "compiled": self.compiled,
            "attention": getattr(self.model.get_base_model().config, "_attn_implementation", None),
            "first_step": self.first_step,  # this process's first step (compiling included)
            # whether an earlier run had left these layers in inductor's cache (then the first step only loads them)
            "compile_cache_warm": self.compiled and self.earlier_compile is not None,
            "processes": self.dist.world,
            "versions": library_versions(),
            "resumed_from": str(self.resume_from) if self.resume_from else None,
            "skipped_checkpoints": self.skipped_ckpts,
            "config": cfg.model_dump(mode="json"),
        }
        out = self.run_dir.adapter
        if self.dist.is_main:
            _save_adapter(self.model, self.tok, out, record)
        self.dist.barrier()
        return TrainResult(out, self.model, self.step)

    def run(self) -> TrainResult:
        self.setup()
        with self.training():
            while self.step < self.total:
                self.train_step()
                if self.checkpoint_due():
                    self.save_checkpoint()
        return self.finish()


def train(cfg: RunConfig, *, resume: bool = False, reward=None) -> TrainResult:
    """Train a LoRA adapter into ``cfg.output_dir/adapter`` with ``train.method`` (SFT, DPO or GRPO).

    ``reward(item, answer) -> float``: GRPO's reward (the pipeline builds it from the task's scorer).
    """
    return TrainRecipe(cfg, resume=resume, reward=reward).run()
