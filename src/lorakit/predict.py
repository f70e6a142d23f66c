"""``lorakit predict RUN_DIR``: messages in (stdin or a file), answers out, one line each, for shell pipelines.

Each input line is a plain message, or a JSON object with ``messages`` (a chat) or ``input``.
The tuned model answers with its training system prompt; for a JSON task the output line is the
answer's JSON (compact), for a text task ``{"answer": ...}``; an answer that is not valid JSON
becomes ``{"error": ..., "raw": ...}`` so a pipeline never receives a broken line.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from lorakit.errors import DataError

logger = logging.getLogger("lorakit")


def _conversation(line: str, lineno: int, system: str | None) -> list[dict]:
    text = line.strip()
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(f"input line looks like JSON but is not ({e.msg})", path="<input>", line=lineno) from None
        if isinstance(obj.get("messages"), list):
            msgs = list(obj["messages"])
            if msgs and isinstance(msgs[-1], dict) and msgs[-1].get("role") == "assistant":
                msgs = msgs[:-1]  # a chat row with its expected answer: answer it afresh
            if not all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in msgs) or not msgs:
                raise DataError('"messages" must be a non-empty list of {"role", "content"}', path="<input>",
                                line=lineno)
            msgs = [m for m in msgs if m.get("role") != "system"]  # the run's own system prompt applies
            return ([{"role": "system", "content": system}] if system else []) + msgs
        if isinstance(obj.get("input"), str):
            text = obj["input"]
        else:
            raise DataError('a JSON input line needs "messages" or "input"', path="<input>", line=lineno)
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": text}]


def predict(run_dir: str | Path, lines: Iterable[str], *, constrained: bool = False, batch_size: int = 16,
            max_new_tokens: int | None = None, device: str = "auto") -> Iterator[str]:
    """Answer every non-blank line of ``lines``; yields one output line per input line, in order.

    ``device``: where the model runs (auto: cuda when present), not where it was trained."""
    from lorakit.data.tasks import get_task
    from lorakit.generation.generate import generate
    from lorakit.eval.runner import load_trained

    from lorakit.models.head import Classifier

    cfg, model, tok, system = load_trained(run_dir, device)
    task = get_task(cfg.data.task)
    system = system if system is not None else (task.train_prompt or None)
    grammar, head = None, isinstance(model, Classifier)
    if head:
        logger.info("%s answers with its classification head (%d labels)", run_dir, len(model.labels))
    elif constrained and task.response_schema is not None:
        from lorakit.generation.constrained import compile_schema

        grammar = compile_schema(task.response_schema)
    elif constrained:
        logger.warning("--constrained: task %s has no JSON Schema to hold answers to; answering unconstrained", task.name)
    pending: list[list[dict]] = []

    def flush():
        if head:  # one forward pass per batch: the most probable label
            answers = model.classify(pending, batch_size=batch_size)
        else:
            answers = generate(model, tok, pending, batch_size=batch_size, grammar=grammar,
                               max_new_tokens=max_new_tokens or cfg.eval.max_new_tokens)
        pending.clear()
        for a in answers:
            yield json.dumps(task.format_prediction(a), ensure_ascii=False)

    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        pending.append(_conversation(line, lineno, system))
        if len(pending) >= batch_size:
            yield from flush()
    if pending:
        yield from flush()
