"""Grammar-constrained decoding: whatever the model, every answer validates against the schema."""

from __future__ import annotations

import json

from jsonschema import Draft202012Validator

from lorakit.generation.constrained import capped_schema, compile_schema
from lorakit.generation.generate import generate

SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["label", "ok", "note", "tags", "n"],
    "properties": {
        "label": {"enum": ["refund", "other"]},
        "ok": {"type": "boolean"},
        "note": {"type": ["string", "null"], "maxLength": 6},
        "tags": {"type": "array", "items": {"enum": ["x", "y"]}, "maxItems": 2},
        "n": {"type": "integer", "minimum": 0, "maximum": 99},
    },
}


def test_capped_schema_bounds_every_free_string_and_array():
    capped = capped_schema({"type": "object", "properties": {"s": {"type": "string"}, "e": {"enum": ["a"]},
                                                              "a": {"type": "array", "items": {"type": "string"}}}})
    props = capped["properties"]
    assert props["s"]["maxLength"] == 200 and props["a"]["maxItems"] == 32 and props["a"]["items"]["maxLength"] == 200
    assert "maxLength" not in props["e"]


def test_random_tiny_model_always_produces_valid_compact_json(tiny_model_dir):
    from lorakit.models import load_model

    model, tok, _ = load_model(tiny_model_dir)  # random weights: free decoding gives newlines, never JSON
    convs = [[{"role": "user", "content": f"message {i}"}] for i in range(6)]
    free = generate(model, tok, convs, batch_size=3, max_new_tokens=16)
    assert not any(o.strip().startswith("{") for o in free)
    out = generate(model, tok, convs, batch_size=3, max_new_tokens=120, grammar=compile_schema(SCHEMA))
    validator = Draft202012Validator(SCHEMA)
    for text in out:
        obj = json.loads(text)
        assert not list(validator.iter_errors(obj)), text
        assert list(obj) == ["label", "ok", "note", "tags", "n"]  # schema order
        assert text == json.dumps(obj, ensure_ascii=False, separators=(",", ":"))  # compact, no free whitespace


def test_support_ticket_schema_compiles():
    from lorakit.data.tasks import get_task

    assert compile_schema(get_task("support_ticket").schema)
