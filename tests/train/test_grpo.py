"""GRPO: rewards by hand, and short runs on the tiny model."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from lorakit.errors import ConfigError, TrainError
from lorakit.train.trainer import train
from tests.train.interrupt import train_until


def _adapter(path):
    return load_file(str(path / "adapter_model.safetensors"))


def test_json_reward_is_one_for_a_perfect_answer_and_zero_for_invalid_json():
    from lorakit.data.tasks import get_task
    from lorakit.data.tasks.json_metrics import Scorer

    task = get_task("support_ticket")
    scorer = Scorer(task.schema)
    label = {"intent": "tech_support", "priority": "medium", "entities": {"order_id": "W122342503",
             "product": "Sony WH-1000XM5"}, "needs_clarification": False, "clarifying_question": None}
    assert scorer.score(json.dumps(label), label)["schema_valid"]
    fields = len(scorer.paths)
    assert Scorer.reward(scorer.score(json.dumps(label), label)) == pytest.approx(1.0)
    assert Scorer.reward(scorer.score("I think it is a refund", label)) == 0.0
    one_wrong = {**label, "priority": "low"}
    assert Scorer.reward(scorer.score(json.dumps(one_wrong), label)) == pytest.approx(0.3 + 0.7 * (fields - 1) / fields)
    # priority weighted 3: one wrong field costs 3 of fields + 2 weights
    weighted = Scorer.reward(scorer.score(json.dumps(one_wrong), label), {"priority": 3.0})
    assert weighted == pytest.approx(0.3 + 0.7 * (fields - 1) / (fields + 2))
    not_schema = {**label, "intent": "not-an-intent"}  # valid JSON, outside the schema's enum
    assert Scorer.reward(scorer.score(json.dumps(not_schema), label)) == pytest.approx(0.2 + 0.7 * (fields - 1) / fields)


def test_text_policy_and_finance_rewards_by_hand():
    from lorakit.data.tasks.text_metrics import TextScorer

    scorer = TextScorer({"all": ["yes", "no"]})
    assert TextScorer.reward(scorer.score("yes", "yes")) == 1.0 and TextScorer.reward(scorer.score("no", "yes")) == 0.0
    free = TextScorer()
    # token F1 after SQuAD normalisation ("the" dropped): precision 2/2, recall 2/3
    assert TextScorer.reward(free.score("the cat sat", "the cat sat down")) == pytest.approx(0.8)

    from lorakit.data.pdf.qa import REFUSAL
    from lorakit.data.tasks.policy_qa import PolicyQAScorer

    policy = PolicyQAScorer()
    assert PolicyQAScorer.reward(policy.score(REFUSAL, REFUSAL)) == 1.0  # unanswerable, refused
    assert PolicyQAScorer.reward(policy.score("25 days", REFUSAL)) == 0.0  # unanswerable, hallucinated
    assert PolicyQAScorer.reward(policy.score(REFUSAL, "25 working days")) == 0.0  # answerable, over-refused
    assert PolicyQAScorer.reward(policy.score("25 days", "25 working days")) == pytest.approx(0.8)

    from lorakit.data.tasks.finance import FinanceScorer

    finance, ref = FinanceScorer(), "Margin = (500 - 300) / 500 * 100 = 40\nAnswer: 40"
    assert FinanceScorer.reward(finance.score(ref, ref)) == pytest.approx(1.0)
    assert FinanceScorer.reward(finance.score("about forty", ref)) == 0.0
    # the right number with no steps: numeric 0.6 + format 0.1 (no step recomputes, none gives the answer)
    steps = finance.score("Answer: 40", ref)["scores"]
    want = 0.6 + 0.1 + 0.2 * steps["steps_consistent"] + 0.1 * steps["answer_from_steps"]
    assert FinanceScorer.reward(finance.score("Answer: 40", ref)) == pytest.approx(want)


def _grpo_config(tiny_config, tmp_path, **train_updates):
    cfg = tiny_config.model_copy(deep=True)
    cfg.output_dir = tmp_path / "grpo"
    cfg.train.method = "grpo"
    cfg.train.lora.dropout = 0.0
    cfg.train.grpo.samples = 3
    cfg.train.grpo.max_new_tokens = 8
    for k, v in train_updates.items():
        setattr(cfg.train, k, v)
    return cfg


def _length_reward(ex, answer):  # a reward any sampled answer differs on: its length
    return float(len(answer))


@pytest.mark.slow
def test_grpo_moves_the_lora_weights_logs_rewards_and_resumes_exactly(tiny_config, tmp_path):
    cfg = _grpo_config(tiny_config, tmp_path / "a", max_steps=2, batch_size=2, checkpoint_every=1)
    straight = train(cfg, reward=_length_reward)
    weights = _adapter(straight.adapter_dir)
    assert any(v.abs().sum() > 0 for k, v in weights.items() if "lora_B" in k)  # B starts at zero
    log = [json.loads(line) for line in (cfg.output_dir / "train_log.jsonl").read_text().splitlines()]
    assert len(log) == 2 and {"reward", "reward_std", "trained_share"} <= log[0].keys()
    assert log[0]["reward"] > 0 and log[0]["reward_std"] > 0
    # KL to the starting model: none before the first update, some after it (the starting LoRA weights are read,
    # not autocast's cached copies of the current ones)
    assert log[0]["kl"] == 0.0 and log[1]["kl"] > 0
    record = json.loads((straight.adapter_dir / "run_record.json").read_text())
    assert record["method"] == "grpo" and record["samples"] == 3

    cfg_b = _grpo_config(tiny_config, tmp_path / "b", max_steps=2, batch_size=2, checkpoint_every=1)
    train_until(cfg_b, 1, reward=_length_reward)
    resumed = _adapter(train(cfg_b, reward=_length_reward, resume=True).adapter_dir)
    for k in weights:  # the sampling RNG is part of the checkpoint: the same answers after resume
        torch.testing.assert_close(weights[k], resumed[k], rtol=1e-5, atol=1e-6)


def test_grpo_with_a_constant_reward_learns_nothing(tiny_config, tmp_path):
    cfg = _grpo_config(tiny_config, tmp_path, max_steps=1, batch_size=2)
    result = train(cfg, reward=lambda ex, a: 1.0)
    assert all(torch.count_nonzero(v) == 0 for k, v in _adapter(result.adapter_dir).items() if "lora_B" in k)
    log = json.loads((cfg.output_dir / "train_log.jsonl").read_text().splitlines()[0])
    assert log["trained_share"] == 0.0 and log["reward_std"] == 0.0


def test_grpo_through_train_stage_uses_the_tasks_scorer(tiny_config, tmp_path):
    from lorakit.pipeline import train_stage

    cfg = _grpo_config(tiny_config, tmp_path, max_steps=1, batch_size=2)
    train_stage(cfg)
    log = json.loads((cfg.output_dir / "train_log.jsonl").read_text().splitlines()[0])
    # the random tiny model writes no JSON: the scorer gives every answer 0, so no group carries a gradient
    assert log["reward"] == 0.0 and log["trained_share"] == 0.0


def test_grpo_without_a_reward_and_a_bad_user_reward_are_explained(tiny_config, tmp_path):
    from lorakit.pipeline import train_stage

    with pytest.raises(TrainError, match="needs a reward"):
        train(_grpo_config(tiny_config, tmp_path, max_steps=1))
    cfg = _grpo_config(tiny_config, tmp_path, max_steps=1)
    cfg.train.grpo.reward = "no_such_module:fn"
    with pytest.raises(ConfigError, match="cannot be imported .* package.module:function"):
        train_stage(cfg)
