import pytest

from lorakit.data.tasks.finance import FinanceScorer
from lorakit.data.tasks.finance.calc import close, final_answer, recompute, safe_eval, steps
from lorakit.data.tasks.finance.generator import CATEGORIES, TYPES, generate_split


def test_generator_is_deterministic_covers_every_type_and_its_answers_recompute():
    rows = generate_split(44, "train", 0)
    assert rows == generate_split(44, "train", 0) and rows != generate_split(44, "train", 1)
    assert {k for _, _, k in rows} == set(CATEGORIES) and len(CATEGORIES) == 11
    for _, response, _ in rows:
        consistent, value = recompute(response)
        assert consistent and close(value, final_answer(response))


def test_the_last_phrasing_of_each_type_is_eval_only():
    import re

    def pattern(template):
        return re.compile(re.sub(r"\\\{\w+\\\}", ".+", re.escape(template)), re.IGNORECASE | re.DOTALL)

    held_out = [pattern(phrasings[-1]) for _, phrasings in TYPES.values()]
    train_questions = [q for q, _, _ in generate_split(440, "train", 0)]
    eval_questions = [q for q, _, _ in generate_split(440, "eval", 0)]
    assert not any(p.fullmatch(q) for p in held_out for q in train_questions)
    assert sum(any(p.fullmatch(q) for p in held_out) for q in eval_questions) > 440 / 5 / 2


def test_safe_eval_is_arithmetic_only():
    assert safe_eval("(1380 - 1200) / 1200 * 100") == pytest.approx(15.0)
    assert safe_eval("2 ^ 10") == 1024.0 and safe_eval("-3 + +2") == -1.0
    for bad in ("__import__('os')", "x + 1", "1 / 0", "2 ^ 10 ^ 10", "(-8) ^ (1/3)", "1" * 300, "abs(-1)"):
        assert safe_eval(bad) is None, bad


def test_scorer_checks_stated_answer_format_steps_and_the_recomputed_chain():
    ref = "Monthly rate = 0.06 / 12 = 0.005\nNumber of payments = 30 * 12 = 360\n" \
          "Payment = 200000 * 0.005 / (1 - (1 + 0.005) ^ -360) = 1199.10\nAnswer: 1199.10"
    s = FinanceScorer()
    assert s.score(ref, ref)["scores"] | {"token_f1": 1.0} == {
        "format": True, "numeric_accuracy": True, "steps_consistent": True, "answer_from_steps": True, "token_f1": 1.0}
    # right method, wrong arithmetic: the calculator rescues the answer, the honesty checks do not
    wrong = ref.replace("= 0.005\n", "= 0.05\n").replace("= 1199.10\nAnswer: 1199.10", "= 1300\nAnswer: 1300")
    v = s.score(wrong, ref)["scores"]
    assert v["format"] and not v["numeric_accuracy"] and not v["steps_consistent"] and v["answer_from_steps"]
    v = s.score("The payment is about 1199.10 dollars.", ref)["scores"]  # right number, wrong format
    assert not v["format"] and v["numeric_accuracy"] and not v["answer_from_steps"]
    v = s.score("It is 1199.10, no wait, 1500", ref)["scores"]  # the last number counts
    assert not v["numeric_accuracy"]
    assert s.score("Answer: 1,199.5", ref)["scores"]["numeric_accuracy"]  # within 0.5%
    assert not s.score("Answer: 1210", ref)["scores"]["numeric_accuracy"]


def test_step_lines_are_parsed_and_non_steps_ignored():
    text = "Gross margin = (500 - 300) / 500 * 100 = 40\nSo the margin = 40\nAnswer: 40.00"
    assert steps(text) == [("Gross margin", "(500 - 300) / 500 * 100", 40.0)]
    assert final_answer(text) == 40.0 and final_answer("Answer: 40\nthanks") is None


def _force(tok, partial: str, steps: int = 24) -> str:
    """Run the calculator processor over random scores after ``partial``; the text it forces."""
    import torch

    from lorakit.data.tasks.finance.calculator import CalculatorLogitsProcessor

    prompt = tok.encode("Question?", add_special_tokens=False)
    ids = prompt + tok.encode(partial, add_special_tokens=False)
    proc = CalculatorLogitsProcessor(tok, len(prompt))
    torch.manual_seed(0)
    for _ in range(steps):
        out = proc(torch.tensor([ids]), torch.randn(1, len(tok)))
        if torch.isfinite(out).sum() != 1:  # nothing forced: the model would choose freely here
            break
        ids.append(int(out.argmax()))
    return tok.decode(ids[len(prompt):])


def test_calculator_decoding_forces_step_values_and_the_answer(smollm2_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    assert _force(tok, "Percent change = (250 - 200) / 200 * 100 =") == "Percent change = (250 - 200) / 200 * 100 = 25\n"
    loan = "Monthly rate = 0.06 / 12 = "
    assert _force(tok, loan) == loan + "0.005\n"
    done = _force(tok, "Amount = 1000 * (1 + 0.05 / 1) ^ (1 * 2) = 1102.5\nAnswer:")
    assert done.startswith("Amount = 1000 * (1 + 0.05 / 1) ^ (1 * 2) = 1102.5\nAnswer: 1102.50<|im_end|>")
    assert _force(tok, "The answer is =") == "The answer is ="  # no arithmetic, nothing forced
