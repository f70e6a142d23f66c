"""User-defined tasks from a JSON Schema file or a pydantic model: metrics come from the schema."""

from __future__ import annotations

import json
from enum import Enum
from typing import Literal, Optional

import pytest
from pydantic import BaseModel

from lorakit.data.tasks import get_task
from lorakit.errors import ConfigError
from lorakit.data.tasks.json_metrics import field_kind, field_schemas, leaf_paths


class Color(str, Enum):
    red = "red"
    blue = "blue"


class Address(BaseModel):
    city: str
    zip: Optional[str] = None


class Shipment(BaseModel):
    carrier: Literal["dhl", "ups", "fedex"]
    color: Optional[Color] = None
    express: bool
    address: Address
    parcels: list[str]


def test_pydantic_model_becomes_a_task_with_typed_fields():
    task = get_task(f"{__name__}:Shipment")
    assert task.name == "Shipment"
    assert leaf_paths(task.schema) == ["carrier", "color", "express", "address.city", "address.zip", "parcels"]
    kinds = {p: field_kind(s) for p, s in field_schemas(task.schema).items()}
    assert kinds == {"carrier": ("enum", False), "color": ("enum", True), "express": ("boolean", False),
                     "address.city": ("string", False), "address.zip": ("string", True), "parcels": ("array", False)}
    with pytest.raises(ConfigError, match="no data generator"):
        task.generate(1, "train", 0)


def test_schema_file_task_and_clear_errors(tmp_path):
    path = tmp_path / "ticket.json"
    path.write_text(json.dumps(get_task("support_ticket").schema))
    task = get_task(str(path))
    assert task.name == "ticket" and leaf_paths(task.schema)[0] == "intent"
    with pytest.raises(ConfigError, match="not found"):
        get_task(str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(ConfigError, match="not valid JSON"):
        get_task(str(tmp_path / "bad.json"))
    with pytest.raises(ConfigError, match="cannot import"):
        get_task("no_such_module_xyz:Model")


def test_a_custom_schema_runs_through_eval(tiny_config, tmp_path):
    """The user's own schema + labelled files: the whole eval path, nothing task-specific."""
    from lorakit.eval.runner import evaluate
    from lorakit.data.ensure import ensure_data

    train_file, eval_file = ensure_data(tiny_config)  # support-ticket rows, used as "the user's labelled file"
    schema = tmp_path / "ticket.json"
    schema.write_text(json.dumps(get_task("support_ticket").schema))
    cfg = tiny_config.model_copy(update={
        "data": tiny_config.data.model_copy(update={"task": str(schema), "train_file": train_file,
                                                    "eval_file": eval_file}),
        "eval": tiny_config.eval.model_copy(update={"models": ["base"], "decoding": ["constrained"],
                                                    "max_new_tokens": 400}),  # room for every capped string
    })
    results = evaluate(cfg)
    arm = results["models"]["base+constrained"]
    assert results["task"] == "ticket" and arm["overall"]["schema_valid"] == 1.0
    assert set(arm["fields"]["intent"]["confusion"]) <= {json.dumps(v) for v in
                                                        ["refund", "cancel", "billing", "tech_support", "shipping", "other"]}
