"""``lorakit run``: generate (if needed) -> train -> evaluate -> report, in one run folder."""

from __future__ import annotations

from pathlib import Path

from lorakit.config import RunConfig
from lorakit.io import read_json


def prepare_user_data(cfg: RunConfig) -> tuple[Path, Path]:
    """The user's files, converted to chat JSONL, deduplicated and split once into the run folder."""
    from lorakit.data.prepare import prepare, settings, sources

    d = cfg.data
    data_dir = Path(cfg.output_dir) / "data"
    record_path = data_dir / "prepare_record.json"
    rec = read_json(record_path) if record_path.is_file() else {}
    wanted = settings(d.format, d.eval_fraction, d.seed, d.dedup, d.skip_bad, d.system_prompt, d.columns)
    if rec.get("sources") != sources(d.train_file, d.eval_file) or rec.get("settings") != wanted:
        prepare(d.train_file, data_dir, eval_file=d.eval_file, eval_fraction=d.eval_fraction, fmt=d.format,
                skip_bad=d.skip_bad, system=d.system_prompt, columns=d.columns, seed=d.seed, dedupe=d.dedup)
    return data_dir / "train.jsonl", data_dir / "eval.jsonl"


def ensure_data(cfg: RunConfig) -> tuple[Path, Path]:
    """The train and eval files of ``cfg``: the user's own (prepared), or generated once into the run folder."""
    from lorakit.data.gen import gen, generator_fingerprint

    if cfg.data.task == "policy_qa":
        from lorakit.data.pdf.dataset import build_policy_data

        train_file, eval_file = build_policy_data(cfg, Path(cfg.output_dir) / "data")
        return train_file, Path(cfg.data.eval_file) if cfg.data.eval_file else eval_file  # your own questions
    if cfg.data.train_file:
        return prepare_user_data(cfg)
    if cfg.data.eval_file:
        from lorakit.errors import ConfigError

        raise ConfigError("data.eval_file is set but data.train_file is not; give both, or neither to generate data")
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
    return data_dir / "train.jsonl", data_dir / "eval.jsonl"


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
