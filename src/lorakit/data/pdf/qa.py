"""Offline Q/A synthesis from policy chunks (no LLM): answerable questions from the chunk's facts,
unanswerable ones about plausible details it lacks.

Answerable:
- a sentence with a number and a unit ("receive 25 working days of paid annual leave per calendar year")
  becomes "how many working days of paid annual leave do ... receive per calendar year?"-style
  questions by turning the number phrase into "how many <unit>", answered with that phrase;
- a time or date ("before 10:00", "by 31 March") becomes a "by when / by what time" question;
- a table cell becomes "What is the <column> for <row>?".
Unanswerable: questions about details policies often have but this chunk does not mention (accrual
rates, approval chains, notice periods, ...), kept only when the chunk has none of their keywords;
their answer is exactly :data:`REFUSAL`.

Every row keeps its chunk id, heading path and top-level section (the split unit).
"""

from __future__ import annotations

import random
import re

REFUSAL = "Not specified in the provided excerpt."
NUMBER_UNIT = re.compile(
    r"\b(?:up to |at least |more than )?(\d+(?:\.\d+)?)\s+((?:working |calendar |consecutive |separate |paid |"
    r"additional |fully paid )*(?:days?|weeks?|months?|years?|blocks?))\b", re.IGNORECASE)
TIME = re.compile(r"\b(?:before|by|until|after)\s+(\d{1,2}:\d{2}|\d{1,2}\s+(?:January|February|March|April|May|June|"
                  r"July|August|September|October|November|December)|(?:January|February|March|April|May|June|July|"
                  r"August|September|October|November|December)\s+\d{4})\b")
UNANSWERABLE = [  # (question about TOPIC, keywords whose presence would make it answerable)
    ("What is the monthly accrual rate for {topic}?", ("accru",)),
    ("Who must approve {topic} requests above the standard limit?", ("approv", "approval")),
    ("How much notice must an employee give before taking {topic}?", ("notice", "advance", "notif")),
    ("Is {topic} paid at the full salary rate or a reduced rate?", ("salary", "rate", "paid")),
    ("Can unused {topic} be paid out when an employee leaves the company?", ("paid out", "leav", "termination")),
    ("Does {topic} apply to employees still in their probation period?", ("probation",)),
    ("How is {topic} handled when it falls on a public holiday?", ("holiday",)),
    ("Which form must be completed to request {topic}?", ("form", "system", "leavetrack")),
]


def _sentences(text: str) -> list[str]:
    parts = (re.sub(r"^[-*•]\s+", "", s.strip()) for s in re.split(r"(?<=[.!?])\s+|\n", text))
    return [s for s in parts if len(s.split()) >= 5 and "=" not in s]  # "a, b = c": a serialised table row


def _topic(headings: list[str]) -> str:
    last = next((h for h in reversed(headings) if re.match(r"^\d", h)), headings[-1] if headings else "this leave")
    return re.sub(r"^\d+(?:\.\d+)*\.?\s+", "", last).lower()


def number_questions(sentence: str) -> list[tuple[str, str]]:
    out = []
    for m in NUMBER_UNIT.finditer(sentence):
        unit = m.group(2)
        unit = unit if unit.endswith("s") or float(m.group(1)) != 1 else unit + "s"
        stem = sentence[:m.start()] + "how many " + (unit if unit.endswith("s") else unit + "s") + sentence[m.end():]
        out.append((f"According to the policy: {stem.rstrip('.')}?", m.group(0)))
    for m in TIME.finditer(sentence):
        stem = sentence[:m.start()] + m.group(0).split()[0] + " when" + sentence[m.end():]
        out.append((f"According to the policy: {stem.rstrip('.')}?", m.group(1)))
    return out


def table_questions(text: str) -> list[tuple[str, str]]:
    rows = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in text.splitlines()
            if ln.strip().startswith("|") and "---" not in ln]
    if len(rows) < 2:
        return []
    head = rows[0]
    return [(f"What is the {head[j].lower()} for {r[0].lower()}?", r[j])
            for r in rows[1:] for j in range(1, min(len(head), len(r))) if r[j]]


def synthesize(chunks: list[dict], blocks_by_chunk: dict[str, list[str]] | None = None, *, seed: int = 0,
               unanswerable_share: float = 0.3) -> list[dict]:
    """Q/A rows ``{question, answer, answerable, chunk_id, context, headings, section}`` for ``chunks``.

    ``blocks_by_chunk`` may supply table Markdown per chunk (the chunker serialises tables in its own
    form); about ``unanswerable_share`` of the rows are unanswerable.
    """
    rng = random.Random(seed)
    rows: list[dict] = []
    for c in chunks:
        base = {"chunk_id": c["id"], "context": c["text"], "headings": c["headings"], "section": c["section"]}
        answerable = [qa for s in _sentences(c["text"]) for qa in number_questions(s)]
        for table in (blocks_by_chunk or {}).get(c["id"], []):
            answerable += table_questions(table)
        rows += [{**base, "question": q, "answer": a, "answerable": True} for q, a in answerable]
        lowered = c["text"].lower()
        candidates = [t.format(topic=_topic(c["headings"])) for t, keys in UNANSWERABLE
                      if not any(k in lowered for k in keys)]
        want = max(1, round(len(answerable) * unanswerable_share / (1 - unanswerable_share))) if answerable else 1
        rng.shuffle(candidates)
        rows += [{**base, "question": q, "answer": REFUSAL, "answerable": False} for q in candidates[:want]]
    return rows
