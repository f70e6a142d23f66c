"""train.head: classification on the tiny model: what is trained, saved, reloaded, evaluated, predicted, exported."""

from __future__ import annotations

import json

import pytest

INTENTS = {
    "track_order": ["where is my parcel", "has my order shipped", "tracking not updating", "when will it arrive"],
    "cancel_order": ["cancel my order", "I ordered by mistake", "stop the order please", "can I still cancel"],
    "refund_status": ["where is my refund", "money not back yet", "refund still pending", "when do I get paid back"],
}


def _rows(k: int) -> list[dict]:
    return [{"instruction": f"{text} ({i})", "response": label}
            for label, texts in INTENTS.items() for i in range(k) for text in texts]


@pytest.fixture(scope="module")
def head_run(tmp_path_factory, tiny_model_dir):
    from lorakit.config import load_config
    from lorakit.train.trainer import train

    root = tmp_path_factory.mktemp("head")
    (root / "train.json").write_text(json.dumps(_rows(2)))
    (root / "eval.json").write_text(json.dumps(_rows(1)[::2]))
    cfg = load_config(None, [
        f"output_dir={root / 'run'}", f"model.name={tiny_model_dir}", "data.task=text",
        f"data.train_file={root / 'train.json'}", f"data.eval_file={root / 'eval.json'}", "train.head=classification",
        "train.batch_size=8", "train.max_steps=6", "train.lr=1e-2", "train.precision=fp32", "train.log_every=1",
        "train.lora.dropout=0.0", "eval.batch_size=4", "eval.max_new_tokens=4", "eval.decoding=[free,constrained]",
    ])
    result = train(cfg)
    return cfg, result


def test_head_shape_labels_and_record(head_run):
    from safetensors.torch import load_file

    from lorakit.rundir import RunDir

    cfg, result = head_run
    adapter = RunDir(cfg.output_dir).adapter
    labels = json.loads((adapter / "labels.json").read_text())["labels"]
    assert labels == sorted(INTENTS)  # every train answer, in a stable order
    assert json.loads((adapter / "adapter_config.json").read_text())["task_type"] == "SEQ_CLS"
    head = {k: v for k, v in load_file(str(adapter / "adapter_model.safetensors")).items() if "score" in k}
    assert [tuple(v.shape) for v in head.values()] == [(3, 64)]  # one row per label, the tiny model's width
    record = json.loads((adapter / "run_record.json").read_text())
    assert record["head"] == "classification" and record["labels"] == labels
    log = [json.loads(line) for line in RunDir(cfg.output_dir).train_log.read_text().splitlines()]
    assert all(0 <= r["train_accuracy"] <= 1 for r in log) and len(log) == 6


def test_training_moves_lora_and_head_not_the_base(head_run, tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM

    _, result = head_run
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    inner = result.model.get_base_model()
    q = inner.model.layers[0].self_attn.q_proj
    assert torch.equal(q.base_layer.weight, base.model.layers[0].self_attn.q_proj.weight)
    assert q.lora_B["default"].weight.abs().sum() > 0  # B starts at zero: it moved
    trained, initial = inner.score.modules_to_save["default"].weight, inner.score.original_module.weight
    assert not torch.equal(trained, initial)  # the head copy trained, the original left as initialised


def test_predictions_equal_after_save_and_load(head_run):
    import torch

    from lorakit.eval.runner import load_merged
    from lorakit.models.head import Classifier
    from lorakit.rundir import RunDir

    cfg, result = head_run
    labels = json.loads((RunDir(cfg.output_dir).adapter / "labels.json").read_text())["labels"]
    convs = [[{"role": "user", "content": t}] for texts in INTENTS.values() for t in texts]
    from lorakit.models import load_tokenizer

    tok = load_tokenizer(str(RunDir(cfg.output_dir).adapter))
    live = Classifier(result.model.eval(), tok)
    loaded, _ = load_merged(cfg.model.name, RunDir(cfg.output_dir).adapter, "cpu", "fp32")
    assert isinstance(loaded, Classifier) and loaded.labels == labels
    p_live, p_loaded = live.probabilities(convs), loaded.probabilities(convs)
    torch.testing.assert_close(p_live, p_loaded, rtol=0, atol=1e-5)
    assert live.classify(convs) == loaded.classify(convs)
    # batching does not change an answer: each row is pooled at its own last token, not the padding's
    assert loaded.classify(convs, batch_size=1) == loaded.classify(convs, batch_size=5)


def test_eval_answers_with_the_head_and_scores_labels(head_run):
    from lorakit.eval.runner import evaluate
    from lorakit.io import iter_jsonl
    from lorakit.rundir import RunDir

    cfg, _ = head_run
    results = evaluate(cfg.model_copy(update={"eval": cfg.eval.model_copy(update={"models": ["tuned"]})}))
    tuned = results["models"]["tuned"]
    assert tuned["answered_by"] == "classification head" and tuned["head_labels"] == 3
    assert tuned["expected_outside_labels"] == 0 and "label_accuracy" in tuned["overall"]
    assert results["models"]["tuned+constrained"]["overall"] == tuned["overall"]  # the head ignores decoding
    assert "divergence" not in results and "general" not in results
    preds = [r for _, r in iter_jsonl(RunDir(cfg.output_dir).predictions("tuned"))]
    assert len(preds) == 6 and {p["raw_output"] for p in preds} <= set(INTENTS)
    right = sum(p["raw_output"] == p["expected"] for p in preds) / len(preds)
    assert tuned["overall"]["label_accuracy"] == pytest.approx(right)


def test_predict_answers_with_a_label(head_run):
    from lorakit.predict import predict

    cfg, _ = head_run
    out = [json.loads(line) for line in predict(cfg.output_dir, ["where is my parcel", '{"input": "cancel it"}'])]
    assert len(out) == 2 and all(o["answer"] in INTENTS for o in out)


def test_export_gguf_is_refused_peft_and_merged_pass_the_check(head_run, tmp_path):
    from lorakit.errors import ExportError
    from lorakit.export.artifacts import export

    cfg, _ = head_run
    for fmt in ("gguf", "ollama"):
        with pytest.raises(ExportError, match="GGUF .* cannot carry"):
            export(cfg.output_dir, fmt, tmp_path / fmt)
    for fmt in ("peft", "merged"):
        record = export(cfg.output_dir, fmt, tmp_path / fmt, check=True, check_items=4)
        assert record["check"]["passed"], record["check"]["summary"]
        assert record["check"]["answers_identical"] == 4
    assert (tmp_path / "peft" / "labels.json").is_file()
    card = (tmp_path / "peft" / "README.md").read_text()
    assert "AutoModelForSequenceClassification" in card and "GGUF cannot carry" in card
    assert "AutoModelForCausalLM" not in card and "ollama create" not in card
    merged = json.loads((tmp_path / "merged" / "config.json").read_text())
    assert sorted(merged["id2label"].values()) == sorted(INTENTS)


def test_serve_answers_with_the_label_and_refuses_a_schema(head_run):
    import httpx

    from lorakit.serve.server import build_app
    from tests.live_server import LiveServer

    cfg, _ = head_run
    app, engine = build_app([f"intent={cfg.output_dir}"], precision="fp32", max_batch=4)
    with LiveServer(app, engine) as live:
        ask = {"model": "intent", "messages": [{"role": "user", "content": "where is my parcel"}], "max_tokens": 8}
        r = httpx.post(f"{live.url}/v1/chat/completions", json=ask, timeout=60)
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["message"]["content"] in INTENTS
        assert r.json()["choices"][0]["finish_reason"] == "stop"
        schema = {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}}}
        r = httpx.post(f"{live.url}/v1/chat/completions", json={**ask, "response_format": schema}, timeout=60)
        assert r.status_code == 400 and "classification head" in r.json()["error"]["message"]
        r = httpx.post(f"{live.url}/v1/chat/completions", json={**ask, "model": "base", "max_tokens": 2}, timeout=60)
        assert r.status_code == 200  # the shared base still generates beside the head
        assert "intent" in httpx.get(f"{live.url}/health").json()["adapters"]


def test_resume_reproduces_the_uninterrupted_head(head_run, tmp_path):
    import torch
    from safetensors.torch import load_file

    from lorakit.train.trainer import train
    from tests.train.interrupt import train_until

    cfg, straight = head_run
    resumed_cfg = cfg.model_copy(update={"output_dir": tmp_path / "b",
                                         "train": cfg.train.model_copy(update={"checkpoint_every": 3})})
    assert train_until(resumed_cfg, 3).step == 3  # checkpointed at step 3 with the head, no adapter yet
    resumed = train(resumed_cfg, resume=True)
    a = load_file(str(straight.adapter_dir / "adapter_model.safetensors"))
    b = load_file(str(resumed.adapter_dir / "adapter_model.safetensors"))
    assert a.keys() == b.keys() and any("score" in k for k in a)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)
    assert (resumed.adapter_dir / "labels.json").read_text() == (straight.adapter_dir / "labels.json").read_text()


def test_dpo_cannot_start_from_a_head_adapter(head_run, tmp_path):
    from lorakit.config import load_config
    from lorakit.errors import ConfigError
    from lorakit.train.trainer import starting_adapter

    cfg, _ = head_run
    dpo = load_config(None, [f"model.name={cfg.model.name}", "train.method=dpo", f"train.init_from={cfg.output_dir}",
                             f"output_dir={tmp_path}"])
    with pytest.raises(ConfigError, match="classification-head adapter .* train.head=lm"):
        starting_adapter(dpo)


def test_config_rejects_head_with_other_methods_or_init_from():
    from lorakit.config import load_config
    from lorakit.errors import ConfigError

    with pytest.raises(ConfigError, match="method=dpo needs train.head=lm"):
        load_config(None, ["train.head=classification", "train.method=dpo"])
    with pytest.raises(ConfigError, match="init_from"):
        load_config(None, ["train.head=classification", "train.init_from=runs/x"])


def test_label_set_checks_name_the_problem(caplog):
    from lorakit.errors import ConfigError
    from lorakit.models.head import closed_label_set

    assert closed_label_set(["2", "10", "2", "10", "b", "b"], "f") == ["2", "10", "b"]
    with pytest.raises(ConfigError, match="not labels .* 'a long\\\\nanswer'"):
        closed_label_set(["yes", "no", "a long\nanswer"], "f.json")
    with pytest.raises(ConfigError, match="4 distinct answers among 4 train rows"):
        closed_label_set(["a", "b", "c", "d"], "f.json")
    with pytest.raises(ConfigError, match="at least 2 labels"):
        closed_label_set(["a", "a"], "f.json")
    closed_label_set(["a", "a", "a", "b"], "f.json")
    assert "1 of 2 labels have a single train row" in caplog.text


def test_head_logits_pool_each_row_at_its_last_real_token(tiny_model_dir):
    import torch

    from lorakit.models import load_model
    from lorakit.models.head import head_logits, pad_right

    model, _, _ = load_model(tiny_model_dir, labels=["a", "b"])
    model.eval()
    rows = [[5, 6, 7], [5, 6, 7, 8, 9, 10, 11, 12, 13]]
    ids, mask = pad_right(rows, pad_id=0)
    assert ids.shape == (2, 16)  # rounded up to a multiple of 8
    with torch.inference_mode():
        batched = head_logits(model, ids, mask)
        alone = head_logits(model, torch.tensor([rows[0]]), torch.ones(1, 3, dtype=torch.long))
    torch.testing.assert_close(batched[0:1], alone, rtol=0, atol=1e-5)

