"""The report names metrics and their scope in the task scorer's words, and renders hand-made results exactly."""

from lorakit.eval.report import _intro, headline_table, label, training_line


def _results(**extra) -> dict:
    arm = lambda acc, n: {"overall": {"n": n, "answer_f1": acc, "over_refusal": 1 - acc, "judge_score": None},  # noqa: E731
                          "intervals": {"answer_f1": (acc - 0.1, acc + 0.05)}, "seconds": 1.5}
    return {"task": "doc_qa", "eval_file": "eval.jsonl", "n_items": 4, "output": "text",
            "models": {"base": arm(0.25, 4), "tuned": arm(0.75, 4)},
            "comparisons": [{"a": "base", "b": "tuned", "metrics": {
                "answer_f1": {"delta": 0.5, "p_value": 0.03125, "significant": True},
                "over_refusal": {"delta": -0.5, "p_value": 0.5, "significant": False},
                "judge_score": {"delta": 0.0, "p_value": 1.0, "significant": False}}}], **extra}


def test_metric_names_come_from_the_scorer_then_lorakit_then_the_field_path():
    labels = {"answer_f1": "answerable: token F1"}
    assert label("answer_f1", labels) == "answerable: token F1"
    assert label("judge_score", labels) == "LLM judge score (0-10, as %)"
    assert label("field:entities.product") == "entities.product accuracy"
    assert label("answer_f1") == "answer_f1 accuracy"  # results without the scorer's labels: the raw name
    assert label("exact_match") == "exact match"  # every scorer's verdict has one


def test_the_headline_table_of_hand_made_results():
    results = _results(labels={"answer_f1": "answerable: token F1", "over_refusal": "over-refusal"})
    assert headline_table(results).splitlines() == [
        "| metric | base | tuned | Δ tuned - base (paired test p) |",
        "|---|---|---|---|",
        "| answerable: token F1 | 25.0% (15.0-30.0) | 75.0% (65.0-80.0) | +50.0 (p=0.031) |",
        "| over-refusal | 75.0% | 25.0% | -50.0 (p=0.5, within noise) |",
        "| LLM judge score (0-10, as %) | - | - | +0.0 (p=1, within noise) |",
    ]


def test_the_intro_states_the_scorers_scope_or_nothing():
    assert _intro(_results(scope="(answer metrics over answerable items)")) == (
        "4 items from `eval.jsonl`; every metric is over all items (answer metrics over answerable items). "
        "In brackets: 95% bootstrap interval.")
    assert _intro(_results()) == "4 items from `eval.jsonl`; every metric is over all items. In brackets: 95% bootstrap interval."


def test_the_training_line_of_a_grpo_run_states_its_sampled_reward():
    tr = {"method": "grpo", "init_from": "runs/sft", "examples": 64, "steps": 10, "tokens": 5000, "seconds": 20.0,
          "tokens_per_second": 250.0, "precision": "bf16", "device": "cpu", "threads": 2, "final_loss": 0.1,
          "sample_reward_curve": [[5, 0.8125, 0.5], [10, 0.90625, 0.25]]}
    assert training_line(tr) == (
        "Training (GRPO from runs/sft): 64 examples, 10 steps, 5000 tokens in 20.0 s (250.0 tok/s, bf16 on cpu, "
        "2 threads), final loss 0.1. Mean reward of the sampled answers: 0.812 at step 5, 0.906 at step 10 (25% of "
        "the last step's answers came from groups whose rewards differed: the rest carry no gradient).")


def test_the_training_line_of_a_grpo_run_states_its_last_kl_to_the_starting_model():
    tr = {"method": "grpo", "examples": 64, "steps": 10, "tokens": 5000, "seconds": 20.0, "tokens_per_second": 250.0,
          "precision": "bf16", "device": "cpu", "threads": 2, "final_loss": 0.1,
          "sample_reward_curve": [[5, 0.5, 0.5], [10, 0.5, None]], "kl_curve": [[5, 0.0], [10, 0.00123456]]}
    assert training_line(tr).endswith(
        "Mean reward of the sampled answers: 0.500 at step 5, 0.500 at step 10. "
        "KL to the starting model at step 10: 0.001235 per answer token.")
