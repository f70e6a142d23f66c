"""Bring your own data: instruction datasets in the common formats, detected by content.

=====================  ==================================================  ===================
format                 fields of a row                                      files
=====================  ==================================================  ===================
``chat``               ``messages``: [{role, content}, ...]                  JSONL, JSON list
``sharegpt``           ``conversations``: [{from, value}, ...]               JSONL, JSON list
``alpaca``             ``instruction``, ``input`` (optional), ``output``     JSONL, JSON list
``instruction``        ``instruction``, ``response``                         JSONL, JSON list
``prompt_completion``  ``prompt``, ``completion``                            JSONL, JSON list
``csv``                columns named like one of the above, or mapped        .csv / .tsv
=====================  ==================================================  ===================

Rows in none of these shapes load too when they hold one common pair (``question``/``answer``,
``input``/``output``, ``text``/``label``, ``query``/``response``, ...; :data:`PAIRS`), or when
``columns`` maps the fields (every file type; a dotted path reaches into nested objects and lists:
``prompt=data.question``, ``messages=conversation``). Numbers, booleans, lists and objects where
text is expected load as their JSON text (``"label": 3`` -> ``"3"``), counted in the log.

Every row may also carry ``system`` (a system prompt), ``category`` (a tag; metrics are
reported per tag) and ``id`` (kept as ``source_id`` and used to name the row's predictions).
:func:`load_examples` validates every row and reports file, line and field for each bad one;
with ``skip_bad`` it drops them and counts them instead of stopping. The result is always
:class:`~lorakit.data.chat.ChatExample` s, so training and evaluation see one shape whatever the
source format.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lorakit.data.chat import ChatExample, _validate
from lorakit.errors import DataError

logger = logging.getLogger(__name__)

# format -> (required fields, optional fields); the user turn and the answer are built from them
FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "chat": (("messages",), ()),
    "sharegpt": (("conversations",), ()),
    "alpaca": (("instruction", "output"), ("input",)),
    "instruction": (("instruction", "response"), ()),
    "prompt_completion": (("prompt", "completion"), ()),
}
FORMATS = tuple(FIELDS) + ("csv",)
# common (user turn, answer) field pairs outside the formats above: a file whose rows hold exactly one of them
# loads as prompt/completion without a column map
PAIRS: tuple[tuple[str, str], ...] = (
    ("question", "answer"), ("input", "output"), ("text", "label"), ("query", "response"), ("prompt", "response"),
    ("question", "response"), ("query", "answer"), ("instruction", "answer"), ("source", "target"))
META = ("system", "category", "tag", "id")  # fields every format may carry
MAPPABLE = tuple(dict.fromkeys(f for req, opt in FIELDS.values() for f in req + opt)) + META
SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "model": "assistant",
                  "bot": "assistant", "system": "system"}
MAX_SHOWN = 20  # bad rows listed in one error message


@dataclass
class Loaded:
    examples: list[ChatExample]
    format: str
    rows: int  # rows read (good and bad)
    bad: list[str] = field(default_factory=list)  # "path:line: field: problem" for every bad row
    columns: dict[str, str] | None = None  # the field map used (given, or detected from a common pair)
    converted: int = 0  # rows where a number / list / object stood where text was expected (loaded as JSON text)

    @property
    def skipped(self) -> int:
        return len(self.bad)


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """The file's text; a byte the encoding cannot decode is a DataError naming the line and how to fix it."""
    raw = path.read_bytes()
    try:
        text = raw.decode(encoding)
    except LookupError:
        raise DataError(f"unknown encoding {encoding!r} (data.encoding / --encoding); e.g. utf-8, cp1252, latin-1",
                        path=str(path)) from None
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise DataError(f"not {encoding} text: byte 0x{raw[e.start]:02x} cannot be decoded ({e.reason}). Save the file "
                        f"as UTF-8 (e.g. `iconv -f cp1252 -t utf-8 {path.name} > utf8_{path.name}`) or name its "
                        "encoding with data.encoding / --encoding (e.g. cp1252, latin-1)", path=str(path),
                        line=line) from None
    return text.removeprefix("\ufeff")  # a byte-order mark (Excel's "CSV UTF-8") is not part of the first field


def _records(path: Path, text: str) -> Iterator[tuple[int, dict | None, str | None]]:
    """``(line, row, error)`` for every row: JSONL, a JSON list, or CSV/TSV (line = the row's line in the file)."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        yield from _csv_records(path, text, "\t" if suffix == ".tsv" else ",")
        return
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


def _csv_records(path: Path, text: str, delimiter: str):
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    if not reader.fieldnames:
        raise DataError("empty CSV file (no header row)", path=str(path))
    start = 2
    for row in reader:
        if None in row:  # more cells than header columns
            yield start, None, f"{len(reader.fieldnames) + len(row[None])} cells, the header has {len(reader.fieldnames)}"
        else:
            yield start, row, None
        start = reader.line_num + 1


def _pick(row, dotted: str):
    """``row``'s value at a dotted path (``data.question``, ``turns.0.text``); KeyError when absent. A key that
    itself holds dots (a CSV column ``answer.text``) is taken as it is."""
    if isinstance(row, dict) and dotted in row:
        return row[dotted]
    cur = row
    for part in dotted.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.lstrip("-").isdigit() and -len(cur) <= int(part) < len(cur):
            cur = cur[int(part)]
        else:
            raise KeyError(dotted)
    return cur


def _check_columns(path: Path, columns: dict[str, str], first: dict | None, is_csv: bool) -> None:
    unknown = [k for k in columns if k not in MAPPABLE]
    if unknown:
        raise DataError(f"--column / data.columns maps {unknown}, which no format reads; map onto: "
                        f"{', '.join(MAPPABLE)} (e.g. --column prompt=question --column completion=answer)",
                        path=str(path))
    if is_csv and first is not None:
        missing = [c for c in columns.values() if c not in first]
        if missing:
            raise DataError(f"columns {missing} not in the header {list(first)}", path=str(path), line=1)


def _mapped(row: dict, columns: dict[str, str]) -> dict:
    """The row as the mapped format's fields (``columns``: format field -> the row's field or dotted path)."""
    out = {k: row[k] for k in META if k in row and k not in columns}
    for name, src in columns.items():
        try:
            out[name] = _pick(row, src)
        except KeyError:
            if name not in META and name != "input":  # optional fields may be absent
                raise ValueError(f'field "{src}" (mapped to {name}) not in the row; it has {sorted(row)}') from None
    return out


def detect_format(keys: set[str]) -> list[str]:
    """The formats whose required fields a row has (several: ambiguous; none: unknown)."""
    return [name for name, (required, _) in FIELDS.items() if set(required) <= keys]


def detect_pairs(keys: set[str]) -> list[tuple[str, str]]:
    """The common (user turn, answer) pairs of :data:`PAIRS` a row holds."""
    return [p for p in PAIRS if set(p) <= keys]


def _column_line(prompt: str, completion: str) -> str:
    return f"--column prompt={prompt} --column completion={completion}"


def _suggest(row: dict) -> str:
    """A ``--column`` line that would load ``row``: its first two non-meta fields, in order."""
    names = [k for k in row if k not in META]
    if len(names) < 2:
        return "map a user-turn field and an answer field with --column prompt=FIELD --column completion=FIELD"
    return f"if {names[0]} is the user turn and {names[1]} the answer: {_column_line(names[0], names[1])}"


def _choose_format(path: Path, records: list[tuple[int, dict | None, str | None]]) -> tuple[str, dict | None]:
    """``(format, columns)``: the one format (or common pair, as a prompt/completion map) the rows are in."""
    seen: dict[str, list[int]] = {}
    pairs: dict[str, tuple[str, str]] = {}
    for line, row, _ in records[:200]:
        if row is None:
            continue
        found = detect_format(set(row))
        if len(found) > 1:
            raise DataError(f"ambiguous row: it has the fields of {' and '.join(found)}; keep one set or pass "
                            f"--format (one of {', '.join(FIELDS)})", path=str(path), line=line)
        if not found:
            both = detect_pairs(set(row))
            if len(both) > 1:
                lines = "; or ".join(_column_line(*p) for p in both)
                raise DataError(f"ambiguous row: fields {sorted(row)} hold several question/answer pairs "
                                f"({', '.join('/'.join(p) for p in both)}); choose one with {lines}",
                                path=str(path), line=line)
            if both:
                pairs["/".join(both[0])] = both[0]
                found = ["/".join(both[0])]
        if found:
            seen.setdefault(found[0], []).append(line)
    if not seen:
        first = next(((line, row) for line, row, _ in records if row is not None), None)
        hint = "; ".join(f"{k}: {' + '.join(v[0])}" for k, v in FIELDS.items())
        fields = (f"the rows have the fields {list(first[1])}; {_suggest(first[1])}. " if first else "")
        raise DataError(f"no known instruction format in the first rows. {fields}Known formats: {hint}; common pairs: "
                        f"{', '.join('/'.join(p) for p in PAIRS)} (docs/data-formats.md)", path=str(path),
                        line=first[0] if first else None)
    if len(seen) > 1:
        parts = ", ".join(f"{k} (first at line {v[0]}, {len(v)} rows)" for k, v in seen.items())
        raise DataError(f"ambiguous file: rows in several formats: {parts}; split it or pass --format", path=str(path))
    name = next(iter(seen))
    if name in pairs:
        prompt, completion = pairs[name]
        logger.info("%s: fields %s and %s load as the prompt and the answer (another choice: %s)", path, prompt,
                    completion, _column_line("FIELD", "FIELD"))
        return "prompt_completion", {"prompt": prompt, "completion": completion}
    return name, None


def _text(row: dict, key: str, required: bool, converted: list[bool]) -> str:
    value = row.get(key)
    if value is None:
        if required:
            raise ValueError(f'field "{key}": missing')
        return ""
    if not isinstance(value, str):  # a label 3, a list of answers, a JSON object: their JSON text, counted
        value = json.dumps(value, ensure_ascii=False)
        converted.append(True)
    if required and not value.strip():
        raise ValueError(f'field "{key}": empty')
    return value


def _chat_row(row: dict, key: str) -> dict:
    """A chat or ShareGPT row as chat fields: ``{from, value}`` turns (human/gpt) become ``{role, content}``."""
    turns = row.get(key)
    if isinstance(turns, list):
        turns = [{"role": SHAREGPT_ROLES.get(str(t.get("from")).lower(), t.get("from")), "content": t.get("value")}
                 if isinstance(t, dict) and "from" in t and "role" not in t else t for t in turns]
    return {**{k: v for k, v in row.items() if k not in ("messages", "conversations")}, "messages": turns}


def to_chat(row: dict, fmt: str, path: str, line: int, system: str | None = None,
            converted: list[bool] | None = None) -> ChatExample:
    """One row of ``fmt`` as a chat example; raises DataError naming the file, line and field."""
    converted = [] if converted is None else converted
    if fmt in ("chat", "sharegpt"):
        ex = _validate(_chat_row(row, "messages" if fmt == "chat" else "conversations"), path, line)
        if "id" in ex.extra:
            ex.extra["source_id"] = ex.extra.pop("id")
        return ex
    try:
        if fmt == "alpaca":
            instruction, extra = _text(row, "instruction", True, converted), _text(row, "input", False, converted)
            user = instruction + (f"\n\n{extra}" if extra.strip() else "")
            answer = _text(row, "output", True, converted)
        elif fmt == "instruction":
            user, answer = _text(row, "instruction", True, converted), _text(row, "response", True, converted)
        else:
            user, answer = _text(row, "prompt", True, converted), _text(row, "completion", True, converted)
        sys_prompt = _text(row, "system", False, converted) or system
    except ValueError as e:
        raise DataError(str(e), path=path, line=line) from None
    messages = ([{"role": "system", "content": sys_prompt}] if sys_prompt else []) + [
        {"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    category = row.get("category") or row.get("tag") or "all"
    extra = {"source_id": row["id"]} if row.get("id") is not None else {}
    return ChatExample(messages=messages, category=str(category), line=line, extra=extra)


def load_examples(path: str | Path, fmt: str = "auto", *, skip_bad: bool = False, system: str | None = None,
                  columns: dict[str, str] | None = None, encoding: str = "utf-8") -> Loaded:
    """Read an instruction dataset in any supported format as chat examples.

    ``fmt`` ``auto`` detects the format from the rows' fields (an error names the lines when a
    file mixes formats). Every row is validated; unless ``skip_bad``, any bad row raises one
    DataError listing every bad row (file, line, field). ``columns`` maps a format's field names
    to the file's fields (a column, a key, or a dotted path), e.g. ``{"prompt": "question",
    "completion": "answer"}``, for every file type.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found; check the path in your config or command line", path=str(path))
    if fmt not in ("auto",) + FORMATS:
        raise DataError(f"unknown format {fmt!r}; one of: auto, {', '.join(FORMATS)}", path=str(path))
    records = list(_records(path, read_text(path, encoding)))
    if columns:
        _check_columns(path, columns, next((r for _, r, _ in records if r is not None), None),
                       path.suffix.lower() in (".csv", ".tsv"))
        records = [_map_record(rec, columns) for rec in records]
    if fmt in ("auto", "csv") and columns and len(detect_format(set(columns))) == 1:
        fmt = detect_format(set(columns))[0]  # the map names the format; rows that miss a mapped field are bad rows
    elif fmt in ("auto", "csv"):
        fmt, detected = _choose_format(path, records)
        if detected:
            columns = detected
            records = [_map_record(rec, columns) for rec in records]
    examples, bad, converted = [], [], 0
    for line, row, error in records:
        fields: list[bool] = []  # one entry per field of this row that was not text
        try:
            if error is not None:
                raise DataError(error, path=str(path), line=line)
            examples.append(to_chat(row, fmt, str(path), line, system, fields))
        except DataError as e:
            bad.append(str(e))
            continue
        converted += bool(fields)
    if converted:
        logger.info("%s: %d row(s) hold a number, list or object where text is expected; loaded as its JSON text "
                    "(e.g. 3 -> \"3\")", path, converted)
    if bad and not skip_bad:
        shown = "\n  ".join(bad[:MAX_SHOWN]) + (f"\n  ... and {len(bad) - MAX_SHOWN} more" if len(bad) > MAX_SHOWN else "")
        raise DataError(f"{len(bad)} bad row(s) of {len(records)} (format {fmt}); fix them or pass --skip-bad "
                        f"(data.skip_bad: true) to drop and count them:\n  {shown}", path=str(path))
    if bad:
        logger.warning("%s: %d bad row(s) of %d skipped (data.skip_bad); each is listed in dropped.jsonl", path,
                       len(bad), len(records))
    if not examples:
        raise DataError(f"no usable rows ({len(bad)} bad)", path=str(path))
    return Loaded(examples=examples, format=fmt, rows=len(records), bad=bad, columns=columns, converted=converted)


def _map_record(rec: tuple[int, dict | None, str | None], columns: dict[str, str]):
    line, row, error = rec
    if row is None:
        return rec
    try:
        return line, _mapped(row, columns), None
    except ValueError as e:
        return line, None, str(e)
