"""``lorakit run``: generate (if needed) -> train -> evaluate -> report, in one run folder."""

from __future__ import annotations

import logging
from pathlib import Path

from lorakit.config import RunConfig
from lorakit.data.ensure import ensure_data
from lorakit.data.tasks import get_task
from lorakit.errors import ConfigError
from lorakit.rundir import RunDir

logger = logging.getLogger(__name__)


def adapter_is_current(cfg: RunConfig, train_file: Path) -> bool:
    """True when the run folder already holds an adapter trained with this model, data and train config."""
    from lorakit.io import sha256_file

    run = RunDir(cfg.output_dir)
    if not run.is_trained:
        return False
    try:  # re-validated, so an option added since (with its default) does not make the adapter stale
        rec = run.run_record()
        then = rec.run_config(run.run_record_path).model_dump(mode="json")
    except ConfigError as e:
        logger.info("retraining: the adapter's record is outdated (%s)", e)
        return False
    now = cfg.model_dump(mode="json")
    changed = [key for k in ("model", "data", "train") for key in changed_keys(then[k], now[k], k)]
    if changed:
        logger.info("retraining: the adapter in %s was trained with other settings (%s)", run.root, ", ".join(changed))
        return False
    if cfg.train.init_from:  # the same path, but the adapter there may have been trained again since
        from lorakit.train.trainer import starting_adapter

        start = starting_adapter(cfg)
        if rec.init_from_sha256 != sha256_file(start / "adapter_model.safetensors"):
            logger.info("retraining: the starting adapter %s changed since this run was trained from it", start)
            return False
    if rec.train_sha256 != sha256_file(train_file):
        logger.info("retraining: the training data %s changed since the adapter in %s was trained", train_file, run.root)
        return False
    return True


def changed_keys(then: object, now: object, prefix: str) -> list[str]:
    """The dotted keys whose values differ between two dumped configs (``train.lr``, ``data.seed``, ...)."""
    if isinstance(then, dict) and isinstance(now, dict):
        return [key for k in sorted(then.keys() | now.keys())
                for key in changed_keys(then.get(k), now.get(k), f"{prefix}.{k}")]
    return [] if then == now else [prefix]


def pairs_settings(cfg: RunConfig, train_file: Path, start: Path | None) -> dict:
    """What mined pairs depend on: when one of these changes, they are mined again."""
    from lorakit.io import sha256_file

    d = cfg.train.dpo
    return {"model": cfg.model.name, "start": sha256_file(start / "adapter_model.safetensors") if start else "base",
            "train_sha256": sha256_file(train_file), "first_example": cfg.train.first_example,
            "max_examples": cfg.train.max_examples, "samples": d.samples, "temperature": d.temperature,
            "balance": d.balance, "seed": cfg.train.seed, "max_new_tokens": cfg.eval.max_new_tokens,
            "precision": cfg.train.precision}


def ensure_pairs(cfg: RunConfig, train_file: Path) -> Path:
    """DPO without ``train.dpo.pairs_file``: pairs mined from the starting model's mistakes on the train rows, once."""
    from lorakit.eval.pairs import mine_for_training
    from lorakit.io import read_json
    from lorakit.train.objectives import train_rows
    from lorakit.train.trainer import starting_adapter

    out = RunDir(cfg.output_dir).pairs
    start = starting_adapter(cfg)
    wanted = pairs_settings(cfg, train_file, start)
    record = out.with_name(out.name + ".record.json")
    if out.is_file() and record.is_file() and read_json(record).get("settings") == wanted:
        logger.info("reusing the mined preference pairs in %s (same starting model, rows and sampling)", out)
        return out
    items = train_rows(cfg, train_file)
    logger.info("mining preference pairs: the starting model (%s) answers %d train rows x %d sample(s)",
                start or "the base model", len(items), cfg.train.dpo.samples)
    rec = mine_for_training(cfg, items, train_file, out, start, wanted)
    if not rec["pairs"]:
        raise ConfigError(f"the starting model answered all {rec['answers']} train rows right: no preference pairs "
                          "to learn from. Mine more rows (train.max_examples, train.first_example) or sample "
                          "(train.dpo.samples with train.dpo.temperature), or give train.dpo.pairs_file")
    return out


def training_input(cfg: RunConfig) -> Path:
    """The file the adapter learns from: the train split (SFT, GRPO) or the preference pairs (DPO; mined when not
    given)."""
    if cfg.train.method == "dpo" and cfg.train.dpo.pairs_file:  # the user's pairs alone: no task data needed
        return Path(cfg.train.dpo.pairs_file)
    train_file, _ = ensure_data(cfg)
    return ensure_pairs(cfg, train_file) if cfg.train.method == "dpo" else train_file


def grpo_reward(cfg: RunConfig, train_file: Path):
    """GRPO's reward over this run's train rows: the user's function, else the task's scorer (field weights)."""
    from lorakit.eval.rewards import make_reward
    from lorakit.train.objectives import train_rows

    return make_reward(get_task(cfg.data.task), train_rows(cfg, train_file), train_file, spec=cfg.train.grpo.reward,
                       weights=cfg.train.grpo.field_weights)


def train_stage(cfg: RunConfig, *, resume: bool = False, source: Path | None = None):
    """``lorakit train``: the data (DPO: the pairs; GRPO: the reward) made or reused, then the adapter trained.

    ``source``: :func:`training_input` when the caller already has it (``run`` checks the adapter against it).
    """
    from lorakit.train.trainer import train

    get_task(cfg.data.task).check(cfg)
    source = source or training_input(cfg)
    reward = grpo_reward(cfg, source) if cfg.train.method == "grpo" else None
    return train(cfg, resume=resume, reward=reward)


def run(cfg: RunConfig, *, resume: bool = False) -> Path:
    """Chain the stages; returns the path of the Markdown report.

    Training is skipped when the run folder already holds an adapter trained with the same
    model, data and training config, so re-evaluating (say on all items) costs no retraining.
    """
    from lorakit.eval.report import report
    from lorakit.eval.runner import evaluate

    get_task(cfg.data.task).check(cfg)  # options and decoding modes, before any data is made or trained on
    source = training_input(cfg) if "tuned" in cfg.eval.models else None
    if source is not None and (resume or not adapter_is_current(cfg, source)):
        train_stage(cfg, resume=resume, source=source)
    elif source is not None:
        logger.info("training skipped: %s/adapter was trained with this model, data and train config "
                    "(delete it to retrain)", cfg.output_dir)
    evaluate(cfg)
    return report(cfg.output_dir)
