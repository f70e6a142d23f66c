"""The train and eval files of a run: the user's own (prepared once), the task's own, or generated once.

Every stage that needs data (train, eval, run) calls :func:`ensure_data`; what it reuses it says in the log.
"""

from __future__ import annotations

import logging
from pathlib import Path

from lorakit.config import RunConfig
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
    wanted = settings(d.format, d.eval_fraction, d.seed, d.dedup, d.skip_bad, d.system_prompt, d.columns, d.encoding)
    if rec.get("sources") != sources(d.train_file, d.eval_file) or rec.get("settings") != wanted:
        logger.info("preparing %s%s into %s", d.train_file, f" and {d.eval_file}" if d.eval_file else "", data_dir)
        prepare(d.train_file, data_dir, eval_file=d.eval_file, eval_fraction=d.eval_fraction, fmt=d.format,
                skip_bad=d.skip_bad, system=d.system_prompt, columns=d.columns, seed=d.seed, dedupe=d.dedup,
                encoding=d.encoding)
    else:
        logger.info("reusing the prepared data in %s (same files and settings; see prepare_record.json)", data_dir)
    return data_dir / "train.jsonl", data_dir / "eval.jsonl"


def prepare_user_eval(cfg: RunConfig) -> Path:
    """``data.eval_file`` alone (no train file): converted as given, every row in order, into the run folder."""
    from lorakit.data.prepare import prepare_eval, settings, sources

    d = cfg.data
    out = RunDir(cfg.output_dir).user_eval
    record_path = out / "eval_record.json"
    rec = read_json(record_path) if record_path.is_file() else {}
    wanted = settings(d.format, None, None, None, d.skip_bad, d.system_prompt, d.columns, d.encoding)
    if rec.get("sources") != sources(None, d.eval_file) or rec.get("settings") != wanted:
        logger.info("preparing the eval file %s as given into %s", d.eval_file, out)
        rec = prepare_eval(d.eval_file, out, fmt=d.format, skip_bad=d.skip_bad, system=d.system_prompt,
                           columns=d.columns, encoding=d.encoding)
    else:
        logger.info("reusing the converted eval file in %s (same file and settings; see eval_record.json)", out)
    logger.info("eval file %s: %d rows read, %d items to score", d.eval_file, rec["rows_read"]["eval"],
                rec["files"]["eval"]["rows"])
    return out / "eval.jsonl"


def ensure_eval_data(cfg: RunConfig) -> tuple[Path | None, Path]:
    """The files evaluation needs: with ``data.eval_file`` alone no train data is made (``None``), not even by a
    task that builds its own (a document task would parse and synthesize again just to score a given file)."""
    if cfg.data.eval_file and not cfg.data.train_file:
        return None, prepare_user_eval(cfg)
    return ensure_data(cfg)


def ensure_data(cfg: RunConfig) -> tuple[Path, Path]:
    """The train and eval files of ``cfg``: the user's own (prepared), or generated once into the run folder.

    ``data.eval_file`` without ``data.train_file``: the task's generated train split, and the user's eval file as
    given (a task without a generator then needs ``data.train_file`` to train).
    """
    from lorakit.data.tasks import get_task

    task = get_task(cfg.data.task)
    if task.build_data is not None:  # the task makes its own data (policy QA: from PDFs)
        return task.build_data(cfg, RunDir(cfg.output_dir).data)
    if cfg.data.train_file:
        return prepare_user_data(cfg)
    train, eval_file = _generated(cfg, task)
    if cfg.data.eval_file:
        eval_file = prepare_user_eval(cfg)
        _warn_leaks(train, eval_file)
    return train, eval_file


def _warn_leaks(train: Path, eval_file: Path) -> None:
    """Generated train rows that share a prompt (or a 13-gram) with the user's eval file: said, with the count."""
    from lorakit.data.chat import load_chat_jsonl
    from lorakit.data.dedup import contaminated

    leaks = contaminated([e.user for e in load_chat_jsonl(train)], [e.user for e in load_chat_jsonl(eval_file)])
    if leaks:
        logger.warning("%d generated train rows share a prompt or a 13-gram with the eval file; scores on those eval "
                       "items measure recall, not generalisation", len(leaks))


def _generated(cfg: RunConfig, task) -> tuple[Path, Path]:
    from lorakit.data.gen import gen, generator_fingerprint

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
