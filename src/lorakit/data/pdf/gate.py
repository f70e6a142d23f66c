"""``lorakit data gate``: the quality gate for synthesized Q/A rows.

Heuristics (each drop names its rule): the question is a question (ends with "?", 4-60 words), the
answer has 1-60 words, an answer is grounded in its context (80% of its words appear in the chunk's
text or heading path, both of which the model is shown) unless
it is the canonical refusal, and an answer does not merely repeat the question. Then exact and near
duplicate questions go (MinHash, :mod:`lorakit.data.dedup`), the split is made by top-level section
(whole sections held out, so paraphrases cannot leak), and train rows sharing a 13-gram with an eval
question are dropped. An optional LLM judge (any OpenAI-compatible endpoint, replies validated
against :data:`JUDGE_SCHEMA` and cached on disk) scores each surviving row's accuracy and style 0-10;
rows under the thresholds, or without a valid verdict, are dropped. Writes ``kept.jsonl`` (with a
``split`` field), ``dropped.jsonl`` (with the reason of every drop) and ``gate_summary.json``.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from lorakit.data.dedup import contaminated, dedup, words
from lorakit.data.pdf.qa import REFUSAL


JUDGE_SCHEMA = {"type": "object", "properties": {
    "accuracy": {"type": "integer", "minimum": 0, "maximum": 10},
    "style": {"type": "integer", "minimum": 0, "maximum": 10},
    "reason": {"type": "string", "maxLength": 300}},
    "required": ["accuracy", "style", "reason"], "additionalProperties": False}

JUDGE_PROMPT = """You check training data for an assistant that answers questions about a document only from
the excerpt it is given. Grade the question/answer pair below.
accuracy: 10 when the answer is exactly what the excerpt says, or, for the answer "{refusal}", when the excerpt
really does not say it; 0 when the answer is wrong, unsupported or the refusal is wrong.
style: 10 for a clear, natural, specific question and a concise answer; 0 for a garbled one.
Reply with JSON only: {{"accuracy": <0-10>, "style": <0-10>, "reason": "<one sentence>"}}

Excerpt:
{context}

Question: {question}
Answer: {answer}"""


def heuristic_problem(row: dict) -> str | None:
    """The first rule ``row`` breaks, or None."""
    q, a = row["question"].strip(), row["answer"].strip()
    if row.get("answerable") is False and a != REFUSAL:
        return "unanswerable without the canonical refusal"
    if row.get("answerable") and a == REFUSAL:
        return "answerable but answered with the refusal"
    if not q.endswith("?"):
        return "not a question (no '?')"
    if not 4 <= len(q.split()) <= 60:
        return "question length outside 4-60 words"
    if not 1 <= len(a.split()) <= 60:
        return "answer length outside 1-60 words"
    if a in (REFUSAL, "Yes", "No"):  # the refusal, and the answers of yes/no rule questions
        return None
    # what the model is shown: the excerpt's heading path and its text ("5.9. /var/lock : Lock files")
    aw, cw = words(a), set(words(" ".join(row.get("headings", [])) + " " + row.get("context", "")))
    if aw and sum(w in cw for w in aw) / len(aw) < 0.8:
        return "answer not grounded in its context"
    if aw and set(aw) <= set(words(q)):
        return "answer repeats the question"
    return None


def split_sections(sections: list[str], eval_share: float, seed: int) -> set[str]:
    """The sections held out for eval: a seeded ``eval_share`` of them (at least one)."""
    order = sorted(set(sections))
    random.Random(seed).shuffle(order)
    return set(order[:max(1, round(eval_share * len(order)))])


def judge_problems(rows: list[dict], judge, cache_file: str | Path) -> dict[int, str]:
    """Row index -> why the judge drops it, for a ``judge`` endpoint (a GateJudgeConfig)."""
    from lorakit.clients.openai_compat import CachedJSON, endpoint_model

    calls = CachedJSON(endpoint_model(judge), cache_file, JUDGE_SCHEMA)
    verdicts = calls.ask([JUDGE_PROMPT.format(refusal=REFUSAL, context=r.get("context", ""), question=r["question"],
                                              answer=r["answer"]) for r in rows])
    out = {}
    for i, (r, v) in enumerate(zip(rows, verdicts)):
        r["judge"] = v
        if v is None:
            out[i] = "judge gave no valid verdict"
        elif v["accuracy"] < judge.min_accuracy:
            out[i] = f"judge: accuracy {v['accuracy']} < {judge.min_accuracy} ({v['reason']})"
        elif v["style"] < judge.min_style:
            out[i] = f"judge: style {v['style']} < {judge.min_style} ({v['reason']})"
    return out


def gate(rows: list[dict], out_dir: str | Path, *, eval_share: float = 0.3, seed: int = 0, judge=None) -> dict:
    """Gate ``rows``; ``judge`` (a GateJudgeConfig) adds the LLM judge, cached in ``out_dir/judge_cache.jsonl``."""
    from lorakit.io import write_json, write_jsonl

    dropped, ok = [], []
    for r in rows:
        why = heuristic_problem(r)
        (dropped.append({**r, "reason": why}) if why else ok.append(r))
    keep, drops = dedup([r["question"] for r in ok])
    dropped += [{**ok[d["index"]], "reason": d["reason"], "duplicate_of": ok[d["of"]]["question"]} for d in drops]
    ok = [ok[i] for i in keep]
    if judge is not None:
        problems = judge_problems(ok, judge, Path(out_dir) / "judge_cache.jsonl")
        dropped += [{**ok[i], "reason": why} for i, why in problems.items()]
        ok = [r for i, r in enumerate(ok) if i not in problems]
    held_out = split_sections([r["section"] for r in ok], eval_share, seed)
    for r in ok:
        r["split"] = "eval" if r["section"] in held_out else "train"
    train = [r for r in ok if r["split"] == "train"]
    evals = [r for r in ok if r["split"] == "eval"]
    leaks = contaminated([r["question"] for r in train], [r["question"] for r in evals])
    dropped += [{**train[i], "reason": f"eval contamination: {why}"} for i, why in leaks.items()]
    kept = [r for i, r in enumerate(train) if i not in leaks] + evals
    summary = {"rows": len(rows), "kept": len(kept), "dropped": len(dropped),
               "reasons": dict(Counter(d["reason"].split(" (")[0] for d in dropped)),
               "sources": dict(Counter(r.get("source", "offline") for r in kept)),
               "train": sum(r["split"] == "train" for r in kept), "eval": len(evals),
               "eval_sections": sorted(held_out),
               "answerable_share": {s: (sum(r["answerable"] for r in kept if r["split"] == s)
                                        / max(1, sum(r["split"] == s for r in kept))) for s in ("train", "eval")}}
    out_dir = Path(out_dir)
    write_jsonl(out_dir / "kept.jsonl", kept)
    write_jsonl(out_dir / "dropped.jsonl", dropped)
    write_json(out_dir / "gate_summary.json", summary)
    return summary
