"""``lorakit run``: generate (if needed) -> train -> evaluate -> report, in one run folder."""

from __future__ import annotations

from pathlib import Path

from lorakit.config import RunConfig
from lorakit.io import read_json


def ensure_data(cfg: RunConfig) -> tuple[Path, Path]:
    """The train and eval files of ``cfg``: the user's own, or generated once into the run folder."""
    from lorakit.data.gen import gen, generator_fingerprint

    if cfg.data.train_file and cfg.data.eval_file:
        return Path(cfg.data.train_file), Path(cfg.data.eval_file)
    data_dir = Path(cfg.output_dir) / "data"
    wanted = {"task": cfg.data.task, "seed": cfg.data.seed, "n_train": cfg.data.n_train, "n_eval": cfg.data.n_eval,
              "generator": generator_fingerprint(cfg.data.task)}
    record_path = data_dir / "data_record.json"
    have = None
    if record_path.is_file():
        rec = read_json(record_path)
        have = {"task": rec["task"], "seed": rec["seed"], "n_train": rec["files"]["train"]["rows"],
                "n_eval": rec["files"]["eval"]["rows"], "generator": rec.get("generator")}
    if have != wanted:
        gen(cfg.data.task, data_dir, cfg.data.n_train, cfg.data.n_eval, cfg.data.seed)
    train_file = Path(cfg.data.train_file) if cfg.data.train_file else data_dir / "train.jsonl"
    eval_file = Path(cfg.data.eval_file) if cfg.data.eval_file else data_dir / "eval.jsonl"
    return train_file, eval_file


def adapter_is_current(cfg: RunConfig, train_file: Path) -> bool:
    """True when the run folder already holds an adapter trained with this model, data and train config."""
    from lorakit.io import sha256_file

    record_path = Path(cfg.output_dir) / "adapter" / "run_record.json"
    if not record_path.is_file():
        return False
    rec = read_json(record_path)
    now = cfg.model_dump(mode="json")
    try:  # re-validated, so an option added since (with its default) does not make the adapter stale
        then = RunConfig.model_validate(rec["config"]).model_dump(mode="json")
    except ValueError:
        return False
    same_cfg = all(then[k] == now[k] for k in ("model", "data", "train"))
    return same_cfg and rec.get("train_sha256") == sha256_file(train_file)


def run(cfg: RunConfig, *, resume: bool = False) -> Path:
    """Chain the stages; returns the path of the Markdown report.

    Training is skipped when the run folder already holds an adapter trained with the same
    model, data and training config, so re-evaluating (say on all items) costs no retraining.
    """
    from lorakit.eval.report import report
    from lorakit.eval.runner import evaluate
    from lorakit.train.trainer import train

    train_file, _ = ensure_data(cfg)
    if "tuned" in cfg.eval.models and (resume or not adapter_is_current(cfg, train_file)):
        train(cfg, resume=resume)
    evaluate(cfg)
    return report(cfg.output_dir)
