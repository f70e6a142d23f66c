"""Aggregating verdicts: means over the items a metric applies to, by category, and flips."""

import json

from lorakit.data.tasks import get_task
from lorakit.data.tasks.json_metrics import Scorer
from lorakit.eval.metrics import aggregate, aggregate_by, flips

SCHEMA = get_task("support_ticket").schema
GOLD = {"intent": "refund", "priority": "high", "entities": {"order_id": "ORD-12345", "product": None},
        "needs_clarification": False, "clarifying_question": None}


def test_aggregate_matches_hand_computed_values():
    s = Scorer(SCHEMA)
    wrong_intent = dict(GOLD, intent="billing")
    verdicts = [s.score(json.dumps(GOLD), GOLD), s.score(json.dumps(wrong_intent), GOLD),
                s.score("nope", GOLD), s.score(json.dumps(GOLD), GOLD)]
    agg = aggregate(verdicts)
    assert agg["n"] == 4
    assert agg["valid_json"] == 0.75 and agg["schema_valid"] == 0.75
    assert agg["exact_match"] == 0.5
    assert agg["field:intent"] == 0.5 and agg["field:priority"] == 0.75
    by = aggregate_by(verdicts, ["a", "a", "b", "b"])
    assert by["a"]["exact_match"] == 0.5 and by["b"]["valid_json"] == 0.5 and by["b"]["n"] == 2


def test_flips_both_ways():
    assert flips([True, False, True, False], [True, True, False, False], ["a", "b", "c", "d"]) == {
        "fixed": ["b"], "broken": ["c"]}
