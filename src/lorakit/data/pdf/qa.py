"""Offline Q/A synthesis from document chunks (no LLM): answerable questions from the chunk's facts,
unanswerable ones about attributes its subject does not have in it.

Nothing here knows the document's domain: every question comes from English syntax and the document's
own structure (its headings, its tables, the units, names and agents it uses), so a filesystem standard
gets questions about directories and a handbook questions about leave, from the same rules.

Answerable:
- a number with its unit ("receive 25 working days of paid annual leave per calendar year", "at most 14
  characters") becomes a "how many <unit>" question answered with that phrase; the unit is any plural
  noun or measurement unit the sentence uses; likewise money in a currency ("how much"), percentages
  ("what percentage"), times and dates ("by what time") and CamelCase names ("which system"); each asked
  the way a reader asks where the syntax allows ("Within how many months must overtime be taken?"), else
  in the sentence's own order;
- an agent after a verb of authority or reporting ("approved by their department head", "escalated to
  the HR business partner") becomes a "by whom" / "to whom" question;
- a must/may rule becomes a yes/no question ("Personal software may not be installed ..." -> "May
  personal software be installed ...?" "No"); a rule that names an agent also gives a "No" question
  with another agent of the same document in its place (and "Yes" questions are capped at twice the
  "No" ones, plus five); a definition becomes "How is X classified?";
- a requirement that puts something somewhere ("Lock files must now be stored in /var/lock.") becomes
  "Where must lock files be stored?"; "X contains Y" becomes "What does X contain?"; "X is used for Y"
  becomes "What is X used for?";
- a heading that says what its subject is for ("5.9. /var/lock : Lock files") becomes "What is
  /var/lock for?" (once per document);
- a table cell becomes "What is the <column> for <row>?" (from Markdown, or the chunker's
  ``row, column = value`` serialisation);
- and backwards, since readers mostly ask for the name: a path heading's description asks where ("Where are lock
  files kept?" "/var/lock"), and a name/description table whose columns the PDF's text lost ("Command Description
  cp Utility to copy files ...") asks which name ("Which command is used to copy files ...?" "cp").

Unanswerable: questions about attributes any subject can have (a limit, who is responsible, where it is
recorded, a deadline, a cost, what happens on a breach, ...), opened by varied question words (what, how,
who, where, which, when, are: with mostly "Who ...?" among them a model learns to refuse every who
question), asked about the chunk's own subject (its "X : description" heading, else its deepest numbered
heading of more than one word), kept only when the chunk has none of the attribute's keywords and no other
chunk asked it already (a long document's many small chunks of one section would otherwise ask the same few
questions again and again); a chunk that gave no answerable question gets one, as long as about
``unanswerable_share`` of all questions stay unanswerable. Their answer is exactly :data:`REFUSAL`.
Questions that belong to another chunk, shown with this one, are made later
(:func:`lorakit.data.pdf.dataset.split_rows`), and so are near misses (:func:`near_misses`: an answerable
question with one condition changed, asked with its own excerpt; ``data.options.near_miss_share``). ``lorakit run`` asks for none of the template ones by default
(``data.options.unanswerable_share: 0``): trained on them, the model refused real readers' answerable
questions of the same shape ("Where are accidents at work recorded?"); refusing is learned from other
chunks' questions instead (docs/policy-qa.md has the measurements).

Every row keeps its chunk id, heading path and top-level section (the split unit).
"""

from __future__ import annotations

import random
import re
from collections import Counter

REFUSAL = "Not specified in the provided excerpt."
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
# measurement units that are not plural nouns; every other unit is a plural noun ("days", "attempts", "aiders")
_UNITS = "GB|MB|KB|TB|kB|km|kg|byte|bit|day|week|month|year|hour|minute|second|character"
# words ending in "s" that are not plural nouns, and numbers that are references rather than quantities
_NOT_PLURAL = {"is", "was", "has", "does", "this", "its", "thus", "less", "unless", "across", "always", "plus",
               "yes", "perhaps", "whereas", "as", "us", "bus", "process", "access", "status", "class", "percents"}
NUMBER_UNIT = re.compile(
    r"(?<![\w.,/-])(?:up to |at least |at most |more than |fewer than |less than )?(\d+(?:[.,]\d+)*)\s+"
    rf"((?:[a-z][a-z-]+\s+){{0,2}}?(?:(?:{_UNITS})s?|[a-z][a-z-]{{2,}}s))\b")
_VERB_NEXT = re.compile(r" (?:a|an|the|its|their|this|these|those|his|her)\b")  # "process 1230 holds a lock"
_REFERENCE = re.compile(r"(?:section|chapter|version|page|figure|table|step|item|release|level|article|clause|"
                        r"part|appendix|rule|fhs|no\.?)\s*$", re.IGNORECASE)
MONEY = re.compile(r"\b(?:up to )?(?:(?:EUR|USD|GBP|CHF|JPY)\s?|[€$£])\d+(?:[.,]\d+)*(?: per [a-z]+)?")
PERCENT = re.compile(r"\b(?:up to )?\d+(?:\.\d+)?(?: percent\b|%)")
TIME = re.compile(rf"\b(?:before|by|until|after)\s+(\d{{1,2}}:\d{{2}}|\d{{1,2}}\s+(?:{_MONTHS})|(?:{_MONTHS})\s+\d{{4}})\b")
SYSTEM = re.compile(r"(?<![\w/.<>-])(?:the )?([A-Z][a-z]+[A-Z][A-Za-z]+)(?![\w/.<>-])"
                    r"(?: (?:system|portal|platform|repository|tool))?")
# an agent: who does something ("approved by their department head", "submitted in writing to the line manager",
# "the approval of the Compliance Officer") or is told ("notify the Security Operations Centre"): a noun phrase
# after such a verb whose head is a person or a body by its form (see :func:`is_agent`)
_DET = r"(?:the|their|your|his|her|its|a|an)"
AGENT = re.compile(
    r"\b(?P<verb>(?:[a-z]+ed|sent|given|run|led|made|kept|held|told)"
    r"(?: in writing| in advance| by phone| by email| in person)? "
    r"(?:by|to|with)|(?:approval|permission|consent|signature) of|notify|inform|contact|consult|tell) "
    rf"(?P<det>{_DET} )?(?P<agent>(?:[A-Za-z][\w-]* ){{0,3}}?[A-Za-z][\w-]*?)"
    r"(?=[.,;:?]|$| (?:at|within|before|after|by|in|on|if|and|or|for|when|who|that|which|of|about|with|as|every|"
    r"during|unless|once)\b)")
# heads of agent noun phrases: agent suffixes ("manager", "officer", "administrator", "first aiders", "employee",
# "department head") and the usual names of bodies; -er/-or words that name no one are listed in _NOT_AGENT
_AGENT_HEAD = re.compile(r"(?:[a-z]{2,}(?:er|or|ist|ee|ian)|head|team|desk|office|board|department|centre|center|staff|"
                         r"person|owner)s?", re.IGNORECASE)
_NOT_AGENT = {"same", "other", "following", "above", "below", "end", "rest", "use", "next", "first", "last", "way",
              "fact", "extent", "time", "case", "number", "order", "paper", "letter", "folder", "under", "after",
              "never", "however", "whether", "either", "neither", "further", "rather", "later", "filter", "buffer",
              "header", "footer", "border", "parameter", "character", "register", "computer", "container", "pointer",
              "counter", "layer", "error", "factor", "sector", "vector", "floor", "door", "colour", "color", "water",
              "power", "matter", "chapter", "quarter", "corner", "cover", "answer", "former", "latter", "upper",
              "lower", "inner", "outer", "manner", "identifier", "server", "printer", "driver", "loader", "compiler",
              "interpreter", "viewer", "editor", "processor", "monitor", "selector", "descriptor", "calendar",
              "partition", "directory", "fee", "degree", "free", "tree", "three", "guarantee", "coffee"}
TRIPLE = re.compile(r"(?:^|[.|]\s*)([A-Z][^,.|=\n]{2,40}), ([^,.|=\n]{2,30}) = ([^|=\n]+?)(?=\.\s|\.$|\s*\|)")
# (question about TOPIC, keywords whose presence would make it answerable): attributes any rule, object or
# process can have, in no domain's words; a question is kept for a chunk only when it has none of its keywords
UNANSWERABLE = [  # question words as varied as the answerable questions', or a model learns "Who ...?" -> refuse
    ("What is the maximum size allowed for {topic}?", ("size", "large", "maximum", "limit", "byte", "at most")),
    ("How long must {topic} be kept?", ("kept", "keep", "retain", "retention", "delete", "remov", "clear", "long")),
    ("Who is responsible for {topic}?", ("responsib", "maintain", "administrator", "owner", "manager", "officer")),
    ("Who must approve exceptions to {topic}?", ("approv", "exception", "except")),
    ("Are there exceptions to {topic}?", ("except", "unless", "only", "instead", "other than")),
    ("What is the deadline for {topic}?", ("deadline", "before", "until", "by the", "within", "advance")),
    ("How much does {topic} cost?", ("cost", "price", "eur", "fee", "$", "paid", "pay")),
    ("Where is {topic} recorded?", ("record", "system", "log", "stor", "regist", "kept", "locat", "where")),
    ("Which format must {topic} use?", ("format", "encod", "ascii", "form ", "template")),
    ("What happens if the rules on {topic} are not followed?", ("breach", "disciplin", "violat", "penalt", "fail",
                                                                  "sanction")),
    ("How many times a year is {topic} checked?", ("check", "audit", "inspect", "every", "year", "month")),
    ("When was {topic} introduced?", ("introduc", "since", "version", "history", "release", "19", "20")),
]


def _sentences(text: str) -> list[str]:
    parts = (re.sub(r"^[-*•]\s+", "", s.strip()) for s in re.split(r"(?<=[.!?])\s+|\n", text))
    return [s for s in parts if len(s.split()) >= 5 and "=" not in s]  # "a, b = c": a serialised table row


def _subject(heading: str) -> tuple[str, str | None]:
    """A numbered heading's subject and its description: "5.9. /var/lock : Lock files" -> ("/var/lock", "Lock
    files"); "4.2 Home office allowance" -> ("Home office allowance", None)."""
    name = re.sub(r"^\d+(?:\.\d+)*\.?\s+", "", heading).strip()
    subject, sep, desc = name.partition(" : ")
    desc = re.sub(r"\s*\((?:optional)\)$", "", desc).strip()
    return subject.strip(), (desc or None) if sep else None


def _described_heading(headings: list[str]) -> tuple[str, str] | None:
    """The deepest numbered heading that says what its subject is, as (subject, description): "5.9. /var/lock :
    Lock files" -> ("/var/lock", "Lock files"); None where no heading does."""
    described = [sd for h in headings if re.match(r"^\d", h) for sd in [_subject(h)] if sd[1] is not None]
    return described[-1] if described else None


def _topic(headings: list[str]) -> str:
    """What a chunk is about: the deepest numbered heading that says what its subject is ("5.9. /var/lock : Lock
    files" -> "/var/lock"), else the deepest of more than one word (a one-word heading such as "Purpose" names
    the part of a section, not its subject: its parent's is used)."""
    numbered = [h for h in headings if re.match(r"^\d", h)]
    if described := _described_heading(headings):
        return _lower_first(described[0])
    for h in reversed(numbered):
        subject, _ = _subject(h)
        if len(subject.split()) > 1:
            return _lower_first(subject)
    titles = [h for h in headings if not re.match(r"^\d", h)]  # "1.1. Purpose" of a document: the document's title
    if titles:
        return _lower_first(titles[0])
    return _lower_first(_subject(numbered[-1])[0]) if numbered else "this topic"


_AUX = re.compile(r"\b(must|may|can|should|shall|will|would|could|is|are|was|were|has|have)\b")
_PREP = {"in", "on", "at", "for", "through", "within", "to", "by", "from", "under", "after", "before", "during", "per",
         "into", "with", "via"}
_CLAUSE = _PREP | {"and", "or", "if", "when", "which", "that", "who", "must", "may", "is", "are", "can", "should",
                   "will", "unless", "but"}


def _ask(sentence: str, span: tuple[int, int], wh: str) -> str:
    """A question asking for ``span`` of ``sentence`` with the question phrase ``wh``: fronted the way a reader
    asks when the syntax allows it ("Overtime must be taken within 3 months." -> "Within how many months must
    overtime be taken?"), else in place ("... receive how many days ...?")."""
    fronted = _front(sentence, span, wh)
    if fronted:
        return fronted
    stem = (sentence[:span[0]] + wh + sentence[span[1]:]) if span[0] else wh.capitalize() + sentence[span[1]:]
    stem = stem.rstrip(".:;, ")
    return stem[0].upper() + stem[1:] + "?"


def _front(sentence: str, span: tuple[int, int], wh: str) -> str | None:
    """``wh`` moved to the front: a preposition before the span goes with it ("within how many months"), an
    "of" phrase after a quantity too ("how many days of paid leave"); the subject and the last auxiliary
    before the span swap ("must overtime be taken"), or a plain present verb gets "do"/"does" ("do full-time
    employees receive"). None where that is not safe: a comma or a negation before the span, an auxiliary of a
    relative clause ("commands that may be used by"), a second clause after it, a past verb, no subject."""
    before, after = sentence[:span[0]].split(), sentence[span[1]:].rstrip(" .;:")
    if not before or re.search(r",\s", sentence[:span[0]]) \
            or re.search(r"\b(?:and|but|or) (?:is|are|must|may|can|will)\b", after):
        return None  # a clause before or after the fact: moving it out would garble the sentence
    if before[-1].lower() in _PREP:
        wh, before = f"{before[-1].lower()} {wh}", before[:-1]
    if "how many" in wh and after.startswith(" of "):
        of = []
        for w in after[4:].split():
            if w.lower() in _CLAUSE or not re.fullmatch(r"[\w-]+", w):
                break
            of.append(w)
        if of:
            wh, after = f"{wh} of {' '.join(of)}", after[4 + len(" ".join(of)):]
    head = " ".join(before)
    aux = list(_AUX.finditer(head))
    if aux:
        a = aux[-1]
        subj, rest = head[:a.start()].strip(), head[a.end():].strip()
        if not subj or rest.startswith("not ") or rest == "not" or subj.split()[-1].lower() in ("that", "which", "who"):
            return None
        q = f"{wh} {a.group(1)} {_lower_first(subj)}" + (f" {rest}" if rest else "") + after
    else:
        verb = before[-1]
        if len(before) < 2 or not verb.isalpha() or not verb.islower() or verb in _CLAUSE or verb.endswith("ed"):
            return None
        plural = not verb.endswith("s") or verb.endswith("ss")
        base = verb if plural else verb[:-2] if verb.endswith(("ches", "shes", "xes", "sses")) else verb[:-1]
        q = f"{wh} {'do' if plural else 'does'} {_lower_first(' '.join(before[:-1]))} {base}" + after
    if q.startswith("whom "):
        q = "who " + q[5:]  # how readers ask: "Who must employees notify ...?"
    return q[0].upper() + q[1:] + "?"


def number_questions(sentence: str) -> list[tuple[str, str]]:
    """"how many <unit>", "how much", "what percentage", "by what time" and "which system" questions."""
    out = []
    for m in NUMBER_UNIT.finditer(sentence):
        unit = m.group(2)
        last = unit.split()[-1]
        if last.lower() in _NOT_PLURAL or _REFERENCE.search(sentence[:m.start()]) or set(unit.split()) & _PREP or \
                re.search(r"(?:EUR|USD|GBP|CHF|JPY|[€$£])\s?$", sentence[:m.start()]) or \
                re.fullmatch(r"(?:19|20)\d\d", m.group(1)) or _VERB_NEXT.match(sentence, m.end()):
            continue
        unit = unit if last.endswith("s") or last.isupper() else unit + "s"
        out.append((_ask(sentence, m.span(), "how many " + unit), m.group(0)))
    for m in MONEY.finditer(sentence):
        out.append((_ask(sentence, m.span(), "how much"), m.group(0)))
    for m in PERCENT.finditer(sentence):
        out.append((_ask(sentence, m.span(), "what percentage"), m.group(0)))
    for m in TIME.finditer(sentence):
        word, kind = m.group(0).split()[0], "time" if ":" in m.group(1) else "date"
        out.append((_ask(sentence, m.span(), f"{'after' if word == 'after' else 'by'} what {kind}"), m.group(1)))
    for m in SYSTEM.finditer(sentence):
        out.append((_ask(sentence, m.span(), "which system"), m.group(1)))
    return out


_NOT_IN_AGENT = {"the", "a", "an", "both", "and", "or", "all", "any", "each", "this", "that", "these", "those"}


def is_agent(phrase: str) -> bool:
    """Whether a noun phrase names a person or a body by its form: a Capitalised name of two or more words
    ("Compliance Officer", "Security Operations Centre") or an agent head ("line manager", "department head",
    "records custodian")."""
    words = phrase.split()
    if not words or re.search(r"\d", phrase) or {w.lower() for w in words} & (_NOT_AGENT | _NOT_IN_AGENT):
        return False
    if len(words) >= 2 and all(w[:1].isupper() for w in words):
        return True
    last = words[-1].lower()
    return bool(_AGENT_HEAD.fullmatch(last)) and last.rstrip("s") not in _NOT_AGENT


def agents(sentence: str) -> list[re.Match]:
    """The agents a sentence names after a verb of authority or reporting (at most four words; with a
    determiner unless a Capitalised name)."""
    return [m for m in AGENT.finditer(sentence) if is_agent(m.group("agent"))
            and (m.group("det") or all(w[:1].isupper() for w in m.group("agent").split()))]  # "by developer or ..."


def agent_questions(sentence: str) -> list[tuple[str, str]]:
    """"Requests are approved by their department head." -> "By whom are requests approved?" "department
    head"; "The line manager must respond within 3 days." -> "Who must respond within 3 days?"."""
    out = []
    for m in agents(sentence):
        start = m.start("det") if m.group("det") else m.start("agent")  # with its determiner ("their line manager")
        out.append((_ask(sentence, (start, m.end()), "whom"), m.group("agent")))
    m = re.match(rf"^(?:{_DET} )?(?P<agent>[^,;:]{{2,50}}?) (?P<modal>must|may|can|should|"
                 r"shall|will) (?P<rest>(?!be |not |never )[a-z][^;]{3,150}?)\.?$", sentence, re.IGNORECASE)
    if m and is_agent(m.group("agent")):
        out.append((f"Who {m.group('modal')} {m.group('rest')}?", m.group("agent")))
    return out


RULE = re.compile(r"^(?P<subj>[A-Z/][^,;:]{3,80}?) (?P<modal>must not|may not|may never|cannot|must|may|can) "
                  r"(?P<rest>be [^;]{3,150}|[a-z][^;]{3,150})\.$")
DEFINITION = re.compile(r"^(?P<subj>[A-Z][^,;:]{3,80}?) (?P<verb>is|are) (?P<how>classified|defined) as (?P<what>.{3,150})\.$")


def _lower_first(text: str) -> str:
    """"Annual leave" -> "annual leave" inside a question; names keep their case ("HR", "LeaveTrack", "/var",
    a Title Case name such as "Filesystem Hierarchy Standard")."""
    words = text.split()
    first = words[0]
    keep = len(first) > 1 and (first.isupper() or any(c.isupper() for c in first[1:]))  # "HR", "LeaveTrack"
    title = len(words) > 1 and all(w[:1].isupper() for w in words if len(w) > 3)
    return text if keep or title or first.startswith("/") else text[0].lower() + text[1:]


def rule_questions(sentence: str, others: list[str] = (), subject: str | None = None) -> list[tuple[str, str]]:
    """Must/may rules as yes/no questions, definitions as "how is X classified" questions.

    "Personal software may not be installed on company laptops." -> "May personal software be installed
    on company laptops?" "No". A positive rule that names an agent also gives a "No" question with
    another agent of the document (``others``) in its place ("... notify their line manager" ->
    "... notify their department head?"), so "Yes" is not the answer to every rule question. Rules of
    two clauses ("... and is recorded ...") are skipped; "This directory must ..." names the section's
    ``subject``.
    """
    out = []
    m = RULE.match(sentence)
    subj = _this(m.group("subj"), subject) if m else None
    if subj and not re.search(r"\b(?:and|but|or) (?:is|are|must|may|can|will|should)\b", m.group("rest")) \
            and not re.search(r"\b(?:is|are|was|were|that|which|who)\b", subj):
        modal = m.group("modal")
        ask = "Can" if modal in ("can", "cannot") else modal.split()[0].capitalize()
        question = f"{ask} {subj} {m.group('rest')}?"
        negated = modal in ("must not", "may not", "may never", "cannot")
        out.append((question, "No" if negated else "Yes"))
        found = agents(question)
        swaps = [o for o in others if found and o.lower() != found[0].group("agent").lower()]
        if swaps and not negated:
            a = found[0]
            other = swaps[len(question) % len(swaps)]
            out.append((question[:a.start("agent")] + other + question[a.end("agent"):], "No"))
    m = DEFINITION.match(sentence)
    if m:
        out.append((f"How {m.group('verb')} {_lower_first(m.group('subj'))} {m.group('how')}?", m.group("what")))
    return out


PLACE = re.compile(r"^(?P<subj>[A-Z/][^,;:()]{3,80}?) (?P<modal>must|should|may|shall)(?: (?:now|also|only|always|"
                   r"generally))? be (?P<verb>placed|stored|located|installed|kept|put|written|created|saved|filed|"
                   r"submitted|booked|recorded) (?P<prep>in|into|within|under|on|through) (?P<loc>[^,;]{2,60}?)"
                   r"(?:\.$|[,;]|\s(?=if |when |unless |or |and |where |because |except |instead |at |before |by ))")
CONTAINS = re.compile(r"^(?P<subj>(?:The |This )?[A-Z/][^,;:()]{1,60}?) (?P<verb>contains|contain|holds|hold|includes|"
                      r"include) (?P<what>[^,;:()]{3,90}?)(?:\.$|[,;]| which | that | such as )")
USED_FOR = re.compile(r"^(?P<subj>[A-Z/][^,;:()]{2,60}?) (?P<be>is|are) (?:only |mainly |primarily )?used for "
                      r"(?P<what>[^,;:()]{3,90}?)(?:\.$|[,;])")
THIS = re.compile(r"^(?:This|The) (?:directory|hierarchy|file|folder|section|tree|policy|document|chapter|system)\b",
                  re.IGNORECASE)


_SUBORDINATE = {"if", "when", "although", "while", "unless", "because", "since", "as", "where", "whether", "though",
                "but", "and", "or", "however", "for", "so", "once", "after", "before"}


def _this(subj: str, subject: str | None) -> str | None:
    """A rule's subject, with the section's ``subject`` for "this directory" ("Files under this directory" ->
    "files under /run"); None when the section names none, or the "subject" opens a clause ("If /var ...")."""
    if subj.split()[0].lower() in _SUBORDINATE:
        return None
    m = re.search(r"\b[Tt]his (?:directory|hierarchy|folder|tree)$", subj)
    if m is None:
        return _lower_first(subj)
    if not subject:
        return None
    return _lower_first(subj[:m.start()] + subject) if m.start() else subject


def _own_subject(subj: str, subject: str | None) -> str | None:
    """The sentence's subject, or the section's ``subject`` when the sentence says "This directory ...";
    None for a pronoun or a clause ("It may also", "This")."""
    if THIS.match(subj):
        return subject or None
    if subj.split()[0].lower() in {"it", "this", "they", "these", "that", "those", "there"} | _SUBORDINATE or \
            re.search(r"\b(?:may|must|can|should|will|is|are|which|that)\b", subj):
        return None
    return _lower_first(subj)


def place_questions(sentence: str, subject: str | None = None) -> list[tuple[str, str]]:
    """Where a requirement puts something, what a thing contains, what it is used for.

    "Lock files must now be stored in /var/lock." -> "Where must lock files be stored?" "/var/lock";
    "/lib contains shared libraries." -> "What does /lib contain?" "shared libraries". "This directory
    ..." names the section's ``subject`` instead.
    """
    out = []
    m = PLACE.match(sentence)
    if m and (subj := _own_subject(m.group("subj"), subject)):
        loc = re.split(r" rather than | instead of ", m.group("loc"))[0].strip()
        if not loc.lower().startswith("either"):  # "either / or /boot": the alternatives are cut at "or"
                out.append((f"Where {m.group('modal')} {subj} be {m.group('verb')}?", loc))
    m = CONTAINS.match(sentence)
    if m and (subj := _own_subject(m.group("subj"), subject)) and len(m.group("what").split()) <= 12:
        plural = m.group("verb") in ("contain", "hold", "include")
        verb = {"contains": "contain", "holds": "hold", "includes": "include"}.get(m.group("verb"), m.group("verb"))
        out.append((f"What {'do' if plural else 'does'} {subj} {verb}?", m.group("what").strip()))
    m = USED_FOR.match(sentence)
    if m and (subj := _own_subject(m.group("subj"), subject)) and len(m.group("what").split()) <= 12:
        out.append((f"What {m.group('be')} {subj} used for?", m.group("what").strip()))
    return out


def heading_questions(headings: list[str]) -> list[tuple[str, str]]:
    """A heading that says what its subject is for ("5.9. /var/lock : Lock files") -> "What is /var/lock for?"."""
    described = _described_heading(headings)  # the deepest: the chunk's own subject
    if described is None or len(described[1].split()) > 12:
        return []
    return [(f"What is {described[0]} for?", described[1])]


# Inverse questions: the description asks, the name answers. A document's name/description pairs ("5.9. /var/lock :
# Lock files"; a "Directory Description bin Essential command binaries ..." table) asked only one way ("What is
# /var/lock for?") teach a model to answer every question with a description, while readers mostly ask the other
# way ("Where do lock files go?", "Which command changes file owners?") and expect the name.
# words that neither name a table row nor end a description ("Data for services provided by this" is cut off)
_NAME_STOP = _PREP | {"a", "an", "the", "and", "or", "of", "as", "is", "are", "be", "not", "no", "than"}
_HEAD_STOP = _NAME_STOP | {"that", "which", "relevant", "containing"}  # where a description's head noun ends


def _plural_phrase(desc: str) -> bool:
    """Whether a description's head noun is plural: the last word before its first preposition, conjunction or
    participle ("Temporary files preserved between reboots" -> "files"; "Mount point for removable media" ->
    "point")."""
    head = []
    for w in desc.split():
        if w.lower() in _HEAD_STOP or (head and w.lower().endswith("ed")):
            break
        head.append(w)
    last = (head or desc.split())[-1].lower()
    return last.endswith("s") and not last.endswith("ss") and last not in _NOT_PLURAL


def _description(desc: str) -> str | None:
    """A description fit to ask with, in lower case ("Essential command binaries (optional)" -> "essential command
    binaries"); None for one cut off by the page ("Miscellaneous architecture-") or too long to ask about."""
    desc = re.sub(r"\s*\(optional\)\s*$", "", desc).strip().rstrip(".")
    words = desc.split()
    if not words or desc.endswith("-") or len(words) > 10 or not desc[0].isalpha() \
            or desc.count("(") != desc.count(")") or words[-1].lower() in _NAME_STOP | {"this", "that", "other"}:
        return None
    return _lower_first(desc)


def located_questions(headings: list[str]) -> list[tuple[str, str]]:
    """Where a described location is: the deepest heading "<path> : <description>" read backwards ("5.9.
    /var/lock : Lock files" -> "Where do lock files go?" "/var/lock"). Only subjects written as paths are
    locations by their form; the lead-in varies with the description (one question per heading)."""
    described = _described_heading(headings)
    if described is None:
        return []
    subject, desc = described
    d = _description(desc)
    if d is None or "/" not in subject or " " in subject:
        return []
    if _plural_phrase(d):
        forms = [f"Where do {d} go?", f"Where are {d} kept?", f"Where should {d} be placed?"]
    else:
        forms = [f"Where is the {d}?", f"Where can the {d} be found?"]
    return [(forms[len(d) % len(forms)], subject)]


DESCRIBED = re.compile(r"^(?P<kind>[A-Z][a-z]+) (?:Description|Purpose|Meaning) (?P<rows>\S.*)$")
_NAME = re.compile(r"[a-z0-9<`_.*+-][\w<>.*+@-]*")  # "bin", "lib<qual>", "termcap.db", "fsck.*", "man1"


def described_rows(line: str) -> tuple[str, list[tuple[str, str]]] | None:
    """A name/description table that lost its columns in the PDF's text ("Directory Description bin Essential
    command binaries boot Static files of the boot loader ...") as its kind ("directory") and its (name,
    description) rows, or None. A row ends at "(optional)" or where a name-like word (lower case, digits or
    ``<>.*``; not an article or preposition, not a participle) is followed by a capitalised one; a lost row
    boundary costs one odd question, which the gate's grounding keeps honest."""
    m = DESCRIBED.match(line.strip())
    if m is None:
        return None
    rows = []
    for seg in re.split(r"\s*\(optional\)\s*", m.group("rows")):
        words = seg.split()
        starts = [0] + [i for i in range(1, len(words) - 1)
                        if _NAME.fullmatch(words[i]) and words[i] not in _NAME_STOP
                        and not (len(words[i]) > 4 and words[i].endswith(("ing", "ed")))
                        and re.match(r"[A-Z][a-z]", words[i + 1])] if words else []
        for a, b in zip(starts, starts[1:] + [len(words)]):
            if b - a >= 2:
                rows.append((words[a], " ".join(words[a + 1:b])))
    return (m.group("kind").lower(), rows) if rows else None


_TABLE_BASE = re.compile(r"\bin (/[\w./-]*):$")  # "The following directories ... are required in /var:"


def described_questions(text: str, subject: str | None = None) -> list[tuple[str, str]]:
    """Which name a described-table row gives ("cp Utility to copy files and directories" under "Command
    Description" -> "Which command is used to copy files and directories?" "cp"). The names of a "Directory"
    table are relative to a path: the one the line before it ends with ("... are required in /var:"), else the
    section's own ``subject`` when that is a path; they are answered as full paths ("/var/lock"), the way
    readers say them. A description that two rows share ("Resolver configuration file") asks nothing."""
    out = []
    lines = text.splitlines()
    for k, line in enumerate(lines):
        table = described_rows(line)
        if table is None:
            continue
        kind, rows = table
        found = _TABLE_BASE.search(lines[k - 1].strip()) if k else None
        base = found.group(1) if found else subject if subject and subject.startswith("/") else None
        described = [(name, _description(desc)) for name, desc in rows]
        seen = Counter(d.lower() for _, d in described if d)
        for name, d in described:
            if d is None or seen[d.lower()] > 1:
                continue
            if kind == "directory" and base and not name.startswith("/"):
                name = base.rstrip("/") + "/" + name
            to = re.match(r"^\w+ to (\w.*)$", d)  # "utility to copy files" -> "used to copy files"
            if to:
                q = f"Which {kind} is used to {to.group(1)}?"
            elif re.match(r"^(?:the|a|an) ", d):
                q = f"Which {kind} is {d}?"
            else:
                q = [f"Which {kind} is for {d}?", f"What is the {kind} for {d}?"][len(d) % 2]
            out.append((q, name))
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


def document_agents(chunks: list[dict]) -> list[str]:
    """Every agent the document names (first-seen order, case-insensitively distinct): the swaps of "No" rules."""
    seen: dict[str, str] = {}
    for c in chunks:
        for s in _sentences(c["text"]):
            for m in agents(s):
                seen.setdefault(m.group("agent").lower(), m.group("agent"))
    return list(seen.values())


def answerable_questions(chunk: dict, others: list[str] = ()) -> list[tuple[str, str]]:
    """Every answerable (question, answer) the rules above make of one chunk (heading questions excepted)."""
    subject = (_described_heading(chunk["headings"]) or (None,))[0]
    out = [qa for s in _sentences(chunk["text"])
           for qa in number_questions(s) + agent_questions(s) + rule_questions(s, others, subject)
           + place_questions(s, subject)]
    return out + table_questions(chunk["text"]) + described_questions(chunk["text"], subject)


def synthesize(chunks: list[dict], *, seed: int = 0, unanswerable_share: float = 0.3) -> list[dict]:
    """Q/A rows ``{question, answer, answerable, chunk_id, context, headings, section}`` for ``chunks``;
    about ``unanswerable_share`` of them are unanswerable."""
    rng = random.Random(seed)
    others = document_agents(chunks)
    rows: list[dict] = []
    asked: set[str] = set()  # a question once per document (heading and unanswerable ones repeat across chunks)
    for c in chunks:
        base = chunk_fields(c)
        answerable = answerable_questions(c, others)
        answerable += [qa for qa in heading_questions(c["headings"]) + located_questions(c["headings"])
                       if qa[0] not in asked]
        asked.update(q for q, _ in answerable)
        rows += [{**base, "question": q, "answer": a, "answerable": True} for q, a in answerable]
        lowered = c["text"].lower()
        candidates = [t.format(topic=_topic(c["headings"])) for t, keys in UNANSWERABLE
                      if not any(k in lowered for k in keys)]
        want = max(1, round(len(answerable) * unanswerable_share / (1 - unanswerable_share))) if answerable else 1
        candidates = [q for q in candidates if q not in asked]
        rng.shuffle(candidates)
        picked = candidates[:want]
        asked.update(picked)
        rows += [{**base, "question": q, "answer": REFUSAL, "answerable": False, "_spare": not answerable}
                 for q in picked]
    return _balance_yes_no(_trim_unanswerable(rows, unanswerable_share, rng), rng)


def _trim_unanswerable(rows: list[dict], share: float, rng: random.Random) -> list[dict]:
    """Drop unanswerable rows until about ``share`` of all rows are unanswerable, those of chunks that gave no
    answerable question first: a long document has many small chunks (one question each, and at least one
    beside every chunk's single answerable one), and so many would make refusing the norm."""
    n_ans = sum(r["answerable"] for r in rows)
    spare = [i for i, r in enumerate(rows) if r.pop("_spare", False)]
    rest = [i for i, r in enumerate(rows) if not r["answerable"] and i not in set(spare)]
    excess = sum(not r["answerable"] for r in rows) - round(n_ans * share / (1 - share))
    rng.shuffle(spare)
    rng.shuffle(rest)
    drop = set((spare + rest)[:max(0, excess)])
    return [r for i, r in enumerate(rows) if i not in drop]


def _balance_yes_no(rows: list[dict], rng: random.Random) -> list[dict]:
    """At most twice as many "Yes" rule questions as "No" ones, plus five: most rules a document states are
    positive, and a model trained on them answers "Yes" to whatever it is asked."""
    yes = [i for i, r in enumerate(rows) if r["answer"] == "Yes"]
    cap = 2 * sum(r["answer"] == "No" for r in rows) + 5
    drop = set(rng.sample(yes, len(yes) - cap)) if len(yes) > cap else set()
    return [r for i, r in enumerate(rows) if i not in drop]


# Near misses: an answerable question turned into one its own excerpt does not answer by changing one condition,
# the way real readers' unanswerable questions look ("flights longer than 6 hours?" beside "Flights shorter than
# 6 hours are booked in economy class."; "confidential documents" beside a fact about restricted ones).
# Comparators and their opposites are English syntax, not a domain's words.
_OPPOSITE = {"more than": "less than", "less than": "more than", "fewer than": "more than",
             "longer than": "shorter than", "shorter than": "longer than", "higher than": "lower than",
             "lower than": "higher than", "earlier than": "later than", "later than": "earlier than",
             "at least": "at most", "at most": "at least", "above": "below", "below": "above", "under": "over",
             "over": "under", "before": "after", "after": "before", "the first": "the last", "the last": "the first",
             "minimum": "maximum", "maximum": "minimum"}
_AMOUNT = r"(?=\s+(?:[A-Z]{3}\s?)?[\d€$£])"  # "above EUR 1,000", "under 4 hours"; not "carried over into"
_COMPARATOR = re.compile(
    r"\b(?:more than|less than|fewer than|longer than|shorter than|higher than|lower than|earlier than|later than|"
    r"at least|at most|minimum|maximum|the first|the last|(?:above|below|under|over)" + _AMOUNT +
    r"|(?:before|after)(?! (?:how|what|which|that|this)\b))\b", re.IGNORECASE)
_ITEM = r"[A-Za-z/][\w/+-]*(?:\.[\w/+-]+)*"  # "restricted", "/usr/lib", "vmlinuz"; not the sentence's full stop
ENUMERATION = re.compile(rf"\b{_ITEM}(?:, {_ITEM})+,? (?:and|or) {_ITEM}")
STOP_ITEMS = {"a", "an", "the", "and", "or", "of", "to", "in", "on", "for", "is", "are", "be", "it", "its", "this",
              "that", "these", "those", "other", "others", "etc", "all", "any", "each"}  # not enumerated items


def _cased(word: str, like: str) -> str:
    return word[0].upper() + word[1:] if like[:1].isupper() else word


def _flips(question: str, lowered: str) -> list[str]:
    """``question`` with one comparator turned to its opposite, where the excerpt (``lowered``) never uses it."""
    out = []
    for m in _COMPARATOR.finditer(question):
        opposite = _OPPOSITE[m.group(0).lower()]
        if re.search(rf"\b{re.escape(opposite)}\b", lowered) is None:
            out.append(question[:m.start()] + _cased(opposite, m.group(0)) + question[m.end():])
    return out


def _find(item: str, text: str) -> re.Match | None:
    """``item`` as a whole word (or path) of ``text``, in any case."""
    return re.search(rf"(?<![\w/.-]){re.escape(item)}(?![\w/-])", text, re.IGNORECASE)


def _siblings(question: str, fact: str, text: str) -> list[str]:
    """``question`` with a member of one of the excerpt's enumerations ("public, internal, confidential or
    restricted") that it asks about replaced by another member that the answer's sentence ``fact`` lacks."""
    out = []
    for enum in ENUMERATION.finditer(text):
        items = [i for i in re.split(r",? (?:and|or) |, ", enum.group(0)) if i.lower() not in STOP_ITEMS]
        for item in items:
            m = _find(item, question)
            if m is None or _find(item, fact) is None:
                continue
            for other in items:
                if other.lower() != item.lower() and other.lower() not in fact.lower() \
                        and other.lower() not in question.lower():
                    out.append(question[:m.start()] + _cased(other, m.group(0)) + question[m.end():])
    return out


def near_misses(question: str, answer: str, text: str) -> list[str]:
    """Questions like ``question`` that ``text`` (its chunk, which answers it with ``answer``) does not answer:
    one comparator turned to its opposite, or one enumerated item swapped for a sibling the fact does not
    mention. None for yes/no questions (the other side of a rule is often answered "No", not refused) and where
    the answer's sentence cannot be found."""
    if answer in ("Yes", "No"):
        return []
    facts = [s for s in _sentences(text) if answer.lower() in s.lower()]
    if not facts:
        return []
    out = _flips(question, text.lower()) + _siblings(question, facts[0], text)
    return list(dict.fromkeys(q for q in out if q != question))
