"""``lorakit data gate``: the quality gate for synthesized Q/A rows.

Heuristics (each drop names its rule): the question is a question (ends with "?", 4-60 words), the
answer has 1-60 words, an answer is grounded in its context (80% of its words appear there) unless
it is the canonical refusal, and an answer does not merely repeat the question. Then exact and near
duplicate questions go (MinHash, :mod:`lorakit.data.dedup`), the split is made by top-level section
(whole sections held out, so paraphrases cannot leak), and train rows sharing a 13-gram with an eval
question are dropped. Writes ``kept.jsonl`` (with a ``split`` field), ``dropped.jsonl`` (with the
reason of every drop) and ``gate_summary.json``.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from lorakit.data.dedup import contaminated, dedup, words
from lorakit.data.pdf.qa import REFUSAL


def heuristic_problem(row: dict) -> str | None:
    """The first rule ``row`` breaks, or None."""
    q, a = row["question"].strip(), row["answer"].strip()
    if not q.endswith("?"):
        return "not a question (no '?')"
    if not 4 <= len(q.split()) <= 60:
        return "question length outside 4-60 words"
    if not 1 <= len(a.split()) <= 60:
        return "answer length outside 1-60 words"
    if a == REFUSAL:
        return None
    aw, cw = words(a), set(words(row.get("context", "")))
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


def gate(rows: list[dict], out_dir: str | Path, *, eval_share: float = 0.3, seed: int = 0) -> dict:
    from lorakit.io import write_json, write_jsonl

    dropped, ok = [], []
    for r in rows:
        why = heuristic_problem(r)
        (dropped.append({**r, "reason": why}) if why else ok.append(r))
    keep, drops = dedup([r["question"] for r in ok])
    dropped += [{**ok[d["index"]], "reason": d["reason"], "duplicate_of": ok[d["of"]]["question"]} for d in drops]
    ok = [ok[i] for i in keep]
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
               "train": sum(r["split"] == "train" for r in kept), "eval": len(evals),
               "eval_sections": sorted(held_out),
               "answerable_share": {s: (sum(r["answerable"] for r in kept if r["split"] == s)
                                        / max(1, sum(r["split"] == s for r in kept))) for s in ("train", "eval")}}
    out_dir = Path(out_dir)
    write_jsonl(out_dir / "kept.jsonl", kept)
    write_jsonl(out_dir / "dropped.jsonl", dropped)
    write_json(out_dir / "gate_summary.json", summary)
    return summary
