"""Your own questions about the PDFs (``data.options.questions``), scored instead of the synthesized eval split.

A question file is JSONL, one question per line, written the way the document's readers ask::

    {"question": "Where do lock files for serial devices go?", "answer": "/var/lock", "section": "5.9",
     "evidence": "must now be stored in /var/lock"}
    {"question": "What is the maximum size of /tmp?", "answer": null, "section": "3.18"}
    {"question": "What is crond's PID file called?", "answer": "/run/crond.pid", "section": "3.15",
     "shown_with": "5.9"}

- ``answer`` a short span of the document (or ``Yes`` / ``No``); ``null``: the document does not say
  (unanswerable, expected: the refusal);
- ``section`` the numbered section that holds the answer (for an unanswerable question: the section it is
  about), matched against the chunks' heading paths ("5.9" matches "5.9. /var/lock : Lock files" and its
  subsections);
- ``evidence`` (optional, default ``answer``) text of that section that holds the answer: the excerpt is
  the section's chunk that contains it;
- ``shown_with`` (optional) a section whose excerpt lacks the answer: the question is asked with that
  excerpt and the refusal is expected (wrong excerpt); left out, and said, in closed-book mode.

Every problem in the file (bad line, unknown section, evidence found in no chunk) is reported at once,
with its line; no question is dropped.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from lorakit.data.pdf.dataset import user_message
from lorakit.data.pdf.qa import REFUSAL
from lorakit.data.tasks.text_metrics import normalize_answer
from lorakit.errors import DataError

logger = logging.getLogger("lorakit")

KEYS = {"question", "answer", "section", "evidence", "shown_with"}


def _in_section(chunk: dict, section: str) -> bool:
    return any(h.split(" ", 1)[0].rstrip(".") == section or h.startswith(section + ".") for h in chunk["headings"])


def _holds(chunk: dict, text: str) -> bool:
    hay = normalize_answer(" ".join(chunk["headings"]) + " " + chunk["text"])
    return normalize_answer(text) in hay


def _best(chunks: list[dict], question: str) -> dict:
    """The chunk of ``chunks`` a reader of ``question`` would be shown: the best BM25 match among them."""
    from lorakit.data.pdf.retrieve import DocumentIndex

    return DocumentIndex(chunks).search(question, 1)[0]


def _row(obj: dict, chunks: list[dict], grounded: bool) -> tuple[str, str, str] | None:
    bad = set(obj) - KEYS
    if bad:
        raise ValueError(f"unknown key(s) {', '.join(sorted(bad))} (allowed: {', '.join(sorted(KEYS))})")
    if not isinstance(obj.get("question"), str) or not obj["question"].strip():
        raise ValueError('"question" must be a non-empty string')
    if not isinstance(obj.get("section"), str):
        raise ValueError('"section" must be a section number such as "5.9"')
    own = [c for c in chunks if _in_section(c, obj["section"])]
    if not own:
        raise ValueError(f"no chunk has section {obj['section']!r} in its heading path")
    q, answer = obj["question"].strip(), obj.get("answer")
    if answer is None:
        return user_message(q, [_best(own, q)] if grounded else None), REFUSAL, "unanswerable"
    evidence = obj.get("evidence") or answer
    holding = [c for c in own if _holds(c, evidence)]
    if not holding:
        raise ValueError(f"no chunk of section {obj['section']} holds {evidence!r} (give \"evidence\": text of the "
                         "section that holds the answer)")
    if obj.get("shown_with") is None:
        return user_message(q, [_best(holding, q)] if grounded else None), answer, "answerable"
    if not grounded:
        return None  # closed book shows no excerpt, so no wrong one
    other = [c for c in chunks if _in_section(c, obj["shown_with"]) and not _holds(c, answer)]
    if not other:
        raise ValueError(f"section {obj['shown_with']!r} has no chunk that lacks the answer {answer!r}")
    return user_message(q, [_best(other, q)]), REFUSAL, "wrong_excerpt"


def question_rows(path: str | Path, chunks: list[dict], *, grounded: bool = True) -> list[tuple[str, str, str]]:
    """``(user message, expected answer, category)`` for every question of ``path``, in file order."""
    path = Path(path)
    rows, problems, skipped = [], [], 0
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise DataError(f"cannot read the question file: {e}", path=str(path)) from None
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("a line must be a JSON object")
            row = _row(obj, chunks, grounded)
            if row is None:
                skipped += 1
            else:
                rows.append(row)
        except (ValueError, json.JSONDecodeError) as e:
            problems.append(f"{path}:{n}: {e}")
    if problems:
        raise DataError(f"{len(problems)} problem(s) in the question file; nothing was dropped, fix them:\n  "
                        + "\n  ".join(problems))
    if skipped:
        logger.warning("%s: %d wrong-excerpt question(s) (\"shown_with\") left out: closed-book mode shows no excerpt",
                       path, skipped)
    if not rows:
        raise DataError("the question file holds no question", path=str(path))
    return rows
