"""Rewards for ``train.method: grpo``: the task's own scorer, or a user's function, as a verifiable reward.

A scorer that checks every answer against its label (JSON fields, recomputed numbers, refusals) is a
reward that needs no reward model. The trainer (a layer below this one) receives the callable built
here from the pipeline, so it never imports the eval layer.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from lorakit.data.chat import ChatExample
from lorakit.errors import ConfigError
from lorakit.eval.runner import expected_answers, make_scorer

Reward = Callable[[ChatExample, str], float]


def user_reward(spec: str) -> Callable:
    """``package.module:function``, called as ``function(answer, expected, item) -> float``."""
    module, _, name = spec.partition(":")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as e:
        raise ConfigError(f"train.grpo.reward={spec!r} cannot be imported ({e}); give package.module:function, "
                          "a function (answer: str, expected: str, item: dict) -> float on the Python path") from None
    if not callable(fn):
        raise ConfigError(f"train.grpo.reward={spec!r} is not a function")
    return fn


def make_reward(task, items: list[ChatExample], source: Path, *, spec: str | None = None,
                weights: dict[str, float] | None = None) -> Reward:
    """``reward(item, answer)``: the user's function when ``spec`` is given, else the task's scorer's reward.

    ``item`` is a row of ``source`` (found by its line), as the trainer reads it.
    """
    if spec:
        fn = user_reward(spec)
        return lambda ex, answer: float(fn(answer, ex.answer, {"messages": ex.messages, "category": ex.category,
                                                               **ex.extra}))
    expected = expected_answers(items, source, task)
    scorer = make_scorer(task, items, expected)
    if not hasattr(scorer, "reward"):
        raise ConfigError(f"task {task.name}'s scorer has no reward(verdict) method; give train.grpo.reward="
                          "package.module:function")
    by_line = {ex.line: exp for ex, exp in zip(items, expected)}  # the item's line in ``source``

    def reward(ex: ChatExample, answer: str) -> float:
        return float(scorer.reward(scorer.score(answer, by_line[ex.line], ex.category), weights))

    return reward
