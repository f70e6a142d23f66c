import json

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
    assert set(results["flips"]) == {"exact_match", "field:intent"}
    saved = json.loads((out / "results.json").read_text())
    assert saved["models"]["base"]["overall"] == results["models"]["base"]["overall"]


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


def test_run_reuses_an_adapter_trained_with_the_same_config(tiny_config):
    run(tiny_config)
    weights = tiny_config.output_dir / "adapter" / "adapter_model.safetensors"
    first = weights.stat().st_mtime_ns
    run(tiny_config)
    assert weights.stat().st_mtime_ns == first
    changed = tiny_config.model_copy(update={"train": tiny_config.train.model_copy(update={"max_steps": 3})})
    run(changed)
    assert weights.stat().st_mtime_ns != first
