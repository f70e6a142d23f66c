"""The Task object answers every JSON-vs-text question the core used to branch on."""

import pytest

from lorakit.data.tasks import get_task
from lorakit.data.tasks.json_metrics import Scorer
from lorakit.data.tasks.text_metrics import TextScorer


def test_a_json_task_parses_scores_and_constrains_by_its_schema():
    task = get_task("support_ticket")
    assert task.response_schema is task.schema and task.schema["type"] == "object"
    assert task.parse_expected('{"intent": "billing"}') == {"intent": "billing"}
    with pytest.raises(ValueError, match="not the expected JSON"):
        task.parse_expected("billing")
    assert not task.scorer_reads_train
    scorer = task.scorer(["{}"], ["all"])
    assert isinstance(scorer, Scorer) and scorer.schema is task.schema
    assert isinstance(task.grammars(scorer, ["all"], [{}]), str)  # one grammar for every item: the schema's
    assert task.format_prediction('{"intent": "billing"}') == {"intent": "billing"}
    assert task.format_prediction("billing") == {"error": "not JSON: Expecting value at char 0", "raw": "billing"}
    assert task.render_output({"b": 1, "a": "é"}) == '{"b":1,"a":"é"}'
    assert task.robustness_attacks()  # the generic attacks plus the task's own


def test_a_text_task_keeps_answers_as_text_and_detects_labels_on_train_too():
    task = get_task("text")
    assert task.response_schema is None
    assert task.parse_expected("  yes ") == "  yes "
    assert task.scorer_reads_train
    scorer = task.scorer(["yes", "no", "yes", "no", "a long free answer"], ["clf"] * 4 + ["qa"])
    assert isinstance(scorer, TextScorer) and scorer.label_sets == {"clf": ["no", "yes"]}
    assert task.grammars(scorer, ["clf", "qa"], ["yes", "a long free answer"])[1] is None  # free text: no grammar
    assert task.format_prediction("yes") == {"answer": "yes"}
    assert task.render_output(3) == "3"
    assert task.robustness_attacks() == {}  # no suite for free text unless the task brings attacks


def test_scorers_name_their_own_metrics_and_scope():
    json_scorer = get_task("invoice").scorer([], [])
    assert json_scorer.labels["valid_json"] == "valid JSON"
    assert "not JSON is wrong on every field" in json_scorer.scope
    assert TextScorer().labels["exact_match"] == "exact match (normalised)"


def test_task_options_are_validated_by_the_task_every_bad_key_at_once():
    from lorakit.data.pdf.options import PdfQAOptions
    from lorakit.errors import ConfigError

    task = get_task("policy_qa")
    opts = task.options({"pdf": ["a.pdf"], "mode": "closed_book"})
    assert isinstance(opts, PdfQAOptions) and opts.mode == "closed_book" and opts.chunk_tokens == 160
    with pytest.raises(ConfigError) as e:
        task.options({"pdf": [], "mode": "open", "chunk_tokes": 100})
    msg = str(e.value)
    assert "3 problem(s)" in msg and "data.options.pdf:" in msg and "data.options.mode:" in msg
    assert "data.options.chunk_tokes: unknown key" in msg
    with pytest.raises(ConfigError, match="task support_ticket takes no options"):
        get_task("support_ticket").options({"pdf": ["a.pdf"]})
    assert get_task("support_ticket").options({}) is None


def test_lorakit_run_refuses_bad_task_options_before_making_anything(tmp_path):
    from lorakit.config import load_config
    from lorakit.errors import ConfigError
    from lorakit.pipeline import run

    cfg = load_config(None, [f"output_dir={tmp_path / 'run'}", "data.options.n_rows=5"])
    with pytest.raises(ConfigError, match="takes no options"):
        run(cfg)
    assert not (tmp_path / "run").exists()


def test_retrieved_context_is_refused_for_tasks_without_documents_and_closed_book_runs(tmp_path):
    from lorakit.config import load_config
    from lorakit.errors import ConfigError

    with pytest.raises(ConfigError, match="task support_ticket has no retrieval"):
        get_task("support_ticket").check_context("retrieved")
    get_task("support_ticket").check_context("given")
    policy = get_task("policy_qa")
    cfg = load_config(None, ["data.task=policy_qa", "data.options.pdf=[a.pdf]", "data.options.mode=closed_book"])
    with pytest.raises(ConfigError, match="closed_book"):
        policy.retrieve_eval(cfg, tmp_path, [], 3)
    with pytest.raises(ConfigError, match="closed_book"):
        policy.ground(cfg, tmp_path, "Where?", 3)
    grounded = load_config(None, ["data.task=policy_qa", "data.options.pdf=[a.pdf]"])
    with pytest.raises(ConfigError, match="no parsed document chunks"):  # a run whose data was not built from PDFs
        policy.ground(grounded, tmp_path, "Where?", 3)
