"""What tuning cost: KL and answers side by side on the shipped general prompts."""

from __future__ import annotations

import pytest

from lorakit.eval.general import GENERAL_PROMPTS, general_drift, general_lines


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval(), AutoTokenizer.from_pretrained(tiny_model_dir)


def test_a_model_against_itself_costs_nothing(tiny):
    model, tok = tiny
    g = general_drift(model, model, tok, 5, "cpu", max_new_tokens=6, shown=2)
    assert g["items"] == 5 and g["kl_mean"] == pytest.approx(0.0, abs=1e-6)
    assert g["identical_answers"] == 5
    assert [a["prompt"] for a in g["answers"]] == list(GENERAL_PROMPTS[:2])
    assert all(a["base"] == a["tuned"] for a in g["answers"])


@pytest.mark.slow
def test_a_changed_model_shows_its_drift_and_the_report_says_it(tiny, tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM

    model, tok = tiny
    changed = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    with torch.no_grad():
        changed.lm_head.weight.mul_(3.0)  # sharper next-token distributions everywhere
    g = general_drift(model, changed, tok, 4, "cpu", max_new_tokens=6, shown=3)
    assert g["kl_mean"] > 0.01 and g["positions"] > 4
    lines = general_lines(g)
    assert lines[0].startswith("KL(tuned || base) over the base model's answers to 4 general prompts")
    assert sum(line.startswith("- **") for line in lines) == 3


def test_no_general_prompt_holds_task_content():
    words = {"ticket", "order", "invoice", "refund", "policy", "json", "intent", "priority"}
    assert len(GENERAL_PROMPTS) == 20
    assert not [p for p in GENERAL_PROMPTS if words & set(p.lower().replace("?", " ").replace(".", " ").split())]
