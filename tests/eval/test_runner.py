import json

import pytest

from lorakit.eval.metrics import aggregate
from lorakit.eval.report import report
from lorakit.eval.runner import evaluate
from lorakit.pipeline import run
from lorakit.train.trainer import train


def test_base_and_tuned_are_scored_on_the_same_items(tiny_config):
    train(tiny_config)
    results = evaluate(tiny_config)
    out = tiny_config.output_dir
    assert set(results["models"]) == {"base", "tuned"} and results["n_items"] == 12
    for which in ("base", "tuned"):
        rows = [json.loads(l) for l in (out / "eval" / which / "predictions.jsonl").read_text().splitlines()]
        assert len(rows) == 12
        assert {"input", "expected", "raw_output", "parsed", "fields", "exact_match"} <= set(rows[0])
        # the headline numbers are exactly the aggregate of the item-level verdicts
        assert results["models"][which]["overall"] == aggregate(rows)
    # each model gets its own prompt: full instruction for base, training prompt for tuned
    assert "Rules:" in results["models"]["base"]["system_prompt"]
    assert results["models"]["tuned"]["system_prompt"].startswith("Convert the customer support message")
    div = results["divergence"]  # the adapter moved the next-token distributions on the answers
    assert div["kl_mean"] > 0 and div["items"] == 12 and div["positions"] > 12
    general = results["general"]  # what tuning cost on prompts without task content
    assert general["items"] == 20 and general["kl_mean"] > 0 and len(general["answers"]) == 4
    (cmp,) = results["comparisons"]
    assert (cmp["a"], cmp["b"]) == ("base", "tuned") and set(cmp["flips"]) == {"exact_match", "field:intent"}
    for m, d in cmp["metrics"].items():  # the delta is the difference of the two headline numbers
        diff = results["models"]["tuned"]["overall"][m] - results["models"]["base"]["overall"][m]
        assert abs(d["delta"] - diff) < 1e-9 and 0 <= d["p_value"] <= 1
    for which in ("base", "tuned"):
        lo, hi = results["models"][which]["intervals"]["exact_match"]
        assert lo <= results["models"][which]["overall"]["exact_match"] <= hi
    saved = json.loads((out / "results.json").read_text())
    assert saved["models"]["base"]["overall"] == results["models"]["base"]["overall"]
    # what produced the numbers travels with them: the eval-time config, the eval file's hash, the libraries
    from lorakit.io import sha256_file
    from lorakit.rundir import SCHEMA_VERSION

    assert saved["schema_version"] == SCHEMA_VERSION and saved["config"]["eval"]["max_new_tokens"] == 12
    assert saved["eval_sha256"] == sha256_file(out / "data" / "eval.jsonl")
    assert saved["versions"]["torch"] and saved["versions"]["lorakit"]


def test_file_prompt_mode_keeps_the_files_system_message(tiny_config):
    cfg = tiny_config.model_copy(update={"eval": tiny_config.eval.model_copy(update={"prompt": "file",
                                                                                     "models": ["base"]})})
    results = evaluate(cfg)
    assert results["models"]["base"]["system_prompt"].startswith("Convert the customer support message")


def test_report_is_rebuilt_from_results_alone(tiny_config):
    path = run(tiny_config)
    text = path.read_text()
    assert "| valid JSON |" in text and "| intent accuracy |" in text and "By category" in text
    path.unlink()
    assert report(tiny_config.output_dir).read_text() == text


@pytest.mark.slow
def test_run_reuses_an_adapter_trained_with_the_same_config(tiny_config):
    # what is reused is the training: a small evaluation keeps the three runs short
    tiny_config = tiny_config.model_copy(update={"eval": tiny_config.eval.model_copy(update={
        "models": ["tuned"], "limit": 2, "kl_items": 0, "general_prompts": 0})})
    run(tiny_config)
    weights = tiny_config.output_dir / "adapter" / "adapter_model.safetensors"
    first = weights.stat().st_mtime_ns
    run(tiny_config)
    assert weights.stat().st_mtime_ns == first
    changed = tiny_config.model_copy(update={"train": tiny_config.train.model_copy(update={"max_steps": 3})})
    run(changed)
    assert weights.stat().st_mtime_ns != first


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.integration
def test_html_report_is_self_contained_and_renders_in_chromium(tiny_config, tmp_path):
    import re
    import shutil
    import subprocess

    import pytest
    from PIL import Image

    run(tiny_config)
    page = tiny_config.output_dir / "report.html"
    text = page.read_text()
    assert "<h1>lorakit report: support_ticket</h1>" in text and "intent confusion" in text
    assert text.count("data:image/png;base64,") >= 4  # heat maps, confusion matrices, loss curve
    assert not re.search(r"""(src|href)=['"](https?:|//)""", text)  # opens offline: nothing fetched
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (make test installs Debian's chromium where it can)")
    shot = tmp_path / "report.png"
    subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                    "--window-size=1200,1600", page.resolve().as_uri()], check=True, capture_output=True, timeout=120)
    img = Image.open(shot).convert("L")
    assert img.size == (1200, 1600)
    lo, hi = img.getextrema()
    assert hi - lo > 100  # not a blank page: text and plots drew something
    dark = sum(img.histogram()[:128]) / (img.size[0] * img.size[1])
    assert 0.005 < dark < 0.5  # some ink, mostly paper


@pytest.mark.slow
def test_robustness_suite_keeps_labels_and_reports_attack_success(tiny_config):
    from lorakit.data.tasks.support_ticket.attacks import ATTACKS
    from lorakit.eval.runner import evaluate_robustness

    train(tiny_config)
    tiny_config = tiny_config.model_copy(update={"eval": tiny_config.eval.model_copy(update={"limit": 4})})
    rob = evaluate_robustness(tiny_config)
    n_attacks = len(ATTACKS) + 1  # + the empty message
    assert rob["n_variants"] == rob["n_clean"] * n_attacks and rob["n_clean"] > 0
    for arm in ("base", "tuned"):
        res = rob["models"][arm]
        assert set(res["by_category"]) == {"none", "empty", *ATTACKS}
        for d in res["attack_success"].values():
            assert 0 <= d["changed"] <= d["n"] <= rob["n_clean"]
    rows = [json.loads(l) for l in (tiny_config.output_dir / "eval/robustness/tuned/predictions.jsonl").open()]
    clean = {r["id"]: r["expected"] for r in rows if r["attack"] == "none"}
    for r in rows:  # an attack never changes the expected answer (the empty message has its own)
        if r["attack"] not in ("none", "empty"):
            assert r["expected"] == clean[r["id"]]
            assert len(r["input"]) > 40


def test_attacks_carry_no_label_information():
    import re

    from lorakit.data.tasks.support_ticket.phrases import PRODUCTS
    from lorakit.data.tasks.support_ticket.attacks import ATTACKS

    for name, fn in ATTACKS.items():
        added = fn("X" * 50).replace("X" * 50, "").lower()
        assert not any(w in added for w in ("asap", "a.s.a.p", "urgent", "immediately")), name  # priority words
        assert "ord-" not in added, name
        assert not any(re.search(rf"\b{re.escape(p.lower())}\b", added) for p in PRODUCTS), name


def test_text_task_on_your_own_data_detects_labels_and_constrains_them(tmp_path, tiny_model_dir):
    """Instruction data in disguise (intent ids + a few free-text rows), prepared, trained, evaluated both ways."""
    import json

    from lorakit.config import load_config
    from lorakit.io import iter_jsonl, read_json
    from lorakit.pipeline import run
    from tests.data.banking_like import write

    src = write(tmp_path / "banking.json", n=300)
    cfg = load_config(None, [
        f"output_dir={tmp_path / 'run'}", f"model.name={tiny_model_dir}", "data.task=text", f"data.train_file={src}",
        "data.eval_fraction=0.1", "train.batch_size=8", "train.max_steps=2", "eval.batch_size=16",
        "eval.max_new_tokens=6", "eval.decoding=[free,constrained]", "eval.kl_items=4",
    ])
    report = run(cfg).read_text()
    results = read_json(tmp_path / "run" / "results.json")
    assert results["output"] == "text" and set(results["models"]) == {
        "base", "base+constrained", "tuned", "tuned+constrained"}
    n = results["n_items"]
    assert n == read_json(tmp_path / "run" / "data" / "prepare_record.json")["files"]["eval"]["rows"]
    answers = {r["response"] for r in json.loads(src.read_text())}
    preds = [r for _, r in iter_jsonl(tmp_path / "run" / "eval" / "tuned+constrained" / "predictions.jsonl")]
    label_items = [r for r in preds if r["label_group"] is not None]
    assert label_items and all(r["prediction"] in answers for r in label_items)  # the grammar keeps to the labels
    for arm in results["models"].values():
        assert {"exact_match", "token_f1", "rouge_l", "label_accuracy"} <= set(arm["overall"])
        assert arm["fields"]["labels:all"]["n"] == len(label_items)
    assert "Classification items (detected label sets)" in report and "token F1" in report


def test_an_unreadable_training_record_costs_only_the_training_summary(tiny_config, caplog):
    import logging

    train(tiny_config)
    record = tiny_config.output_dir / "adapter" / "run_record.json"
    rec = json.loads(record.read_text())
    del rec["base_model"]  # as if written by a lorakit that named it otherwise
    record.write_text(json.dumps(rec))
    base_only = tiny_config.model_copy(update={"eval": tiny_config.eval.model_copy(update={"models": ["base"]})})
    with caplog.at_level(logging.WARNING, logger="lorakit"):
        results = evaluate(base_only)
    assert "training" not in results and results["models"]["base"]["overall"]["n"] == 12
    assert "no training summary" in caplog.text and "base_model" in caplog.text


# ---- a trained run on the user's own labelled file (issue 17)

TICKETS = [  # written by hand in a shape lorakit does not write: an id, the message and the label as a JSON object
    {"ticket_id": "T-100", "body": "My Kindle arrived cracked, order ORD-55120. I want my money back.",
     "gold": {"intent": "refund", "priority": "medium", "entities": {"order_id": "ORD-55120", "product": "Kindle"},
              "needs_clarification": False, "clarifying_question": None}},
    {"ticket_id": "T-101", "body": "How do I change the email on my account?",
     "gold": {"intent": "account", "priority": "low", "entities": {"order_id": None, "product": None},
              "needs_clarification": False, "clarifying_question": None}},
    {"ticket_id": "T-102", "body": "It doesn't work.",
     "gold": {"intent": "other", "priority": "low", "entities": {"order_id": None, "product": None},
              "needs_clarification": True, "clarifying_question": "Which product is not working?"}},
]


def test_eval_a_trained_run_on_any_labelled_file_scores_every_row_as_given(trained_run, tmp_path):
    from typer.testing import CliRunner

    from lorakit.cli import app

    run_dir, _ = trained_run
    own_results = (run_dir / "results.json").read_bytes() if (run_dir / "results.json").is_file() else None
    rows = TICKETS + [TICKETS[1]]  # a duplicate: reported, kept, scored
    data = tmp_path / "my_tickets.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    res = CliRunner().invoke(app, ["eval", str(run_dir), "--data", str(data), "--column", "prompt=body",
                                   "--column", "completion=gold", "--column", "id=ticket_id",
                                   "--set", "eval.models=[tuned]", "--set", "eval.max_new_tokens=8"])
    assert res.exit_code == 0, res.output
    out = run_dir / "evals" / "my_tickets"
    results = json.loads((out / "results.json").read_text())
    assert results["n_items"] == len(rows) == 4
    assert results["eval_source"]["rows_read"] == 4 and results["eval_source"]["duplicates"] == 1
    assert results["eval_source"]["file"] == str(data) and results["eval_source"]["duplicate_lines"] == [[4, 2]]
    preds = [json.loads(x) for x in (out / "eval" / "tuned" / "predictions.jsonl").read_text().splitlines()]
    assert [p["id"] for p in preds] == ["T-100", "T-101", "T-102", "T-101"]  # joins back to the user's file
    assert [p["source_line"] for p in preds] == [1, 2, 3, 4]
    assert not (out / "data" / "train.jsonl").exists()  # no train data made for an evaluation
    assert "4 rows read from" in (out / "report.md").read_text()
    assert ((run_dir / "results.json").read_bytes() if own_results is not None else None) == own_results


def test_eval_file_alone_in_a_config_needs_no_train_file(tiny_config, tmp_path):
    from lorakit.data.ensure import ensure_data, ensure_eval_data

    data = tmp_path / "mine.json"
    data.write_text(json.dumps([{"question": r["body"], "answer": r["gold"]} for r in TICKETS]), encoding="utf-8")
    cfg = tiny_config.model_copy(update={"data": tiny_config.data.model_copy(update={"eval_file": data})})
    train, ev = ensure_eval_data(cfg)
    assert train is None and len(ev.read_text().splitlines()) == 3
    train, ev2 = ensure_data(cfg)  # training with it: the task's generated train split, the user's file to score
    assert ev2 == ev and len(train.read_text().splitlines()) == cfg.data.n_train


def test_eval_items_that_cannot_be_scored_are_all_listed(trained_run, tmp_path):
    from typer.testing import CliRunner

    from lorakit.cli import app

    run_dir, _ = trained_run
    data = tmp_path / "broken.jsonl"
    data.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n"
                            for q, a in [("a", "not json"), ("b", json.dumps(TICKETS[0]["gold"])), ("c", "{")]))
    res = CliRunner().invoke(app, ["eval", str(run_dir), "--data", str(data)])
    assert res.exit_code == 2
    assert "2 of 3 eval items cannot be scored" in res.output and "line-1" in res.output and "line-3" in res.output
