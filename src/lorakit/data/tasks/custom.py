"""User-defined tasks: a JSON Schema file or a pydantic model, plus the user's labelled chat JSONL.

``data.task: path/to/schema.json`` or ``data.task: my_pkg.models:Ticket`` (a pydantic model) makes
a task with no generator: set ``data.train_file`` and ``data.eval_file``. The schema is normalised
for the metrics (local ``$ref`` inlined, ``anyOf [X, null]`` turned into a nullable ``X``) so the
field metrics (confusion tables, invented/missed values, set F1) come out of any such schema.
"""

from __future__ import annotations

import copy
import importlib
import json
from pathlib import Path

from lorakit.data.tasks.base import Task
from lorakit.errors import ConfigError


def looks_custom(name: str) -> bool:
    return name.endswith(".json") or ":" in name


def normalise_schema(schema: dict) -> dict:
    """Inline local ``$ref`` s and fold ``anyOf: [X, {"type": "null"}]`` into a nullable X."""
    defs = schema.get("$defs", {}) | schema.get("definitions", {})

    def visit(node, depth=0):
        if depth > 32:
            raise ConfigError("the task schema nests $ref deeper than 32 levels (recursive?); lorakit needs a finite schema")
        if isinstance(node, list):
            return [visit(x, depth) for x in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            ref = node["$ref"]
            name = ref.rsplit("/", 1)[-1]
            if not ref.startswith("#/") or name not in defs:
                raise ConfigError(f"the task schema uses $ref {ref!r}, which lorakit cannot resolve; inline it")
            merged = {**copy.deepcopy(defs[name]), **{k: v for k, v in node.items() if k != "$ref"}}
            return visit(merged, depth + 1)
        out = {k: visit(v, depth) for k, v in node.items() if k not in ("$defs", "definitions")}
        options = out.get("anyOf")
        if isinstance(options, list) and len(options) == 2 and {"type": "null"} in options:
            other = next(o for o in options if o != {"type": "null"})
            types = other.get("type")
            if isinstance(types, str) or "enum" in other:
                del out["anyOf"]
                out.update(other)
                if "enum" in other:
                    out["enum"] = list(other["enum"]) + [None]
                else:
                    out["type"] = [types, "null"]
        return out

    return visit(schema)


def _load_schema(name: str) -> tuple[str, dict]:
    if name.endswith(".json"):
        path = Path(name)
        if not path.is_file():
            raise ConfigError(f"data.task: schema file {path} not found")
        try:
            return path.stem, json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ConfigError(f"data.task: {path} is not valid JSON ({e.msg}, line {e.lineno})") from None
    module, _, attr = name.partition(":")
    try:
        model = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"data.task: cannot import {name!r} ({e}); use 'package.module:ModelClass'") from None
    if not hasattr(model, "model_json_schema"):
        raise ConfigError(f"data.task: {name!r} is not a pydantic model (it has no model_json_schema())")
    return attr, model.model_json_schema()


def _no_generator(n: int, split: str, seed: int):
    raise ConfigError("a task defined by a schema has no data generator; set data.train_file and data.eval_file")


def custom_task(name: str) -> Task:
    title, raw = _load_schema(name)
    schema = normalise_schema(raw)
    if schema.get("type") != "object" or "properties" not in schema:
        raise ConfigError(f"data.task: the schema of {name!r} must describe an object with properties")
    prompt = f"Convert the message into {title} JSON."
    full = (f"Convert the message into one JSON object and output nothing else. Keys in this order, "
            f"following this JSON Schema:\n{json.dumps(raw, ensure_ascii=False)}")
    return Task(name=title, schema=schema, train_prompt=prompt, full_prompt=full, generate=_no_generator)
