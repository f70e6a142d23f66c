"""Chat JSONL in the OpenAI fine-tuning format: ``{"messages": [system?, user, assistant], ...}``.

Every row is validated when read; a bad row raises :class:`DataError` naming its file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lorakit.errors import DataError
from lorakit.io import iter_jsonl

ROLES = {"system", "user", "assistant"}


@dataclass
class ChatExample:
    messages: list[dict]
    category: str = "all"
    line: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def source_line(self) -> int:
        """The row's line in the user's own file (kept through ``data prepare``), else its line here."""
        return self.extra.get("source_line", self.line)

    @property
    def system(self) -> str | None:
        return self.messages[0]["content"] if self.messages[0]["role"] == "system" else None

    @property
    def user(self) -> str:
        return [m for m in self.messages if m["role"] == "user"][-1]["content"]

    @property
    def answer(self) -> str:
        return self.messages[-1]["content"]

    def prompt_messages(self, system: str | None) -> list[dict]:
        """The conversation up to the answer, with ``system`` replacing the file's system message."""
        head = [m for m in self.messages[:-1] if m["role"] != "system"]
        return ([{"role": "system", "content": system}] if system else []) + head


def _validate(obj: dict, path: str, line: int) -> ChatExample:
    msgs = obj.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise DataError('missing "messages" (a non-empty list of {"role", "content"} objects)', path=path, line=line)
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise DataError(
                f'messages[{i}] must be {{"role": one of {sorted(ROLES)}, "content": string}}', path=path, line=line
            )
    if msgs[-1]["role"] != "assistant":
        raise DataError("the last message must be the assistant's answer", path=path, line=line)
    if not any(m["role"] == "user" for m in msgs):
        raise DataError("no user message", path=path, line=line)
    category = obj.get("category", "all")
    extra = {k: v for k, v in obj.items() if k not in ("messages", "category")}
    return ChatExample(messages=msgs, category=str(category), line=line, extra=extra)


def load_chat_jsonl(path: str | Path, limit: int | None = None) -> list[ChatExample]:
    out = []
    for line, obj in iter_jsonl(path):
        out.append(_validate(obj, str(path), line))
        if limit is not None and len(out) >= limit:
            break
    if not out:
        raise DataError("no examples found", path=str(path))
    return out


def to_row(system: str, user: str, answer: str, category: str) -> dict:
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user},
                {"role": "assistant", "content": answer}]
    return {"messages": messages, "category": category}
