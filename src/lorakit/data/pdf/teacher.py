"""Teacher-written Q/A: any OpenAI-compatible endpoint asked for questions per document chunk.

Ollama, vLLM, a hosted API or ``lorakit serve``: the prompt constrains the teacher to the policy
(answers copied from the excerpt; unanswerable questions about plausible details the excerpt lacks,
answered with exactly :data:`~lorakit.data.pdf.qa.REFUSAL`). The reply must validate against
:data:`SCHEMA` (sent as ``response_format``, validated again here); transport errors are retried
with backoff (:class:`~lorakit.clients.openai_compat.RemoteModel`) and replies are cached on disk
(:class:`~lorakit.clients.openai_compat.CachedJSON`), so a re-run costs nothing. The rows have the offline
generator's shape plus ``"source": "teacher"``, and go through the same quality gate.
"""

from __future__ import annotations

from pathlib import Path

from lorakit.data.pdf.qa import REFUSAL, chunk_fields

SCHEMA = {
    "type": "object",
    "properties": {"questions": {"type": "array", "minItems": 1, "maxItems": 30, "items": {
        "type": "object",
        "properties": {"question": {"type": "string", "maxLength": 400},
                       "answer": {"type": "string", "maxLength": 400},
                       "answerable": {"type": "boolean"}},
        "required": ["question", "answer", "answerable"], "additionalProperties": False}}},
    "required": ["questions"], "additionalProperties": False,
}

PROMPT = """You write questions about one excerpt of a document, the way its readers would ask them, to train an
assistant that answers only from the excerpt it is given.

Write {n} questions in your own words (do not copy the sentence's word order). About 70% must be answerable from the
excerpt alone: the answer is a short phrase copied from the excerpt (a number with its unit, a date, a time, a name,
a place or a role), not a sentence. About 30% must be plausible questions on the excerpt's own topic about details it
does NOT state (a limit, an exception, who decides, what happens otherwise); their answer is exactly "{refusal}".
Never use knowledge from outside the excerpt.

Reply with JSON only: {{"questions": [{{"question": "...", "answer": "...", "answerable": true}}, ...]}}

Section: {headings}
Excerpt:
{text}"""


def teacher_rows(chunks: list[dict], teacher, cache_file: str | Path) -> tuple[list[dict], dict]:
    """Q/A rows for ``chunks`` from the ``teacher`` endpoint (a TeacherConfig); also ``{"asked", "invalid"}``."""
    from lorakit.clients.openai_compat import CachedJSON, endpoint_model

    calls = CachedJSON(endpoint_model(teacher), cache_file, SCHEMA, max_tokens=teacher.max_tokens)
    prompts = [PROMPT.format(n=teacher.questions_per_chunk, refusal=REFUSAL, headings=" > ".join(c["headings"]),
                             text=c["text"]) for c in chunks]
    replies = calls.ask(prompts)
    rows = []
    for c, reply in zip(chunks, replies):
        base = {**chunk_fields(c), "source": "teacher"}
        for q in (reply or {}).get("questions", []):
            rows.append({**base, "question": q["question"].strip(), "answer": q["answer"].strip(),
                         "answerable": q["answerable"]})
    return rows, {"asked": calls.asked, "invalid": sum(r is None for r in replies), "chunks": len(chunks)}
