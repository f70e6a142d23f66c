"""A lorakit task defined outside lorakit: unit conversion, with its own generator and its own metric.

The model reads a request ("How many metres is 3.5 km?") and answers with a number and a unit
("3500 m"). The metric recomputes nothing the model wrote; it compares value (within 0.5%) and
unit separately, so a right number in the wrong unit and a wrong number in the right unit are told
apart. Everything task-specific sits here; lorakit's core never names this task.

Use it with ``data.task: unit_convert:TASK`` (this folder on PYTHONPATH), or install this folder
(``pip install -e examples/custom_task``) and use ``data.task: unit_convert``: its pyproject.toml
declares the task in the ``lorakit.tasks`` entry-point group.
"""

from __future__ import annotations

import random
import re

from lorakit.data.tasks import Task

# unit -> (dimension, factor to the dimension's base unit)
UNITS = {
    "mm": ("length", 0.001), "cm": ("length", 0.01), "m": ("length", 1.0), "km": ("length", 1000.0),
    "g": ("mass", 0.001), "kg": ("mass", 1.0), "t": ("mass", 1000.0),
    "s": ("time", 1.0), "min": ("time", 60.0), "h": ("time", 3600.0),
}
NAMES = {"mm": "millimetres", "cm": "centimetres", "m": "metres", "km": "kilometres", "g": "grams",
         "kg": "kilograms", "t": "tonnes", "s": "seconds", "min": "minutes", "h": "hours"}
TRAIN_PHRASINGS = ["How many {to_name} is {value} {frm}?", "Convert {value} {frm} to {to}.",
                   "{value} {frm} in {to_name}?"]
EVAL_ONLY_PHRASINGS = ["Express {value} {frm} in {to}, please."]  # a phrasing never seen in training

TRAIN_PROMPT = "Convert the quantity. Answer with the number and the unit only."
FULL_PROMPT = ("You convert quantities between units. Reply with the converted number and the target unit "
               "symbol only, for example: 3500 m")


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def generate(n: int, split: str, seed: int) -> list[tuple[str, str, str]]:
    """``n`` rows of (request, answer, dimension); the eval split adds a phrasing training never shows."""
    rng = random.Random(f"{seed}-{split}")
    phrasings = TRAIN_PHRASINGS + (EVAL_ONLY_PHRASINGS if split == "eval" else [])
    rows = []
    for _ in range(n):
        frm = rng.choice(sorted(UNITS))
        dim = UNITS[frm][0]
        to = rng.choice([u for u in sorted(UNITS) if UNITS[u][0] == dim and u != frm])
        value = rng.choice([1, 2, 2.5, 3, 4, 5, 7.5, 10, 12, 15, 20, 45, 90, 120, 250, 500])
        result = value * UNITS[frm][1] / UNITS[to][1]
        msg = rng.choice(phrasings).format(value=_fmt(value), frm=frm, to=to, to_name=NAMES[to])
        rows.append((msg, f"{_fmt(result)} {to}", dim))
    return rows


ANSWER_RE = re.compile(r"^\s*(-?[\d.,]+(?:e-?\d+)?)\s*([a-z]+)\b", re.I)


class UnitScorer:
    """The task's own metric: value within 0.5% and unit, each scored on its own."""

    output = "text"
    focus = ["value_and_unit", "value_accuracy", "unit_accuracy", "format"]
    labels = {"value_and_unit": "right value and unit", "value_accuracy": "value within 0.5%",
              "unit_accuracy": "asked-for unit", "format": "format (number unit)"}

    def score(self, raw: str, expected: str, category: str = "all") -> dict:
        got, want = ANSWER_RE.match(raw.strip()), ANSWER_RE.match(expected)
        value_ok = unit_ok = False
        if got:
            try:
                value = float(got.group(1).replace(",", ""))
                value_ok = abs(value - float(want.group(1))) <= 0.005 * abs(float(want.group(1)))
            except ValueError:
                pass
            unit_ok = got.group(2) == want.group(2)
        scores = {"format": got is not None, "value_accuracy": value_ok, "unit_accuracy": unit_ok,
                  "value_and_unit": value_ok and unit_ok}
        return {"prediction": raw.strip(), "scores": scores, "exact_match": raw.strip() == expected}

    def grammars(self, categories: list[str], expected: list[str]) -> list[None]:
        return [None] * len(expected)  # free decoding only

    def details(self, verdicts: list[dict], expected: list[str]) -> dict:
        return {}


TASK = Task(
    name="unit_convert",
    schema={},
    train_prompt=TRAIN_PROMPT,
    full_prompt=FULL_PROMPT,
    generate=generate,
    output="text",
    make_scorer=lambda answers, categories: UnitScorer(),
)
