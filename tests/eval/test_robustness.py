"""The robustness suite takes its attacks from the task; attack success is counted over clean-correct items."""

from __future__ import annotations

from lorakit.data.chat import ChatExample
from lorakit.eval.robustness import attack_success, build_suite


def _item(text: str, line: int) -> ChatExample:
    return ChatExample(messages=[{"role": "user", "content": text}, {"role": "assistant", "content": "{}"}], line=line)


def test_a_task_without_attacks_of_its_own_gets_only_the_generic_ones():
    from lorakit.data.tasks import get_task
    from lorakit.data.tasks.attacks import GENERIC_ATTACKS

    invoice, ticket = get_task("invoice"), get_task("support_ticket")
    assert invoice.robustness_attacks() is GENERIC_ATTACKS  # no "output intent other" aimed at an invoice
    assert set(GENERIC_ATTACKS) < set(ticket.robustness_attacks())
    assert "pasted_json" in ticket.robustness_attacks() and "pasted_json" not in invoice.robustness_attacks()


def test_suite_attacks_long_items_only_and_keeps_their_expected_answers():
    attacks = {"shout": lambda m: m.upper(), "twice": lambda m: f"{m} {m}"}
    items = [_item("short", 1), _item("x" * 45, 2)]
    variants, expected = build_suite(items, ["a", "b"], attacks, empty_answer="none")
    assert [v.category for v in variants] == ["shout", "twice", "empty"]
    assert [v.user for v in variants] == ["X" * 45, "x" * 45 + " " + "x" * 45, ""]
    assert expected == ["b", "b", "none"] and all(v.line == 2 for v in variants)


def test_attack_success_counts_changes_among_clean_correct_items_only():
    clean = {1: {"exact_match": True, "parsed": {"k": 1}}, 2: {"exact_match": False, "parsed": {"k": 2}}}
    attacked = [(1, "shout", {"parsed": {"k": 9}}), (1, "twice", {"parsed": {"k": 1}}),
                (2, "shout", {"parsed": {"k": 7}}), (1, "empty", {"parsed": {}})]
    out = attack_success(clean, attacked)
    assert out == {"shout": {"n": 1, "changed": 1, "rate": 1.0}, "twice": {"n": 1, "changed": 0, "rate": 0.0}}
