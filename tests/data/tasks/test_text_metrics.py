import pytest

from lorakit.data.tasks.text_metrics import TextScorer, detect_labels, exact_match, macro_f1, rouge_l, token_f1
from tests.data.banking_like import TOPICS, rows


def test_squad_style_exact_match_and_token_f1():
    assert exact_match("The Eiffel Tower!", "eiffel tower")
    assert not exact_match("Eiffel", "eiffel tower")
    assert token_f1("the big red car", "red car") == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))
    assert token_f1("", "") == 1.0 and token_f1("x", "") == 0.0 and token_f1("blue", "red") == 0.0


def test_rouge_l_from_the_rouge_score_package():
    assert rouge_l("a b c d", "a b c d") == 1.0
    assert rouge_l("a x c d", "a b c d") == pytest.approx(0.75)
    assert rouge_l("", "a b") == 0.0


def test_classification_in_disguise_is_detected_despite_free_text_rows():
    data = rows(600, seed=0, n_free=12)
    answers = [r["response"] for r in data]
    labels = detect_labels(answers, ["all"] * len(data))
    assert set(labels) == {"all"}
    assert 70 <= len(labels["all"]) <= len(TOPICS) and all(x.isdigit() for x in labels["all"])
    assert labels["all"][:3] == ["0", "1", "2"]  # numeric ids in numeric order


def test_detection_is_per_category_tag_and_ignores_free_text_groups():
    answers = ["yes", "no"] * 10 + [f"a long free answer number {i}" for i in range(20)]
    groups = ["yn"] * 20 + ["free"] * 20
    assert detect_labels(answers, groups) == {"yn": ["no", "yes"]}
    assert detect_labels(answers, ["all"] * 40) == {}  # mixed half and half: not a closed set


def test_macro_f1_and_scorer_details():
    assert macro_f1(["a", "a", "b"], ["a", "a", "b"]) == 1.0
    assert macro_f1(["a", "b"], ["b", "b"]) == pytest.approx((0 + 2 / 3) / 2)
    scorer = TextScorer({"all": ["0", "1"]})
    v_label = scorer.score(" 1 ", "1")
    v_wrong = scorer.score("maybe", "0")
    v_free = scorer.score("Paris, France", "Paris")
    assert v_label["scores"]["label_accuracy"] is True and v_wrong["scores"]["label_accuracy"] is False
    assert v_free["scores"]["label_accuracy"] is None and v_free["scores"]["token_f1"] == pytest.approx(2 / 3)
    details = scorer.details([v_label, v_wrong, v_free], ["1", "0", "Paris"])["labels:all"]
    assert details["n"] == 2 and details["accuracy"] == 0.5
    assert details["confusion"] == {"1": {"1": 1}, "0": {"(not a label)": 1}}
    assert scorer.grammars(["all", "all"], ["1", "Paris"])[1] is None
