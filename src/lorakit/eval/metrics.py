"""Structured-output metrics derived from the task's JSON Schema.

Every item is scored, and a non-JSON answer is wrong on every field: the headline numbers
are over all items, never over the parseable subset.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

_MISSING = object()


def parse_output(text: str) -> tuple[Any, str | None]:
    """Strictly parse a model's answer: the whole text (trimmed) must be one JSON object."""
    try:
        obj = json.loads(text.strip())
    except json.JSONDecodeError as e:
        return None, f"not JSON: {e.msg} at char {e.pos}"
    if not isinstance(obj, dict):
        return None, f"JSON {type(obj).__name__}, not an object"
    return obj, None


def leaf_paths(schema: dict, prefix: str = "") -> list[str]:
    """Dotted paths of the scalar fields of an object schema, in schema order."""
    out = []
    for key, sub in schema.get("properties", {}).items():
        path = f"{prefix}{key}"
        if sub.get("type") == "object" and "properties" in sub:
            out += leaf_paths(sub, path + ".")
        else:
            out.append(path)
    return out


def get_path(obj: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return _MISSING
        obj = obj[key]
    return obj


def key_order_ok(obj: Any, schema: dict) -> bool:
    """True when every object's keys are exactly the schema's properties, in the schema's order."""
    props = schema.get("properties")
    if props is None:
        return True
    if not isinstance(obj, dict) or list(obj) != list(props):
        return False
    return all(key_order_ok(obj[k], sub) for k, sub in props.items() if sub.get("type") == "object")


class Scorer:
    """Scores one answer against its expected object for a given schema."""

    def __init__(self, schema: dict):
        from jsonschema import Draft202012Validator

        self.schema = schema
        self.validator = Draft202012Validator(schema)
        self.paths = leaf_paths(schema)

    def score(self, raw: str, expected: Any) -> dict:
        parsed, error = parse_output(raw)
        valid = parsed is not None
        fields = {p: valid and get_path(parsed, p) == get_path(expected, p) for p in self.paths}
        schema_errors = [e.message for e in self.validator.iter_errors(parsed)] if valid else []
        return {
            "parsed": parsed,
            "parse_error": error,
            "valid_json": valid,
            "schema_valid": valid and not schema_errors,
            "schema_errors": schema_errors[:5],
            "key_order": valid and key_order_ok(parsed, self.schema),
            "fields": fields,
            "exact_match": valid and parsed == expected,
        }


HEADLINE = ("valid_json", "schema_valid", "key_order", "exact_match")


def aggregate(verdicts: list[dict]) -> dict:
    """Mean of every boolean metric over ``verdicts``: headline metrics plus ``field:<path>`` accuracies."""
    n = len(verdicts)
    if n == 0:
        return {"n": 0}
    out: dict[str, float] = {"n": n}
    for m in HEADLINE:
        out[m] = sum(bool(v[m]) for v in verdicts) / n
    for path in verdicts[0]["fields"]:
        out[f"field:{path}"] = sum(bool(v["fields"][path]) for v in verdicts) / n
    return out


def aggregate_by(verdicts: list[dict], keys: list[str]) -> dict[str, dict]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for v, k in zip(verdicts, keys):
        groups[k].append(v)
    return {k: aggregate(groups[k]) for k in sorted(groups)}


def flips(base: list[bool], tuned: list[bool], ids: list[str]) -> dict[str, list[str]]:
    """Items the tuned model fixed (base wrong, tuned right) and broke (base right, tuned wrong)."""
    return {
        "fixed": [i for i, b, t in zip(ids, base, tuned) if not b and t],
        "broken": [i for i, b, t in zip(ids, base, tuned) if b and not t],
    }
