"""Offline Q/A synthesis from policy chunks (no LLM): answerable questions from the chunk's facts,
unanswerable ones about plausible details it lacks.

Answerable:
- a sentence with a number and a unit ("receive 25 working days of paid annual leave per calendar year")
  becomes "how many working days of paid annual leave do ... receive per calendar year?"-style
  questions by turning the number phrase into "how many <unit>", answered with that phrase;
- likewise money ("EUR 25 per month": "how much"), percentages ("what percentage"), times and dates
  ("before 10:00": "before when"), named systems ("in the LeaveTrack system": "in which system") and
  roles ("approved by the line manager": "by whom");
- a must/may rule becomes a yes/no question ("Personal software may not be installed ..." -> "May
  personal software be installed ...?" "No"), a definition "How is X classified?";
- a table cell becomes "What is the <column> for <row>?" (from Markdown, or the chunker's
  ``row, column = value`` serialisation).
Unanswerable: questions about details policies often have but this chunk does not mention (accrual
rates, approval chains, notice periods, ...), kept only when the chunk has none of their keywords;
their answer is exactly :data:`REFUSAL`.

Every row keeps its chunk id, heading path and top-level section (the split unit).
"""

from __future__ import annotations

import random
import re

REFUSAL = "Not specified in the provided excerpt."
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
NUMBER_UNIT = re.compile(
    r"\b(?:up to |at least |at most |more than )?(\d+(?:[.,]\d+)*)\s+((?:working |calendar |consecutive |separate |"
    r"paid |additional |fully paid |failed login |trained )*(?:days?|weeks?|months?|years?|blocks?|hours?|minutes?|"
    r"characters|attempts|GB|employees|times|first aiders?))\b", re.IGNORECASE)
MONEY = re.compile(r"\b(?:up to )?EUR \d+(?:[.,]\d+)*(?: per (?:km|month|person))?")
PERCENT = re.compile(r"\b(?:up to )?\d+(?:\.\d+)? percent\b")
TIME = re.compile(rf"\b(?:before|by|until|after)\s+(\d{{1,2}}:\d{{2}}|\d{{1,2}}\s+(?:{_MONTHS})|(?:{_MONTHS})\s+\d{{4}})\b")
SYSTEM = re.compile(r"\b(?:the )?([A-Z][a-z]+[A-Z][A-Za-z]+)(?: (?:system|portal|platform|repository))?")
ROLES = ("line manager", "HR business partner", "department head", "Compliance Officer", "Chief People Officer",
         "Security Operations Centre")
ROLE = re.compile(r"\b(?:[Tt]he |[Tt]heir )?(" + "|".join(ROLES) + r")\b")
TRIPLE = re.compile(r"(?:^|[.|]\s*)([A-Z][^,.|=\n]{2,40}), ([^,.|=\n]{2,30}) = ([^|=\n]+?)(?=\.\s|\.$|\s*\|)")
UNANSWERABLE = [  # (question about TOPIC, keywords whose presence would make it answerable)
    ("What is the monthly accrual rate for {topic}?", ("accru",)),
    ("Who must approve exceptions to the {topic} rules?", ("approv", "approval")),
    ("How much notice must an employee give before {topic} starts?", ("notice", "advance", "notif")),
    ("Is {topic} paid at the full salary rate or a reduced rate?", ("salary", "rate", "paid")),
    ("Does the {topic} policy apply to contractors?", ("contractor",)),
    ("Does the {topic} policy apply to employees still in their probation period?", ("probation",)),
    ("How is {topic} handled when it falls on a public holiday?", ("holiday",)),
    ("Which form must be completed for {topic}?", ("form", "system", "portal", "platform")),
    ("How often is the {topic} policy reviewed?", ("review", "every")),
    ("What happens if an employee breaks the {topic} rules?", ("breach", "disciplin", "warning", "dismiss")),
    ("Is there a different {topic} rule for part-time employees?", ("part-time", "pro-rata")),
    ("What is the maximum amount that can be claimed for {topic}?", ("eur", "claim")),
    ("Which country's law applies to {topic}?", ("law", "country")),
    ("Who is the contact person for questions about {topic}?", ("contact", "hr ")),
]


def _sentences(text: str) -> list[str]:
    parts = (re.sub(r"^[-*•]\s+", "", s.strip()) for s in re.split(r"(?<=[.!?])\s+|\n", text))
    return [s for s in parts if len(s.split()) >= 5 and "=" not in s]  # "a, b = c": a serialised table row


def _topic(headings: list[str]) -> str:
    last = next((h for h in reversed(headings) if re.match(r"^\d", h)), headings[-1] if headings else "this leave")
    return re.sub(r"^\d+(?:\.\d+)*\.?\s+", "", last).lower()


def _ask(sentence: str, m: re.Match, span: tuple[int, int], wh: str) -> str:
    stem = (sentence[:span[0]] + wh + sentence[span[1]:]) if span[0] else wh.capitalize() + sentence[span[1]:]
    return f"According to the policy: {stem.rstrip('.')}?"


def number_questions(sentence: str) -> list[tuple[str, str]]:
    """"how many <unit>", "how much", "what percentage", "by when", "which system" and "whom" questions."""
    out = []
    for m in NUMBER_UNIT.finditer(sentence):
        unit = m.group(2)
        unit = unit if unit.endswith("s") or unit.upper() == "GB" else unit + "s"
        out.append((_ask(sentence, m, m.span(), "how many " + unit), m.group(0)))
    for m in MONEY.finditer(sentence):
        out.append((_ask(sentence, m, m.span(), "how much"), m.group(0)))
    for m in PERCENT.finditer(sentence):
        out.append((_ask(sentence, m, m.span(), "what percentage"), m.group(0)))
    for m in TIME.finditer(sentence):
        out.append((_ask(sentence, m, m.span(), m.group(0).split()[0] + " when"), m.group(1)))
    for m in SYSTEM.finditer(sentence):
        out.append((_ask(sentence, m, m.span(), "which system"), m.group(1)))
    for m in ROLE.finditer(sentence):
        out.append((_ask(sentence, m, m.span(), "whom" if m.start() else "who"), m.group(1)))
    return out


RULE = re.compile(r"^(?P<subj>[A-Z][^,;:]{3,80}?) (?P<modal>must not|may not|may never|cannot|must|may|can) "
                  r"(?P<rest>be [^;]{3,150}|[a-z][^;]{3,150})\.$")
DEFINITION = re.compile(r"^(?P<subj>[A-Z][^,;:]{3,80}?) (?P<verb>is|are) (?P<how>classified|defined) as (?P<what>.{3,150})\.$")


def _lower_first(text: str) -> str:
    first = text.split()[0]
    keep = len(first) > 1 and (first.isupper() or any(c.isupper() for c in first[1:]))  # "HR", "LeaveTrack"
    return text if keep else text[0].lower() + text[1:]


def rule_questions(sentence: str) -> list[tuple[str, str]]:
    """Must/may rules as yes/no questions, definitions as "how is X classified" questions.

    "Personal software may not be installed on company laptops." -> "May personal software be installed
    on company laptops?" "No". A rule that names a role also gives a "No" question with another role in
    its place ("... notify their line manager" -> "... notify their department head?"), so "Yes" is
    not the answer to every rule question. Rules of two clauses ("... and is recorded ...") are skipped.
    """
    out = []
    m = RULE.match(sentence)
    if m and not re.search(r"\band (?:is|are|must|may|can|will)\b", m.group("rest")):
        modal = m.group("modal")
        ask = "Can" if modal in ("can", "cannot") else modal.split()[0].capitalize()
        question = f"{ask} {_lower_first(m.group('subj'))} {m.group('rest')}?"
        negated = modal in ("must not", "may not", "may never", "cannot")
        out.append((question, "No" if negated else "Yes"))
        role = ROLE.search(question)
        if role and not negated:
            other = ROLES[(ROLES.index(role.group(1)) + 1 + len(question) % (len(ROLES) - 1)) % len(ROLES)]
            out.append((question[:role.start(1)] + other + question[role.end(1):], "No"))
    m = DEFINITION.match(sentence)
    if m:
        out.append((f"How {m.group('verb')} {_lower_first(m.group('subj'))} {m.group('how')}?", m.group("what")))
    return out


def table_questions(text: str) -> list[tuple[str, str]]:
    """"What is the <column> for <row>?" from Markdown tables or the chunker's ``row, column = value`` form."""
    rows = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in text.splitlines()
            if ln.strip().startswith("|") and "---" not in ln and "=" not in ln and ln.strip() != "| - |"]
    out = []
    if len(rows) >= 2:
        head = rows[0]
        out += [(f"What is the {head[j].lower()} for {r[0].lower()}?", r[j])
                for r in rows[1:] for j in range(1, min(len(head), len(r))) if r[j]]
    for m in TRIPLE.finditer(text):
        row, column, value = (g.strip() for g in m.groups())
        out.append((f"What is the {column.lower()} for {row.lower()}?", value))
    return out


def chunk_fields(chunk: dict) -> dict:
    """What every Q/A row carries of its chunk (offline or teacher-written): the gate and the split need it."""
    return {"chunk_id": chunk["id"], "context": chunk["text"], "headings": chunk["headings"],
            "section": chunk["section"]}


def synthesize(chunks: list[dict], *, seed: int = 0, unanswerable_share: float = 0.3) -> list[dict]:
    """Q/A rows ``{question, answer, answerable, chunk_id, context, headings, section}`` for ``chunks``;
    about ``unanswerable_share`` of them are unanswerable."""
    rng = random.Random(seed)
    rows: list[dict] = []
    for c in chunks:
        base = chunk_fields(c)
        answerable = [qa for s in _sentences(c["text"]) for qa in number_questions(s) + rule_questions(s)]
        answerable += table_questions(c["text"])
        rows += [{**base, "question": q, "answer": a, "answerable": True} for q, a in answerable]
        lowered = c["text"].lower()
        candidates = [t.format(topic=_topic(c["headings"])) for t, keys in UNANSWERABLE
                      if not any(k in lowered for k in keys)]
        want = max(1, round(len(answerable) * unanswerable_share / (1 - unanswerable_share))) if answerable else 1
        rng.shuffle(candidates)
        rows += [{**base, "question": q, "answer": REFUSAL, "answerable": False} for q in candidates[:want]]
    return rows
