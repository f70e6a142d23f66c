"""``lorakit compare`` on hand-made run folders: values, differences and item counts computed by hand, and the
errors that stop a comparison of runs scored on different things."""

from __future__ import annotations

import math

import pytest
from typer.testing import CliRunner

from lorakit.cli import app
from lorakit.errors import EvalError
from lorakit.eval.compare import compare, compare_runs, expand, load_arm
from lorakit.io import write_jsonl
from lorakit.rundir import RunDir


def _run(path, f1s: list, refused: list, sha: str = "abc", ids: list[str] | None = None, source: str | None = None):
    """A run folder as `lorakit eval` leaves it: results.json and the tuned arm's per-item scores."""
    ids = ids or [f"line-{i + 1}" for i in range(len(f1s))]
    rows = [{"id": i, "scores": {"answer_f1": f, "over_refusal": None if f is None else r}}
            for i, f, r in zip(ids, f1s, refused)]
    run = RunDir(path)
    write_jsonl(run.predictions("tuned"), rows)
    run.write_results({"task": "policy_qa", "eval_file": "q.jsonl", "eval_sha256": sha, "n_items": len(rows),
                       "focus": ["answer_f1", "over_refusal"], "labels": {"answer_f1": "answerable: token F1"},
                       "models": {"base": {"overall": {}}, "tuned": {"overall": {}}},
                       **({"eval_source": {"file": "mine.jsonl", "sha256": source}} if source else {})})
    return path


def test_values_differences_and_items_by_hand(tmp_path):
    # item 3 is unanswerable (None: no answer F1, no over-refusal), as in policy QA
    _run(tmp_path / "a_s0", [1.0, 0.0, None, 0.5], [False, True, None, False])
    _run(tmp_path / "a_s1", [1.0, 0.5, None, 0.0], [False, False, None, True])
    _run(tmp_path / "b_s0", [1.0, 1.0, None, 0.5], [False, False, None, False])
    _run(tmp_path / "b_s1", [0.5, 1.0, None, 0.5], [False, False, None, False])
    a, _ = load_arm("baseline", expand(f"{tmp_path}/a_s*"))
    b, _ = load_arm("candidate", expand(f"{tmp_path}/b_s0,{tmp_path}/b_s1"))
    r = compare(a, b)
    f1 = r["metrics"]["answer_f1"]
    # runs: a 0.5 and 0.5, b 2.5/3 and 2/3; per item (run means): a 1, 0.25, 0.25; b 0.75, 1, 0.5
    assert f1["a_runs"] == [0.5, 0.5] and math.isclose(f1["b_runs"][0], 2.5 / 3) and math.isclose(f1["b"], 0.75)
    assert math.isclose(f1["diff"], 0.25)
    assert (f1["b_higher"], f1["b_lower"], f1["n_applicable"]) == (2, 1, 3)
    lo, hi = f1["interval"]
    assert lo <= 0.25 <= hi
    over = r["metrics"]["over_refusal"]
    assert math.isclose(over["a"], 1 / 3) and over["b"] == 0.0 and (over["b_higher"], over["b_lower"]) == (0, 2)
    assert r["n_items"] == 4


def test_the_rendered_table_names_metrics_in_the_scorers_words(tmp_path):
    for arm in ("a", "b"):
        _run(tmp_path / arm, [1.0, 0.0], [False, True])
    out = compare_runs(str(tmp_path / "a"), str(tmp_path / "b"))
    assert "| answerable: token F1 | 50.0 | 50.0 | +0.0 | [+0.0, +0.0] | 0 / 0 | 1 | 50.0 | 50.0 |" in out


def test_runs_scored_on_different_eval_files_are_refused(tmp_path):
    _run(tmp_path / "a", [1.0], [False], sha="one")
    _run(tmp_path / "b", [1.0], [False], sha="two")
    with pytest.raises(EvalError, match="different eval files"):
        compare_runs(str(tmp_path / "a"), str(tmp_path / "b"))
    _run(tmp_path / "c", [1.0], [False], sha="one", ids=["other"])
    with pytest.raises(EvalError, match="different items"):
        compare_runs(str(tmp_path / "a"), str(tmp_path / "c"))


def test_a_users_file_is_known_by_its_own_hash_not_by_the_runs_converted_copy(tmp_path):
    _run(tmp_path / "own", [1.0], [False], sha="user-file")  # the run's own eval split: that file's hash
    _run(tmp_path / "given", [0.5], [False], sha="converted-copy", source="user-file")  # `--data` of that file
    assert "| 100.0 | 50.0 | -50.0 |" in compare_runs(str(tmp_path / "own"), str(tmp_path / "given"))
    _run(tmp_path / "other", [0.5], [False], sha="converted-copy", source="another-file")
    with pytest.raises(EvalError, match="different eval files .*mine.jsonl"):
        compare_runs(str(tmp_path / "own"), str(tmp_path / "other"))


def test_a_run_named_twice_or_items_named_twice_are_refused(tmp_path):
    _run(tmp_path / "a", [1.0], [False])
    _run(tmp_path / "b", [1.0], [False])
    with pytest.raises(EvalError, match="named more than once"):
        compare_runs(f"{tmp_path}/a,{tmp_path}/b", str(tmp_path / "b"))
    _run(tmp_path / "c", [1.0, 0.5], [False, False], ids=["q1", "q1"])
    with pytest.raises(EvalError, match="names some items twice"):
        load_arm("c", [tmp_path / "c"])


def test_missing_folders_and_scores_are_clear_errors(tmp_path):
    with pytest.raises(EvalError, match="matches no folder"):
        expand(f"{tmp_path}/nothing_*")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EvalError, match="no results.json"):
        load_arm("a", [tmp_path / "empty"])
    _run(tmp_path / "a", [1.0], [False])
    RunDir(tmp_path / "a").predictions("tuned").unlink()
    with pytest.raises(EvalError, match="predictions.jsonl is missing"):
        load_arm("a", [tmp_path / "a"])
    with pytest.raises(EvalError, match="no arm 'merged'"):
        load_arm("a", [tmp_path / "a"], model="merged")


def test_the_cli_verb_prints_the_table_and_warns_about_few_seeds(tmp_path):
    for arm in ("a", "b"):
        _run(tmp_path / arm, [1.0, 0.0], [False, True])
    res = CliRunner().invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--metric", "answer_f1"])
    assert res.exit_code == 0, res.output
    assert "answerable: token F1" in res.output and "over-refusal" not in res.output
    assert "train 3 or more seeds per arm" in res.output and "(1 run) against" in res.output
    res = CliRunner().invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "nothing")])
    assert res.exit_code == 2 and "holds no results.json" in res.output


def test_a_task_without_focus_metrics_compares_exact_match_and_its_first_field(tmp_path):
    for arm, ok in (("a", [True, False]), ("b", [True, True])):
        run = RunDir(tmp_path / arm)
        write_jsonl(run.predictions("tuned"), [{"id": f"line-{i}", "scores": {"exact_match": v, "field:intent": v}}
                                               for i, v in enumerate(ok)])
        run.write_results({"task": "support_ticket", "eval_file": "e.jsonl", "eval_sha256": "s", "n_items": 2,
                           "models": {"tuned": {"overall": {"n": 2, "exact_match": 0.5, "field:intent": 0.5}}}})
    a, _ = load_arm("a", [tmp_path / "a"])
    b, _ = load_arm("b", [tmp_path / "b"])
    r = compare(a, b)
    assert list(r["metrics"]) == ["exact_match", "field:intent"]
    assert r["metrics"]["field:intent"]["diff"] == 0.5 and r["metrics"]["exact_match"]["b_higher"] == 1
