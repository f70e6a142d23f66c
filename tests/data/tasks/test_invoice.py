"""The invoice task: schema-valid, faithful, deterministic labels from disjoint train/eval pools."""

from __future__ import annotations

import math
import re

from jsonschema import Draft202012Validator

from lorakit.data.tasks import get_task
from lorakit.data.tasks.invoice.generator import CATEGORIES, ITEMS, VENDORS

TASK = get_task("invoice")


def test_labels_validate_and_are_faithful_to_the_message():
    validator = Draft202012Validator(TASK.schema)
    rows = TASK.generate(300, "train", 0) + TASK.generate(100, "eval", 0)
    for msg, label, cat in rows:
        assert not list(validator.iter_errors(label)), label
        assert label["vendor"] in msg
        assert label["invoice_number"] is None or label["invoice_number"] in msg
        for item in label["line_items"]:
            assert item["description"] in msg and str(item["quantity"]) in msg
        assert math.isclose(label["total"], sum(i["quantity"] * i["unit_price"] for i in label["line_items"]),
                            abs_tol=0.006)
        total_text = f"{label['total']:,.0f}" if label["currency"] == "JPY" else f"{label['total']:,.2f}"
        assert total_text in msg
        if label["date"]:
            y, m, d = (int(x) for x in label["date"].split("-"))
            assert str(y) in msg and re.search(rf"\b0?{d}\b", msg)
    assert {c for _, _, c in rows} == set(CATEGORIES)
    assert any(label["date"] is None for _, label, c in rows if c == "missing_fields")


def test_deterministic_and_eval_pools_are_disjoint_from_train():
    assert TASK.generate(20, "eval", 3) == TASK.generate(20, "eval", 3)
    train = TASK.generate(400, "train", 0)
    evals = TASK.generate(200, "eval", 0)
    vendors = lambda rows: {label["vendor"] for _, label, _ in rows}  # noqa: E731
    items = lambda rows: {i["description"] for _, label, _ in rows for i in label["line_items"]}  # noqa: E731
    assert not vendors(train) & vendors(evals) and vendors(train) | vendors(evals) <= set(VENDORS)
    assert not items(train) & items(evals) and items(train) | items(evals) <= set(ITEMS)


def test_the_task_renders_compact_json_in_schema_order():
    _, label, _ = TASK.generate(1, "eval", 0)[0]
    text = TASK.render_output(label)
    assert text.startswith('{"vendor":') and ", " not in text.replace(label["vendor"], "")
