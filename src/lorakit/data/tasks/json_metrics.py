"""JSON answers scored against the task's JSON Schema (the scorer every JSON task gets by default).

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


def leaf_paths(schema: dict) -> list[str]:
    """Dotted paths of the scalar fields of an object schema, in schema order."""
    return list(field_schemas(schema))


def field_schemas(schema: dict, prefix: str = "") -> dict[str, dict]:
    """The sub-schema of every leaf path (same order as :func:`leaf_paths`)."""
    out = {}
    for key, sub in schema.get("properties", {}).items():
        path = f"{prefix}{key}"
        if sub.get("type") == "object" and "properties" in sub:
            out.update(field_schemas(sub, path + "."))
        else:
            out[path] = sub
    return out


def field_kind(sub: dict) -> tuple[str, bool]:
    """``(kind, nullable)`` of a leaf schema; kind is enum, boolean, string, number, array or other."""
    types = sub.get("type", [])
    types = types if isinstance(types, list) else [types]
    enum = sub.get("enum")
    nullable = "null" in types or (enum is not None and None in enum)
    if enum is not None:
        return "enum", nullable
    for kind in ("boolean", "array", "string"):
        if kind in types:
            return kind, nullable
    if "number" in types or "integer" in types:
        return "number", nullable
    return "other", nullable


def normalise(value: Any) -> Any:
    """Case-, space- and punctuation-insensitive form of a string, for the normalised-match metric."""
    if not isinstance(value, str):
        return value
    return " ".join("".join(c for c in value.casefold() if c.isalnum() or c.isspace()).split())


def field_details(schema: dict, parsed: list[Any], expected: list[Any]) -> dict[str, dict]:
    """Per-field diagnostics chosen by the field's schema type, over all items.

    enum / boolean: a confusion table (expected -> got -> count; ``(invalid)`` when the answer did
    not parse or lacked the field). string: exact and normalised match. nullable: the rate of
    invented values (expected null, got a value) and of missed values (expected a value, got null).
    array: micro set precision, recall and F1.
    """
    out: dict[str, dict] = {}
    n = len(expected)
    for path, sub in field_schemas(schema).items():
        kind, nullable = field_kind(sub)
        got = [get_path(p, path) if p is not None else _MISSING for p in parsed]
        exp = [get_path(e, path) for e in expected]
        d: dict[str, Any] = {"kind": kind, "nullable": bool(nullable)}
        if kind in ("enum", "boolean"):
            table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            for e, g in zip(exp, got):
                table[json.dumps(e)][json.dumps(g) if g is not _MISSING else "(invalid)"] += 1
            d["confusion"] = {k: dict(v) for k, v in table.items()}
        if kind == "string" and n:
            d["exact"] = sum(e == g for e, g in zip(exp, got)) / n
            d["normalised"] = sum(g is not _MISSING and normalise(e) == normalise(g) for e, g in zip(exp, got)) / n
        if nullable:
            null_exp = [g for e, g in zip(exp, got) if e is None]
            val_exp = [g for e, g in zip(exp, got) if e is not None]
            d["invented"] = sum(g is not None and g is not _MISSING for g in null_exp) / len(null_exp) if null_exp else None
            d["missed"] = sum(g is None for g in val_exp) / len(val_exp) if val_exp else None
        if kind == "array":
            tp = fp = fn = 0
            for e, g in zip(exp, got):
                es = {json.dumps(x, sort_keys=True) for x in (e or [])}
                gs = {json.dumps(x, sort_keys=True) for x in (g if isinstance(g, list) else [])}
                tp, fp, fn = tp + len(es & gs), fp + len(gs - es), fn + len(es - gs)
            prec = tp / (tp + fp) if tp + fp else 0.0
            rec = tp / (tp + fn) if tp + fn else 0.0
            d.update(precision=prec, recall=rec, f1=2 * prec * rec / (prec + rec) if prec + rec else 0.0)
        out[path] = d
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

    output = "json"
    scope = "(an answer that is not JSON is wrong on every field)"
    labels = {"valid_json": "valid JSON", "schema_valid": "schema compliance", "key_order": "key order",
                     "exact_match": "exact match (all fields)"}

    def score(self, raw: str, expected: Any, category: str = "all") -> dict:
        parsed, error = parse_output(raw)
        valid = parsed is not None
        fields = {p: valid and get_path(parsed, p) == get_path(expected, p) for p in self.paths}
        schema_errors = [e.message for e in self.validator.iter_errors(parsed)] if valid else []
        verdict = {
            "parsed": parsed,
            "parse_error": error,
            "valid_json": valid,
            "schema_valid": valid and not schema_errors,
            "schema_errors": schema_errors[:5],
            "key_order": valid and key_order_ok(parsed, self.schema),
            "fields": fields,
            "exact_match": valid and parsed == expected,
        }
        verdict["scores"] = {m: verdict[m] for m in HEADLINE} | {f"field:{p}": ok for p, ok in fields.items()}
        return verdict

    def details(self, verdicts: list[dict], expected: list) -> dict:
        return field_details(self.schema, [v["parsed"] for v in verdicts], expected)

    @staticmethod
    def reward(verdict: dict, weights: dict[str, float] | None = None) -> float:
        """A verifiable reward in [0, 1]: not JSON 0; valid JSON 0.2, schema-valid +0.1, and 0.7 times the
        (weighted) share of fields equal to the label, so only an exactly right answer gets 1."""
        if not verdict["valid_json"]:
            return 0.0
        weights = weights or {}
        w = {p: weights.get(p, 1.0) for p in verdict["fields"]}
        total = sum(w.values())
        share = sum(w[p] for p, ok in verdict["fields"].items() if ok) / total if total else 1.0
        return 0.2 + 0.1 * verdict["schema_valid"] + 0.7 * share


HEADLINE = ("valid_json", "schema_valid", "key_order", "exact_match")
