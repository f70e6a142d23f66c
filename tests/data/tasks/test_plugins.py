"""Tasks as plug-ins: a task defined outside lorakit runs through `lorakit run`; installed plug-ins are found."""

from __future__ import annotations

from pathlib import Path

import pytest

from lorakit.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "custom_task"


@pytest.fixture
def on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    yield
    import sys

    sys.modules.pop("unit_convert", None)


def test_a_task_from_outside_lorakit_runs_end_to_end_with_its_own_metric(on_path, tmp_path, tiny_model_dir):
    from typer.testing import CliRunner

    from lorakit.cli import app
    from lorakit.io import iter_jsonl, read_json
    from unit_convert import UnitScorer

    run_dir = tmp_path / "run"
    overrides = [f"output_dir={run_dir}", f"model.name={tiny_model_dir}", "data.n_train=32", "data.n_eval=8",
                 "train.max_steps=2", "train.batch_size=8", "eval.batch_size=8", "eval.kl_items=0"]
    res = CliRunner().invoke(app, ["run", str(EXAMPLE / "unit_convert.yaml"),
                                   *[a for o in overrides for a in ("--set", o)]])
    assert res.exit_code == 0, res.output
    results = read_json(run_dir / "results.json")
    assert results["n_items"] == 8 and results["focus"][:1] == ["value_and_unit"]
    scorer = UnitScorer()
    for arm in ("base", "tuned"):
        rows = [r for _, r in iter_jsonl(run_dir / "eval" / arm / "predictions.jsonl")]
        assert len(rows) == 8
        for metric in UnitScorer.focus:  # the task's own metric, recomputed from the raw answers
            want = sum(scorer.score(r["raw_output"], r["expected"])["scores"][metric] for r in rows) / len(rows)
            assert results["models"][arm]["overall"][metric] == pytest.approx(want)
    assert "| right value and unit |" in (run_dir / "report.md").read_text()  # the task's own label
    assert read_json(run_dir / "data" / "data_record.json")["generator"]  # the plug-in's source is fingerprinted


def test_an_installed_plugin_is_found_by_its_entry_point(on_path, tmp_path, monkeypatch):
    """A real dist-info with an entry point, as `pip install` leaves it: importlib.metadata finds it."""
    from lorakit.data.tasks import get_task, task_names

    dist = tmp_path / "lorakit_unit_convert-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: lorakit-unit-convert\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[lorakit.tasks]\nunit_convert = unit_convert:TASK\n"
                                           "support_ticket = unit_convert:TASK\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "unit_convert" in task_names()
    assert get_task("unit_convert").name == "unit_convert"
    assert get_task("support_ticket").name == "support_ticket"  # a plug-in cannot shadow a shipped task


def test_a_name_that_is_not_a_task_says_what_would_be(on_path):
    from lorakit.data.tasks import get_task

    with pytest.raises(ConfigError, match="unknown task 'nope'.*package.module:TASK"):
        get_task("nope")
    with pytest.raises(ConfigError, match="cannot import"):
        get_task("no_such_module_here:TASK")
    with pytest.raises(ConfigError, match="not a pydantic model"):
        get_task("unit_convert:generate")  # a function, neither a Task nor a model
