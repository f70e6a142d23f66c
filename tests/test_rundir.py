"""The run folder's owner: paths in one place, typed records with a schema version, clear errors for old runs."""

import json

import pytest

from lorakit.errors import ConfigError
from lorakit.rundir import RUN_RECORD, SCHEMA_VERSION, RunDir, RunRecord, Results, library_versions, write_run_record


def _record(**kw):
    return {"task": "support_ticket", "base_model": "smollm2-135m", "system_prompt": "S", "train_sha256": "ab",
            "config": {"output_dir": "runs/x"}, **kw}


def test_paths_are_the_documented_layout(tmp_path):
    run = RunDir(tmp_path)
    assert run.run_record_path == tmp_path / "adapter" / "run_record.json"
    assert run.results_path == tmp_path / "results.json"
    assert run.predictions("tuned+constrained") == tmp_path / "eval" / "tuned+constrained" / "predictions.jsonl"
    assert run.predictions("base", "robustness") == tmp_path / "eval" / "robustness" / "base" / "predictions.jsonl"
    assert run.export_dir("gguf") == tmp_path / "export" / "gguf"
    assert run.checkpoints == tmp_path / "checkpoints" and run.data == tmp_path / "data"
    assert run.user_eval == tmp_path / "data" / "eval_file" and run.evals("mine") == tmp_path / "evals" / "mine"
    assert (run.tensorboard, run.mlruns) == (tmp_path / "tensorboard", tmp_path / "mlruns")


def test_run_record_round_trips_with_its_schema_version_and_extra_keys(tmp_path):
    run = RunDir(tmp_path)
    assert not run.is_trained
    with pytest.raises(FileNotFoundError):
        run.run_record()
    run.adapter.mkdir()
    write_run_record(run.adapter, _record(peak_rss_mb=512.0))
    raw = json.loads((run.adapter / RUN_RECORD).read_text())
    assert raw["schema_version"] == SCHEMA_VERSION and raw["peak_rss_mb"] == 512.0  # extra keys are kept
    rec = run.run_record()
    assert isinstance(rec, RunRecord) and rec.base_model == "smollm2-135m" and rec.system_prompt == "S"
    assert rec.run_config(run.run_record_path).output_dir.name == "x"


def test_a_record_without_schema_version_reads_as_version_1(tmp_path):
    (tmp_path / "adapter").mkdir()
    (tmp_path / "adapter" / RUN_RECORD).write_text(json.dumps(_record()))  # what lorakit wrote before versions
    assert RunDir(tmp_path).run_record().schema_version == 1


def test_a_record_from_a_newer_lorakit_says_upgrade(tmp_path):
    (tmp_path / "adapter").mkdir()
    (tmp_path / "adapter" / RUN_RECORD).write_text(json.dumps(_record(schema_version=SCHEMA_VERSION + 1)))
    with pytest.raises(ConfigError, match="newer lorakit.*upgrade lorakit"):
        RunDir(tmp_path).run_record()


def test_a_record_missing_a_required_field_names_it(tmp_path):
    (tmp_path / "adapter").mkdir()
    bad = _record()
    del bad["base_model"]
    (tmp_path / "adapter" / RUN_RECORD).write_text(json.dumps(bad))
    with pytest.raises(ConfigError, match=r"older lorakit.*base_model: Field required.*rerun"):
        RunDir(tmp_path).run_record()


def test_a_renamed_config_key_is_a_config_error_that_says_what_to_do(tmp_path):
    run = RunDir(tmp_path)
    run.adapter.mkdir()
    write_run_record(run.adapter, _record(config={"output_dir": "x", "train": {"learning_rate": 1e-3}}))
    with pytest.raises(ConfigError) as e:
        run.run_record().run_config(run.run_record_path)
    msg = str(e.value)
    assert "train.learning_rate" in msg and "lorakit train CONFIG" in msg and str(run.run_record_path) in msg


def test_results_are_validated_before_they_are_written(tmp_path):
    run = RunDir(tmp_path)
    from pydantic import ValidationError

    with pytest.raises(ValidationError):  # a results dict without models is a bug, not a user error
        run.write_results({"task": "t", "eval_file": "e.jsonl", "n_items": 1})
    assert not run.results_path.exists()
    run.write_results({"task": "t", "eval_file": "e.jsonl", "n_items": 1, "models": {"base": {"overall": {}}}})
    res = run.results()
    assert isinstance(res, Results) and res.schema_version == SCHEMA_VERSION and res.models["base"] == {"overall": {}}


def test_library_versions_name_the_libraries_behind_the_numbers():
    v = library_versions()
    assert {"lorakit", "torch", "transformers", "peft"} <= set(v) and v["torch"]


def test_robustness_results_are_a_typed_record_too(tmp_path):
    run = RunDir(tmp_path)
    assert run.robustness() is None
    good = {"task": "t", "suite": "robustness", "eval_file": "e.jsonl", "n_clean": 2, "n_variants": 4,
            "models": {"tuned": {"attack_success_overall": 0.25}}}
    run.write_robustness(good)
    rob = run.robustness()
    assert rob.schema_version == SCHEMA_VERSION and rob.models["tuned"]["attack_success_overall"] == 0.25
    with pytest.raises(Exception):
        run.write_robustness({**good, "n_clean": "many"})
    run.robustness_path.write_text(json.dumps({**good, "schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(ConfigError, match="newer lorakit"):
        run.robustness()
