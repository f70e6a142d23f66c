"""DPO: the loss by hand, sequence log-probabilities against the full logits, and short runs on the tiny model."""

from __future__ import annotations

import json
import math

import pytest
import torch
from safetensors.torch import load_file

from lorakit.errors import ConfigError, TrainError
from lorakit.io import write_jsonl
from lorakit.train.trainer import train
from tests.train.interrupt import train_until


def _adapter(path):
    return load_file(str(path / "adapter_model.safetensors"))


def test_dpo_terms_by_hand():
    from lorakit.train.dpo import dpo_terms

    loss, chosen, rejected = dpo_terms(torch.tensor([-2.0]), torch.tensor([-3.0]), torch.tensor([-2.5]),
                                       torch.tensor([-2.5]), beta=0.1)
    assert chosen.item() == pytest.approx(0.05) and rejected.item() == pytest.approx(-0.05)
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-0.1)))  # -log sigmoid(0.1) = 0.64440
    at_start, _, _ = dpo_terms(torch.tensor([-4.0]), torch.tensor([-1.0]), torch.tensor([-4.0]),
                               torch.tensor([-1.0]), beta=0.1)
    assert at_start.item() == pytest.approx(math.log(2))  # policy = reference: the loss starts at log 2


def test_sequence_logps_sum_the_answer_tokens_of_the_full_logits(tiny_model_dir):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from lorakit.train.data import IGNORE
    from lorakit.train.losses import sequence_logps

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                           LoraConfig(r=4, target_modules="all-linear", task_type="CAUSAL_LM")).eval()
    ids = torch.tensor([[5, 6, 7, 8, 9, 0], [11, 12, 13, 14, 15, 16]])
    labels = torch.tensor([[IGNORE, IGNORE, 7, 8, 9, IGNORE], [IGNORE, IGNORE, IGNORE, IGNORE, 15, 16]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]])
    with torch.no_grad():
        logps, counts = sequence_logps(model, ids, labels, mask)
        full = torch.log_softmax(model(input_ids=ids, attention_mask=mask).logits.float(), -1)
    want = [sum(full[r, t - 1, ids[r, t]].item() for t in range(6) if labels[r, t] != IGNORE) for r in range(2)]
    assert counts.tolist() == [3, 2]
    torch.testing.assert_close(logps, torch.tensor(want), rtol=1e-5, atol=1e-5)


def test_pairs_share_the_prompt_and_label_only_their_answers(smollm2_dir):
    from transformers import AutoTokenizer

    from lorakit.data.preference import PreferencePair
    from lorakit.train.data import IGNORE
    from lorakit.train.dpo import collate_pairs, tokenize_pairs

    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    pair = PreferencePair([{"role": "user", "content": "Say yes."}], chosen="yes", rejected="no thanks")
    too_long = PreferencePair([{"role": "user", "content": "Count."}], chosen="one", rejected="two " * 60)
    data, skipped = tokenize_pairs([pair, too_long], tok, 40)  # a pair counts only when both answers fit
    assert skipped == 1 and len(data) == 1
    c, r = data[0].chosen, data[0].rejected
    n_prompt = c.labels.count(IGNORE)
    assert c.input_ids[:n_prompt] == r.input_ids[:n_prompt] and r.labels.count(IGNORE) == n_prompt
    assert tok.decode([t for t in c.labels if t != IGNORE]).startswith("yes")
    assert tok.decode([t for t in r.labels if t != IGNORE]).startswith("no thanks")
    ids, labels, mask = collate_pairs(data, tok.pad_token_id)
    assert ids.shape[0] == 2 and ids[0, :len(c.input_ids)].tolist() == c.input_ids  # chosen row first


def _pairs_from_train_rows(run_dir, out, n=16):
    """Hand-made pairs: each train row's label chosen, the same JSON with another priority rejected."""
    rows = [json.loads(line) for line in (run_dir / "data" / "train.jsonl").read_text().splitlines()[:n]]
    pairs = []
    for row in rows:
        answer = json.loads(row["messages"][-1]["content"])
        wrong = {**answer, "priority": "low" if answer.get("priority") != "low" else "urgent"}
        pairs.append({"prompt": row["messages"][:-1], "chosen": row["messages"][-1]["content"],
                      "rejected": json.dumps(wrong)})
    write_jsonl(out, pairs)
    return out


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory, tiny_model_dir):
    """A short SFT run every DPO test starts from (trained once for the module; tests never write into it)."""
    from lorakit.config import load_config

    cfg = load_config(None, [
        f"output_dir={tmp_path_factory.mktemp('sft') / 'run'}", f"model.name={tiny_model_dir}", "data.n_train=64",
        "data.n_eval=12", "train.batch_size=8", "train.max_steps=4", "train.lr=5e-3", "train.checkpoint_every=2",
        "train.log_every=1", "train.lora.dropout=0.0", "eval.batch_size=6", "eval.max_new_tokens=12"])
    train(cfg)
    return cfg


def _dpo_config(sft_cfg, tmp_path, pairs, **train_updates):
    cfg = sft_cfg.model_copy(deep=True)
    cfg.output_dir = tmp_path / "dpo"
    cfg.train.method = "dpo"
    cfg.train.init_from = sft_cfg.output_dir
    cfg.train.dpo.pairs_file = pairs
    for k, v in train_updates.items():
        setattr(cfg.train, k, v)
    return cfg


def test_dpo_from_an_sft_run_moves_the_lora_weights_and_not_the_base(sft_run, tmp_path, tiny_model_dir):
    from transformers import AutoModelForCausalLM

    pairs = _pairs_from_train_rows(sft_run.output_dir, tmp_path / "pairs.jsonl")
    cfg = _dpo_config(sft_run, tmp_path, pairs, max_steps=3, batch_size=4)
    result = train(cfg)
    start, tuned = _adapter(sft_run.output_dir / "adapter"), _adapter(result.adapter_dir)
    assert start.keys() == tuned.keys()
    assert any(not torch.equal(start[k], tuned[k]) for k in start)  # DPO moved the SFT adapter

    fresh = AutoModelForCausalLM.from_pretrained(tiny_model_dir).to(result.model.dtype)
    params = dict(result.model.get_base_model().named_parameters())
    for name, p in fresh.named_parameters():
        base_p = params.get(name.replace(".weight", ".base_layer.weight"), params.get(name))
        torch.testing.assert_close(base_p.to(p.dtype), p, rtol=0, atol=0)

    log = [json.loads(line) for line in (cfg.output_dir / "train_log.jsonl").read_text().splitlines()]
    assert len(log) == 3
    # without dropout the first step's policy is the reference: every pair's loss is log 2, margins 0
    assert log[0]["dpo_loss"] == pytest.approx(math.log(2), abs=1e-3)
    assert log[0]["rewards/margin"] == pytest.approx(0.0, abs=1e-3)
    assert {"rewards/chosen", "rewards/rejected", "rewards/margin_std", "rewards/accuracy"} <= log[-1].keys()
    record = json.loads((result.adapter_dir / "run_record.json").read_text())
    assert record["method"] == "dpo" and record["pairs"] == 16 and record["train_file"] == str(pairs)
    assert not (cfg.output_dir / "data" / "train.jsonl").exists()  # a pairs file alone: no task data was made
    assert record["init_from"] == str(sft_run.output_dir / "adapter")
    ref = json.loads((cfg.output_dir / "reference_logps.json").read_text())
    assert len(ref["chosen"]) == len(ref["rejected"]) == 16


@pytest.mark.slow
def test_dpo_resume_reproduces_the_uninterrupted_adapter(sft_run, tmp_path):
    pairs = _pairs_from_train_rows(sft_run.output_dir, tmp_path / "pairs.jsonl")
    straight = train(_dpo_config(sft_run, tmp_path / "a", pairs, max_steps=4, batch_size=4, checkpoint_every=2))
    cfg_b = _dpo_config(sft_run, tmp_path / "b", pairs, max_steps=4, batch_size=4, checkpoint_every=2)
    train_until(cfg_b, 2)
    resumed = train(cfg_b, resume=True)
    a, b = _adapter(straight.adapter_dir), _adapter(resumed.adapter_dir)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_dpo_mines_its_pairs_from_the_starting_models_mistakes(sft_run, tmp_path):
    from lorakit.pipeline import train_stage

    cfg = _dpo_config(sft_run, tmp_path, None, max_steps=2, batch_size=4, max_examples=6)
    result = train_stage(cfg)
    mined = cfg.output_dir / "data" / "pairs.jsonl"
    rows = [json.loads(line) for line in mined.read_text().splitlines()]
    train_rows = [json.loads(line) for line in (cfg.output_dir / "data" / "train.jsonl").read_text().splitlines()[:6]]
    labels = {r["messages"][-1]["content"] for r in train_rows}
    assert rows and all(r["chosen"][0]["content"] in labels for r in rows)
    assert all(r["rejected"][0]["content"] != r["chosen"][0]["content"] for r in rows)  # only wrong answers
    record = json.loads((cfg.output_dir / "data" / "pairs.jsonl.record.json").read_text())
    assert record["items"] == 6 and record["pairs"] == len(rows) and record["settings"]["max_examples"] == 6
    assert json.loads((result.adapter_dir / "run_record.json").read_text())["train_file"] == str(mined)


def test_dpo_without_pairs_says_where_to_get_them(sft_run, tmp_path):
    cfg = _dpo_config(sft_run, tmp_path, None, max_steps=1)
    with pytest.raises(TrainError, match="no preference pairs .* train.dpo.pairs_file"):
        train(cfg)


def test_init_from_an_adapter_of_another_base_is_refused(sft_run, tmp_path, smollm2_dir):
    cfg = _dpo_config(sft_run, tmp_path, tmp_path / "p.jsonl", max_steps=1)
    cfg.model.name = smollm2_dir
    with pytest.raises(ConfigError, match="was trained on .*an adapter only fits its base"):
        train(cfg)


@pytest.mark.slow
def test_sft_continues_from_init_from_on_later_rows(sft_run, tmp_path):
    cfg = sft_run.model_copy(deep=True)
    cfg.output_dir = tmp_path / "more"
    cfg.train.init_from = sft_run.output_dir / "adapter"
    cfg.train.first_example = 32
    cfg.train.max_examples = 16
    cfg.train.max_steps = 2
    result = train(cfg)
    record = json.loads((result.adapter_dir / "run_record.json").read_text())
    assert record["examples"] == 16 and record["method"] == "sft"
    start, tuned = _adapter(sft_run.output_dir / "adapter"), _adapter(result.adapter_dir)
    assert any(not torch.equal(start[k], tuned[k]) for k in start)


@pytest.mark.slow
def test_a_dpo_adapter_exports_like_an_sft_one(sft_run, tmp_path):
    from lorakit.export import export

    pairs = _pairs_from_train_rows(sft_run.output_dir, tmp_path / "pairs.jsonl")
    cfg = _dpo_config(sft_run, tmp_path, pairs, max_steps=2, batch_size=4, precision="fp32")
    train(cfg)
    for fmt in ("peft", "ollama"):
        rec = export(cfg.output_dir, fmt, tmp_path / fmt, check=True, check_items=3)
        assert rec["check"]["passed"], rec["check"]
