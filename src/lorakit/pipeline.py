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
    same_cfg = all(then[k] == now[k] for k in ("model", "data", "train"))
    return same_cfg and rec.train_sha256 == sha256_file(train_file)


def run(cfg: RunConfig, *, resume: bool = False) -> Path:
    """Chain the stages; returns the path of the Markdown report.

    Training is skipped when the run folder already holds an adapter trained with the same
    model, data and training config, so re-evaluating (say on all items) costs no retraining.
    """
    from lorakit.eval.report import report
    from lorakit.eval.runner import evaluate
    from lorakit.train.trainer import train

    get_task(cfg.data.task).check_decodings(cfg.eval.decoding, local=cfg.eval.backend == "local")  # before training
    train_file, _ = ensure_data(cfg)
    if "tuned" in cfg.eval.models and (resume or not adapter_is_current(cfg, train_file)):
        train(cfg, resume=resume)
    elif "tuned" in cfg.eval.models:
        logger.info("training skipped: %s/adapter was trained with this model, data and train config "
                    "(delete it to retrain)", cfg.output_dir)
    evaluate(cfg)
    return report(cfg.output_dir)
