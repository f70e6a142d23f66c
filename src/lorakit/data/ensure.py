"""The train and eval files of a run: the user's own (prepared once), the task's own, or generated once.

Every stage that needs data (train, eval, run) calls :func:`ensure_data`; what it reuses it says in the log.
"""

from __future__ import annotations

import logging
from pathlib import Path

from lorakit.config import RunConfig
from lorakit.errors import ConfigError
from lorakit.io import read_json
from lorakit.rundir import RunDir

logger = logging.getLogger(__name__)


def prepare_user_data(cfg: RunConfig) -> tuple[Path, Path]:
    """The user's files, converted to chat JSONL, deduplicated and split once into the run folder."""
    from lorakit.data.prepare import prepare, settings, sources

    d = cfg.data
    data_dir = RunDir(cfg.output_dir).data
    record_path = data_dir / "prepare_record.json"
    rec = read_json(record_path) if record_path.is_file() else {}
    wanted = settings(d.format, d.eval_fraction, d.seed, d.dedup, d.skip_bad, d.system_prompt, d.columns)
    if rec.get("sources") != sources(d.train_file, d.eval_file) or rec.get("settings") != wanted:
        logger.info("preparing %s%s into %s", d.train_file, f" and {d.eval_file}" if d.eval_file else "", data_dir)
        prepare(d.train_file, data_dir, eval_file=d.eval_file, eval_fraction=d.eval_fraction, fmt=d.format,
                skip_bad=d.skip_bad, system=d.system_prompt, columns=d.columns, seed=d.seed, dedupe=d.dedup)
    else:
        logger.info("reusing the prepared data in %s (same files and settings; see prepare_record.json)", data_dir)
    return data_dir / "train.jsonl", data_dir / "eval.jsonl"


def ensure_data(cfg: RunConfig) -> tuple[Path, Path]:
    """The train and eval files of ``cfg``: the user's own (prepared), or generated once into the run folder."""
    from lorakit.data.gen import gen, generator_fingerprint
    from lorakit.data.tasks import get_task

    task = get_task(cfg.data.task)
    if task.build_data is not None:  # the task makes its own data (policy QA: from PDFs)
        return task.build_data(cfg, RunDir(cfg.output_dir).data)
    if cfg.data.train_file:
        return prepare_user_data(cfg)
    if cfg.data.eval_file:
        raise ConfigError("data.eval_file is set but data.train_file is not; give both, or neither to generate data")
    data_dir = RunDir(cfg.output_dir).data
    wanted = {"task": cfg.data.task, "seed": cfg.data.seed, "n_train": cfg.data.n_train, "n_eval": cfg.data.n_eval,
              "generator": generator_fingerprint(cfg.data.task)}
    record_path = data_dir / "data_record.json"
    have = None
    if record_path.is_file():
        rec = read_json(record_path)
        have = {"task": rec["task"], "seed": rec["seed"], "n_train": rec["files"]["train"]["rows"],
                "n_eval": rec["files"]["eval"]["rows"], "generator": rec.get("generator")}
    if have != wanted:
        logger.info("generating %d train and %d eval rows of task %s (seed %d) into %s", cfg.data.n_train,
                    cfg.data.n_eval, cfg.data.task, cfg.data.seed, data_dir)
        gen(cfg.data.task, data_dir, cfg.data.n_train, cfg.data.n_eval, cfg.data.seed)
    else:
        logger.info("reusing the generated data in %s (same task, seed, sizes and generator)", data_dir)
    return data_dir / "train.jsonl", data_dir / "eval.jsonl"
