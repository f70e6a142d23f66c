"""Preference data: ``{prompt, chosen, rejected}`` rows, validated like SFT data (file, line, field).

The formats of TRL's preference trainers (DPO, ORPO, KTO-paired), so a file made for TRL loads here:

- standard: ``{"prompt": "...", "chosen": "...", "rejected": "..."}``;
- conversational: ``{"prompt": [{"role", "content"}, ...], "chosen": [{"role": "assistant", ...}],
  "rejected": [...]}`` (``messages`` is accepted for ``prompt``);
- implicit prompt: ``chosen`` and ``rejected`` are whole conversations that share everything but the
  last (assistant) turn.

Every row becomes :class:`PreferencePair` (the prompt as messages, the two answers as text); a row
whose chosen and rejected answers are the same teaches nothing and is a bad row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lorakit.data.chat import ROLES
from lorakit.data.formats import MAX_SHOWN, _records, read_text
from lorakit.errors import DataError


@dataclass
class PreferencePair:
    prompt: list[dict]  # the conversation up to the answer
    chosen: str
    rejected: str
    line: int = 0
    extra: dict = field(default_factory=dict)  # e.g. the error type of a mined pair


def _messages(value, what: str) -> list[dict]:
    if isinstance(value, str):
        if not value.strip():
            raise ValueError(f'field "{what}": empty')
        return [{"role": "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise ValueError(f'field "{what}": a string or a non-empty list of {{"role", "content"}} messages')
    for i, m in enumerate(value):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise ValueError(f'field "{what}"[{i}]: must be {{"role": one of {sorted(ROLES)}, "content": string}}')
    return value


def _answer(value, what: str) -> str:
    if isinstance(value, str):
        return value
    msgs = _messages(value, what)
    if msgs[-1]["role"] != "assistant":
        raise ValueError(f'field "{what}": the last message must be the assistant\'s answer')
    return msgs[-1]["content"]


def to_pair(row: dict) -> PreferencePair:
    """One row as a :class:`PreferencePair`; ValueError naming the field otherwise."""
    for key in ("chosen", "rejected"):
        if key not in row:
            raise ValueError(f'field "{key}": missing')
    prompt = row.get("prompt", row.get("messages"))
    if prompt is None:  # implicit prompt: the shared head of the two conversations
        chosen, rejected = _messages(row["chosen"], "chosen"), _messages(row["rejected"], "rejected")
        if chosen[:-1] != rejected[:-1] or len(chosen) < 2:
            raise ValueError('no "prompt", and "chosen" and "rejected" do not share a conversation before the answer')
        prompt = chosen[:-1]
    else:
        prompt = _messages(prompt, "prompt")
    pair = PreferencePair(prompt=prompt, chosen=_answer(row["chosen"], "chosen"),
                          rejected=_answer(row["rejected"], "rejected"),
                          extra={k: v for k, v in row.items() if k not in ("prompt", "messages", "chosen", "rejected")})
    if pair.chosen == pair.rejected:
        raise ValueError('"chosen" and "rejected" are the same answer: the pair teaches nothing')
    return pair


def load_preferences(path: str | Path, *, skip_bad: bool = False, encoding: str = "utf-8") -> list[PreferencePair]:
    """Every row of a JSONL / JSON-list preference file; one DataError lists every bad row (unless ``skip_bad``)."""
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found; check the path", path=str(path))
    pairs, bad = [], []
    records = list(_records(path, read_text(path, encoding)))
    for line, row, error in records:
        try:
            if error is not None:
                raise ValueError(error)
            pair = to_pair(row)
        except ValueError as e:
            bad.append(str(DataError(str(e), path=str(path), line=line)))
            continue
        pair.line = line
        pairs.append(pair)
    if bad and not skip_bad:
        shown = "\n  ".join(bad[:MAX_SHOWN]) + (f"\n  ... and {len(bad) - MAX_SHOWN} more" if len(bad) > MAX_SHOWN else "")
        raise DataError(f"{len(bad)} bad preference row(s) of {len(records)}; fix them or skip them:\n  {shown}",
                        path=str(path))
    if not pairs:
        raise DataError(f"no usable preference rows ({len(bad)} bad)", path=str(path))
    return pairs
