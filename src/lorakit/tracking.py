"""Experiment tracking where users already look: TensorBoard, MLflow, Weights & Biases.

``train.report_to: [tensorboard, mlflow]`` sends training's loss, learning rate and tokens/s, and
then each evaluated arm's metrics, to each library's own local store inside the run folder; no
server and no network:

- ``tensorboard``: event files in ``RUN_DIR/tensorboard`` (``tensorboard --logdir RUN_DIR/tensorboard``);
- ``mlflow``: a file store in ``RUN_DIR/mlruns`` (``mlflow ui --backend-store-uri RUN_DIR/mlruns``),
  experiment ``lorakit``, one MLflow run per lorakit run (training and evaluation log into the same
  one), the run's config as parameters; ``MLFLOW_TRACKING_URI`` (a server, ``sqlite:///...``) wins
  when set;
- ``wandb``: offline mode in ``RUN_DIR/wandb`` (``wandb sync`` uploads it later), where installed.

The libraries are optional (``pip install 'lorakit[tracking]'``); asking for one that is not
installed is a ConfigError before any work starts. Written by hand on the libraries' clients, not
with transformers' ``report_to`` callbacks, because lorakit's trainer is its own loop.
"""

from __future__ import annotations

import json
import logging
import os
import time

from lorakit.errors import ConfigError
from lorakit.io import read_json, write_json
from lorakit.rundir import RunDir

logger = logging.getLogger(__name__)

PACKAGES = {"tensorboard": "tensorboard", "mlflow": "mlflow", "wandb": "wandb"}


def _flat(tree: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in tree.items():
        if isinstance(v, dict) and v:
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = json.dumps(v) if not isinstance(v, str) else v
    return out


def check_available(report_to: list[str]) -> None:
    """Every tracker asked for is installed; else one ConfigError naming what to install."""
    import importlib.util

    missing = [t for t in report_to if importlib.util.find_spec(PACKAGES[t]) is None]
    if missing:
        raise ConfigError(f"train.report_to asks for {missing}, not installed here; pip install 'lorakit[tracking]' "
                          f"(tensorboard, mlflow) or pip install {' '.join(PACKAGES[m] for m in missing)}, or remove "
                          "them from train.report_to")


class Tracker:
    """Logs metrics by step to every tracker of ``report_to``; a no-op when it is empty."""

    def __init__(self, report_to: list[str], run: RunDir, config: dict):
        check_available(report_to)
        self.run, self._closers, self._loggers = run, [], []
        name = run.root.name
        for kind in report_to:
            getattr(self, f"_open_{kind}")(config, name)
        if report_to:
            logger.info("tracking to %s in %s", ", ".join(report_to), run.root)

    def _open_tensorboard(self, config: dict, name: str) -> None:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(log_dir=str(self.run.tensorboard))
        writer.add_text("config", "\n".join(f"    {k}: {v}" for k, v in _flat(config).items()))
        self._loggers.append(lambda m, step: [writer.add_scalar(k, v, step) for k, v in m.items()])
        self._closers.append(writer.close)

    def _open_mlflow(self, config: dict, name: str) -> None:
        from mlflow.entities import Metric, Param
        from mlflow.tracking import MlflowClient

        # MLFLOW_TRACKING_URI (a server, sqlite:///...) wins; else MLflow's file store in the run folder, which
        # MLflow 3 keeps in maintenance mode behind this opt-in (its sqlite store needs the full mlflow package)
        uri = os.environ.get("MLFLOW_TRACKING_URI") or self.run.mlruns.resolve().as_uri()
        if uri.startswith("file:"):
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        client = MlflowClient(tracking_uri=uri)
        exp = client.get_experiment_by_name("lorakit")
        exp_id = exp.experiment_id if exp else client.create_experiment("lorakit")
        record = self.run.mlflow_run  # training and evaluation of one run log into one MLflow run
        run_id = read_json(record)["run_id"] if record.is_file() else None
        if run_id is None:
            run_id = client.create_run(exp_id, run_name=name).info.run_id
            write_json(record, {"run_id": run_id})
            client.log_batch(run_id, params=[Param(k, v[:6000]) for k, v in _flat(config).items()])
        self._loggers.append(lambda m, step: client.log_batch(
            run_id, metrics=[Metric(k, float(v), int(time.time() * 1000), step) for k, v in m.items()]))

    def _open_wandb(self, config: dict, name: str) -> None:
        import wandb

        run = wandb.init(mode="offline", dir=str(self.run.root), project="lorakit", name=name, config=config)
        self._loggers.append(lambda m, step: run.log(m, step=step))
        self._closers.append(run.finish)

    def log(self, metrics: dict[str, float], step: int) -> None:
        metrics = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        for log in self._loggers:
            log(metrics, step)

    def close(self) -> None:
        for close in self._closers:
            close()
        self._closers = []
