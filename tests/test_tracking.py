"""train.report_to: TensorBoard event files and an MLflow file store in the run folder, read back."""

import pytest

from lorakit.errors import ConfigError
from lorakit.tracking import check_available


def test_a_tracker_that_is_not_installed_is_a_config_error_naming_the_package(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(ConfigError, match=r"asks for \['wandb'\], not installed.*pip install 'lorakit\[tracking\]'"):
        check_available(["wandb"])


def test_training_and_eval_metrics_reach_tensorboard_and_mlflow(tiny_config):
    pytest.importorskip("tensorboard")
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from lorakit.eval.runner import evaluate
    from lorakit.train.trainer import train

    cfg = tiny_config.model_copy(update={
        "train": tiny_config.train.model_copy(update={"report_to": ["tensorboard", "mlflow"]}),
        "eval": tiny_config.eval.model_copy(update={"models": ["tuned"], "limit": 4, "kl_items": 0})})
    train(cfg)
    evaluate(cfg)
    root = cfg.output_dir

    acc = EventAccumulator(str(root / "tensorboard")).Reload()
    tags = acc.Tags()["scalars"]
    assert {"train/loss", "train/lr", "train/tokens_per_second", "eval/tuned/valid_json"} <= set(tags)
    assert [e.step for e in acc.Scalars("train/loss")] == [1, 2, 3, 4]  # log_every=1, max_steps=4

    client = MlflowClient(tracking_uri=(root / "mlruns").resolve().as_uri())
    runs = client.search_runs([client.get_experiment_by_name("lorakit").experiment_id])
    assert len(runs) == 1  # training and evaluation share one MLflow run
    run = runs[0]
    assert run.data.params["train.lr"] == str(cfg.train.lr) and run.data.params["model.name"] == cfg.model.name
    losses = client.get_metric_history(run.info.run_id, "train/loss")
    assert [m.step for m in losses] == [1, 2, 3, 4]
    assert "eval/tuned/exact_match" in run.data.metrics
    log = [float(x.split('"loss": ')[1].split(",")[0]) for x in (root / "train_log.jsonl").read_text().splitlines()]
    assert [round(m.value, 5) for m in losses] == pytest.approx(log, abs=1e-5)
