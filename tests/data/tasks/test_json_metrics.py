"""The JSON Schema scorer: strict parsing, field paths in schema order, key order, per-field details."""

import json
import math

import pytest

from lorakit.data.tasks import get_task
from lorakit.data.tasks.json_metrics import Scorer, field_details, key_order_ok, leaf_paths, parse_output

SCHEMA = get_task("support_ticket").schema
GOLD = {"intent": "refund", "priority": "high", "entities": {"order_id": "ORD-12345", "product": None},
        "needs_clarification": False, "clarifying_question": None}


def test_leaf_paths_follow_schema_order():
    assert leaf_paths(SCHEMA) == ["intent", "priority", "entities.order_id", "entities.product",
                                  "needs_clarification", "clarifying_question"]


@pytest.mark.parametrize("text,ok", [
    ('{"a": 1}', True), ('  {"a": 1}\n', True), ('```json\n{"a": 1}\n```', False), ("[1]", False),
    ('{"a": 1} trailing', False), ("", False),
])
def test_parse_output_is_strict(text, ok):
    assert (parse_output(text)[0] is not None) == ok


def test_key_order_checks_nested_objects():
    assert key_order_ok(GOLD, SCHEMA)
    swapped = dict(GOLD, entities={"product": None, "order_id": "ORD-12345"})
    assert not key_order_ok(swapped, SCHEMA)
    reordered = {"priority": "high", **{k: v for k, v in GOLD.items() if k != "priority"}}
    assert not key_order_ok(reordered, SCHEMA)


def test_scorer_on_a_perfect_answer():
    v = Scorer(SCHEMA).score(json.dumps(GOLD), GOLD)
    assert v["valid_json"] and v["schema_valid"] and v["key_order"] and v["exact_match"]
    assert all(v["fields"].values())


def test_non_json_answer_is_wrong_on_every_field():
    v = Scorer(SCHEMA).score("Sure! Here is the JSON: ...", GOLD)
    assert not any([v["valid_json"], v["schema_valid"], v["key_order"], v["exact_match"]])
    assert not any(v["fields"].values())


def test_schema_violation_with_correct_fields_elsewhere():
    bad = dict(GOLD, intent="ignore", extra=1)
    v = Scorer(SCHEMA).score(json.dumps(bad), GOLD)
    assert v["valid_json"] and not v["schema_valid"] and not v["exact_match"]
    assert v["fields"]["priority"] and not v["fields"]["intent"]
    assert v["schema_errors"]


def test_field_details_by_schema_type_hand_computed():

    schema = {"type": "object", "properties": {
        "label": {"enum": ["a", "b"]},
        "name": {"type": ["string", "null"]},
        "tags": {"type": "array", "items": {"type": "string"}},
    }}
    expected = [{"label": "a", "name": "Ann Lee", "tags": ["x", "y"]},
                {"label": "b", "name": None, "tags": ["x"]},
                {"label": "a", "name": "Bob", "tags": []},
                {"label": "b", "name": None, "tags": ["z"]}]
    parsed = [{"label": "a", "name": "ann  lee!", "tags": ["x"]},
              {"label": "a", "name": "Zed", "tags": ["x", "q"]},
              {"label": "a", "name": None, "tags": []},
              None]  # not JSON: wrong on every field
    d = field_details(schema, parsed, expected)
    assert d["label"]["confusion"] == {'"a"': {'"a"': 2}, '"b"': {'"a"': 1, "(invalid)": 1}}
    assert d["name"]["exact"] == 0.0 and d["name"]["normalised"] == 0.25  # only "ann  lee!" ~ "Ann Lee"
    assert d["name"]["invented"] == 0.5  # expected null twice; "Zed" invented, the invalid answer not
    assert d["name"]["missed"] == 0.5  # expected a value twice; got None for "Bob"
    # tags: tp = x + x = 2, fp = q = 1, fn = y + z = 2
    assert math.isclose(d["tags"]["precision"], 2 / 3) and math.isclose(d["tags"]["recall"], 0.5)
    assert math.isclose(d["tags"]["f1"], 2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
