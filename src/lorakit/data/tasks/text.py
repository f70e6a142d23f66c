"""The generic free-text task, for your own instruction data (``data.task: text``).

No generator and no schema: answers are scored by exact match, token F1 and ROUGE-L, and any
part of the data whose answers come from a small closed set is detected and scored as
classification (see :mod:`lorakit.data.tasks.text_metrics`).
"""

from __future__ import annotations

from lorakit.data.tasks.base import Task
from lorakit.data.tasks.text_metrics import TextScorer, detect_labels


def _no_generator(n: int, split: str, seed: int):
    from lorakit.errors import ConfigError

    raise ConfigError("the text task has no data generator; set data.train_file (and optionally data.eval_file)")


TASK = Task(
    name="text",
    schema={},
    train_prompt="",  # your data's own system message, if any
    full_prompt="",
    generate=_no_generator,
    output="text",
    make_scorer=lambda answers, groups: TextScorer(detect_labels(answers, groups)),
)
