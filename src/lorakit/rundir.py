"""The run folder: one owner of its paths and typed records of what each stage wrote.

    RUN_DIR/
    ├── config.yaml                 the resolved config of the last `lorakit train`
    ├── data/                       generated or prepared train.jsonl / eval.jsonl (+ their records);
    │   └── eval_file/              data.eval_file alone, converted as given (eval.jsonl + eval_record.json)
    ├── checkpoints/step-NNNNNNN/   resumable training state (manifest-verified)
    ├── train_log.jsonl             step, loss, lr, tokens, seconds
    ├── adapter/                    the LoRA adapter + run_record.json (RunRecord)
    ├── eval/ARM/predictions.jsonl  every item, every arm (eval/robustness/ARM/ for the robustness suite)
    ├── results.json                Results: metrics, comparisons, the eval config and input hashes
    ├── robustness.json             the robustness suite's results
    ├── report.md, report.html      built from results.json (+ robustness.json)
    └── export/FORMAT/              exports, each with export_record.json and a model card

Records carry ``schema_version``; a record written by a newer lorakit, or one that no longer
validates (a renamed key), is a :class:`~lorakit.errors.ConfigError` that says what to do instead
of a pydantic traceback. Records allow extra keys, so a field added later never breaks an old run.
"""

from __future__ import annotations

import importlib.metadata as md
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from lorakit.errors import ConfigError
from lorakit.io import read_json, write_json

SCHEMA_VERSION = 1
RUN_RECORD = "run_record.json"


def library_versions() -> dict[str, str | None]:
    """The versions of the libraries a run's numbers depend on, for its records."""
    out: dict[str, str | None] = {}
    for name in ("lorakit", "torch", "transformers", "peft", "llguidance"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def _problems(err: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in err.errors())


class _Record(BaseModel):
    """A JSON record of the run folder. Extra keys are kept (older and newer fields alike)."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())
    what: ClassVar[str] = "record"

    schema_version: int = 1

    @classmethod
    def read(cls, path: Path):
        data = read_json(path)
        if not isinstance(data, dict):
            raise ConfigError(f"{path} is not a lorakit {cls.what} (not a JSON object); rerun the stage that wrote it")
        version = data.get("schema_version", 1)
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise ConfigError(f"{path} was written by a newer lorakit (record schema {version}, this one reads up to "
                              f"{SCHEMA_VERSION}); upgrade lorakit (pip install -U lorakit) to use this run")
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            raise ConfigError(f"{path} was written by an older lorakit and no longer reads ({_problems(e)}); "
                              "rerun the stage that wrote it") from None


class RunRecord(_Record):
    """``adapter/run_record.json``: what ``lorakit train`` trained, on what, how, and with which libraries."""

    what: ClassVar[str] = "training record"

    task: str | None = None
    base_model: str
    model_dir: str | None = None
    system_prompt: str | None = None
    train_file: str | None = None
    train_sha256: str | None = None
    examples: int | None = None
    steps: int | None = None
    tokens: int | None = None
    seconds: float | None = None
    tokens_per_second: float | None = None
    final_loss: float | None = None
    device: str | None = None
    precision: str | None = None
    threads: int | None = None
    versions: dict[str, Any] = {}
    adapter_sha256: str | None = None
    init_from_sha256: str | None = None  # the starting adapter's weights (train.init_from), as they were
    config: dict[str, Any] = {}

    def run_config(self, path: Path):
        """The :class:`~lorakit.config.RunConfig` the adapter was trained with (``path``: this record's file)."""
        from lorakit.config import RunConfig

        try:
            return RunConfig.model_validate(self.config)
        except ValidationError as e:
            raise ConfigError(f"{path}: the config this run was trained with no longer reads in this lorakit "
                              f"({_problems(e)}). Write those keys as the current config names them into a config "
                              f"file and retrain with `lorakit train CONFIG`, or use the lorakit version that "
                              f"trained it ({self.versions.get('lorakit') or 'see its record'})") from None


class Results(_Record):
    """``results.json``: every arm's metrics and paired comparisons, with what produced them."""

    what: ClassVar[str] = "results file"

    task: str
    eval_file: str
    eval_sha256: str | None = None
    n_items: int
    eval_source: dict[str, Any] | None = None  # the user's eval file: rows read, bad rows, duplicates (kept)
    output: str | None = None
    backend: str | None = None
    focus: Any = None
    labels: dict[str, Any] = {}  # the task scorer's names for its metrics
    scope: str = ""  # which items a metric is over, in the task scorer's words
    models: dict[str, dict[str, Any]]
    comparisons: list[dict[str, Any]] = []
    divergence: dict[str, Any] | None = None
    training: dict[str, Any] | None = None
    config: dict[str, Any] | None = None  # the resolved eval-time config (`--set` overrides included)
    versions: dict[str, Any] = {}


class Robustness(_Record):
    """``robustness.json``: every arm on clean items and their attacked variants (``lorakit eval --suite
    robustness``)."""

    what: ClassVar[str] = "robustness results file"

    task: str
    suite: str = "robustness"
    eval_file: str
    eval_sha256: str | None = None
    n_clean: int
    n_variants: int
    models: dict[str, dict[str, Any]]


class RunDir:
    """The paths of one run folder, and its records read and written typed."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"RunDir({str(self.root)!r})"

    # paths --------------------------------------------------------------------------------------
    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def evals(self, name: str) -> Path:
        """The run folder of ``lorakit eval RUN_DIR --data FILE`` (``name``: the file's stem)."""
        return self.root / "evals" / name

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    @property
    def mlruns(self) -> Path:
        return self.root / "mlruns"

    @property
    def mlflow_run(self) -> Path:
        """The MLflow run id this lorakit run logs into (training and evaluation share it)."""
        return self.root / "mlflow_run.json"

    @property
    def user_eval(self) -> Path:
        """``data.eval_file`` given alone, converted as given (apart from the run's own eval split)."""
        return self.data / "eval_file"

    @property
    def pairs(self) -> Path:
        """Preference pairs mined from the starting model's mistakes (``train.method: dpo``), + ``.record.json``."""
        return self.data / "pairs.jsonl"

    @property
    def reference_logps(self) -> Path:
        """DPO: the starting model's log-probabilities of every pair's answers, computed once (resume reads them)."""
        return self.root / "reference_logps.json"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def train_log(self) -> Path:
        return self.root / "train_log.jsonl"

    @property
    def adapter(self) -> Path:
        return self.root / "adapter"

    @property
    def run_record_path(self) -> Path:
        return self.adapter / RUN_RECORD

    @property
    def results_path(self) -> Path:
        return self.root / "results.json"

    @property
    def robustness_path(self) -> Path:
        return self.root / "robustness.json"

    @property
    def judge_cache(self) -> Path:
        return self.root / "judge_cache.jsonl"

    @property
    def report_md(self) -> Path:
        return self.root / "report.md"

    @property
    def report_html(self) -> Path:
        return self.root / "report.html"

    def predictions(self, arm: str, suite: str | None = None) -> Path:
        return self.root / "eval" / (f"{suite}/{arm}" if suite else arm) / "predictions.jsonl"

    def export_dir(self, fmt: str) -> Path:
        return self.root / "export" / fmt

    # records ------------------------------------------------------------------------------------
    @property
    def is_trained(self) -> bool:
        return self.run_record_path.is_file()

    def run_record(self) -> RunRecord:
        """The training record; a ConfigError when it is outdated, FileNotFoundError when there is none."""
        if not self.is_trained:
            raise FileNotFoundError(self.run_record_path)
        return RunRecord.read(self.run_record_path)

    def results(self) -> Results:
        if not self.results_path.is_file():
            raise FileNotFoundError(self.results_path)
        return Results.read(self.results_path)

    def write_results(self, results: dict) -> None:
        """Validate ``results`` as :class:`Results` and write it atomically (as given, key order kept)."""
        _write_record(Results, self.results_path, results)

    def robustness(self) -> Robustness | None:
        """The robustness suite's results, None when the suite has not run here."""
        return Robustness.read(self.robustness_path) if self.robustness_path.is_file() else None

    def write_robustness(self, results: dict) -> None:
        """Validate ``results`` as :class:`Robustness` and write it atomically."""
        _write_record(Robustness, self.robustness_path, results)


def _write_record(model: type[_Record], path: Path, record: dict) -> None:
    data = {"schema_version": SCHEMA_VERSION, **record}
    model.model_validate(data)
    write_json(path, data)


def write_run_record(adapter_dir: Path, record: dict) -> None:
    """Validate ``record`` as :class:`RunRecord` and write it into ``adapter_dir`` (inside an atomic folder)."""
    rec = RunRecord.model_validate({**record, "schema_version": SCHEMA_VERSION})
    write_json(Path(adapter_dir) / RUN_RECORD, rec.model_dump(mode="json"))
