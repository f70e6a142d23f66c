"""Aggregating a scorer's per-item verdicts: means over the items a metric applies to, by category, flips.

A task's scorer makes the verdicts: JSON tasks get the schema scorer of
:mod:`lorakit.data.tasks.json_metrics`, text tasks their own.
"""

from __future__ import annotations

from collections import defaultdict


def per_item(verdicts: list[dict]) -> dict[str, list]:
    """Each metric's per-item values (bool, float, or None where it does not apply), keyed like :func:`aggregate`."""
    names = list(verdicts[0]["scores"]) if verdicts else []
    return {m: [v["scores"].get(m) for v in verdicts] for m in names}


def aggregate(verdicts: list[dict]) -> dict:
    """Mean of every metric over the items it applies to (headline metrics, ``field:<path>``, ...)."""
    n = len(verdicts)
    if n == 0:
        return {"n": 0}
    out: dict[str, float | None] = {"n": n}
    for m, values in per_item(verdicts).items():
        known = [float(x) for x in values if x is not None]
        out[m] = sum(known) / len(known) if known else None
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
