"""Bring your own data: instruction datasets in the common formats, detected by content.

=====================  ==================================================  ===================
format                 fields of a row                                      files
=====================  ==================================================  ===================
``chat``               ``messages``: [{role, content}, ...]                  JSONL, JSON list
``alpaca``             ``instruction``, ``input`` (optional), ``output``     JSONL, JSON list
``instruction``        ``instruction``, ``response``                         JSONL, JSON list
``prompt_completion``  ``prompt``, ``completion``                            JSONL, JSON list
``csv``                columns named like one of the above, or mapped        .csv / .tsv
=====================  ==================================================  ===================

Every row may also carry ``system`` (a system prompt) and ``category`` (a tag; metrics are
reported per tag). :func:`load_examples` validates every row and reports file, line and field
for each bad one; with ``skip_bad`` it drops them and counts them instead of stopping. The
result is always :class:`~lorakit.data.chat.ChatExample` s, so training and evaluation see one
shape whatever the source format.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lorakit.data.chat import ChatExample, _validate
from lorakit.errors import DataError

# format -> (required fields, optional fields); the user turn and the answer are built from them
FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "chat": (("messages",), ()),
    "alpaca": (("instruction", "output"), ("input",)),
    "instruction": (("instruction", "response"), ()),
    "prompt_completion": (("prompt", "completion"), ()),
}
FORMATS = tuple(FIELDS) + ("csv",)
MAX_SHOWN = 20  # bad rows listed in one error message


@dataclass
class Loaded:
    examples: list[ChatExample]
    format: str
    rows: int  # rows read (good and bad)
    bad: list[str] = field(default_factory=list)  # "path:line: field: problem" for every bad row

    @property
    def skipped(self) -> int:
        return len(self.bad)


def _records(path: Path, columns: dict[str, str] | None) -> Iterator[tuple[int, dict | None, str | None]]:
    """``(line, row, error)`` for every row: JSONL, a JSON list, or CSV/TSV (line = the row's line in the file)."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        yield from _csv_records(path, "\t" if suffix == ".tsv" else ",", columns)
        return
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(f"invalid JSON list ({e.msg} at line {e.lineno}, column {e.colno})", path=str(path)) from None
        for i, row in enumerate(rows, start=1):  # a JSON list has no line per row: the row's index stands in
            yield i, row if isinstance(row, dict) else None, None if isinstance(row, dict) else (
                f"expected a JSON object, got {type(row).__name__}")
        return
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield lineno, None, f"invalid JSON ({e.msg} at column {e.colno})"
            continue
        yield lineno, obj if isinstance(obj, dict) else None, None if isinstance(obj, dict) else (
            f"expected a JSON object, got {type(obj).__name__}")


def _csv_records(path: Path, delimiter: str, columns: dict[str, str] | None):
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        if not reader.fieldnames:
            raise DataError("empty CSV file (no header row)", path=str(path))
        if columns:
            missing = [c for c in columns.values() if c not in reader.fieldnames]
            if missing:
                raise DataError(f"columns {missing} not in the header {reader.fieldnames}", path=str(path), line=1)
        start = 2
        for row in reader:
            if None in row:  # more cells than header columns
                yield start, None, f"{len(reader.fieldnames) + len(row[None])} cells, the header has {len(reader.fieldnames)}"
            else:
                yield start, {k: (row[v] if v in row else None) for k, v in columns.items()} if columns else row, None
            start = reader.line_num + 1


def detect_format(keys: set[str]) -> list[str]:
    """The formats whose required fields a row has (several: ambiguous; none: unknown)."""
    return [name for name, (required, _) in FIELDS.items() if set(required) <= keys]


def _choose_format(path: Path, records: list[tuple[int, dict | None, str | None]]) -> str:
    seen: dict[str, list[int]] = {}
    for line, row, _ in records[:200]:
        if row is None:
            continue
        found = detect_format(set(row))
        if len(found) > 1:
            raise DataError(f"ambiguous row: it has the fields of {' and '.join(found)}; keep one set or pass "
                            f"--format (one of {', '.join(FIELDS)})", path=str(path), line=line)
        if found:
            seen.setdefault(found[0], []).append(line)
    if not seen:
        hint = "; ".join(f"{k}: {' + '.join(v[0])}" for k, v in FIELDS.items())
        raise DataError(f"no known instruction format in the first rows (expected fields: {hint}); "
                        "see docs/data-formats.md, or map CSV columns with data.columns", path=str(path))
    if len(seen) > 1:
        parts = ", ".join(f"{k} (first at line {v[0]}, {len(v)} rows)" for k, v in seen.items())
        raise DataError(f"ambiguous file: rows in several formats: {parts}; split it or pass --format", path=str(path))
    return next(iter(seen))


def _text(row: dict, key: str, required: bool) -> str:
    value = row.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ValueError(f'field "{key}": {"missing" if value is None else "must be a string, got " + type(value).__name__}')
    if required and not value.strip():
        raise ValueError(f'field "{key}": empty')
    return value


def to_chat(row: dict, fmt: str, path: str, line: int, system: str | None = None) -> ChatExample:
    """One row of ``fmt`` as a chat example; raises DataError naming the file, line and field."""
    if fmt == "chat":
        return _validate(row, path, line)
    try:
        if fmt == "alpaca":
            instruction, extra = _text(row, "instruction", True), _text(row, "input", False)
            user, answer = instruction + (f"\n\n{extra}" if extra.strip() else ""), _text(row, "output", True)
        elif fmt == "instruction":
            user, answer = _text(row, "instruction", True), _text(row, "response", True)
        else:
            user, answer = _text(row, "prompt", True), _text(row, "completion", True)
        sys_prompt = _text(row, "system", False) or system
    except ValueError as e:
        raise DataError(str(e), path=path, line=line) from None
    messages = ([{"role": "system", "content": sys_prompt}] if sys_prompt else []) + [
        {"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    category = row.get("category") or row.get("tag") or "all"
    return ChatExample(messages=messages, category=str(category), line=line)


def load_examples(path: str | Path, fmt: str = "auto", *, skip_bad: bool = False, system: str | None = None,
                  columns: dict[str, str] | None = None) -> Loaded:
    """Read an instruction dataset in any supported format as chat examples.

    ``fmt`` ``auto`` detects the format from the rows' fields (an error names the lines when a
    file mixes formats). Every row is validated; unless ``skip_bad``, any bad row raises one
    DataError listing every bad row (file, line, field). ``columns`` maps a format's field names
    to CSV column names, e.g. ``{"prompt": "question", "completion": "answer"}``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found; check the path in your config or command line", path=str(path))
    if fmt not in ("auto",) + FORMATS:
        raise DataError(f"unknown format {fmt!r}; one of: auto, {', '.join(FORMATS)}", path=str(path))
    records = list(_records(path, columns))
    if fmt in ("auto", "csv"):
        fmt = _choose_format(path, records)
    examples, bad = [], []
    for line, row, error in records:
        try:
            if error is not None:
                raise DataError(error, path=str(path), line=line)
            examples.append(to_chat(row, fmt, str(path), line, system))
        except DataError as e:
            bad.append(str(e))
    if bad and not skip_bad:
        shown = "\n  ".join(bad[:MAX_SHOWN]) + (f"\n  ... and {len(bad) - MAX_SHOWN} more" if len(bad) > MAX_SHOWN else "")
        raise DataError(f"{len(bad)} bad row(s) of {len(records)} (format {fmt}); fix them or pass --skip-bad "
                        f"(data.skip_bad: true) to drop and count them:\n  {shown}", path=str(path))
    if not examples:
        raise DataError(f"no usable rows ({len(bad)} bad)", path=str(path))
    return Loaded(examples=examples, format=fmt, rows=len(records), bad=bad)
