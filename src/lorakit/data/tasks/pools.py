"""Helpers for task generators: phrase pools split between train and eval."""

from __future__ import annotations


def split_pool(pool: list, split: str) -> list:
    """Every fourth item goes to eval, the rest to train: disjoint, deterministic, both varied."""
    if split == "eval":
        return [x for i, x in enumerate(pool) if i % 4 == 3]
    return [x for i, x in enumerate(pool) if i % 4 != 3]
