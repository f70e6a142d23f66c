"""Retrieved excerpts read one at a time, against all of them in one prompt (a prototype, not in lorakit).

    .venv/bin/python benchmarks/policy_read_each.py RUN_DIR [RUN_DIR ...] --questions FILE [--k 3]

The grounded policy model is trained on one excerpt per question (and refuses when that excerpt lacks the
answer); ``eval.context: retrieved`` shows it the top ``k`` in one prompt. Here each of the top ``k`` excerpts is
put to the model on its own, in the training format, and the answers are combined per question:

- ``top1``: the first excerpt's answer (what ``eval.retrieve_k: 1`` scores; a check of this script);
- ``first2`` / ``first3``: the first answer that is not a refusal, in BM25's order over the top 2 / 3; the
  refusal when all refuse.

Wrong-excerpt items are left out, as ``eval.context: retrieved`` leaves them out. ``--questions``: the chat
JSONL of hand-written questions (for the FHS run, ``RUN_DIR/data/eval.jsonl``; for the handbook,
``examples/data/policy_natural_questions.jsonl``). Prints one row per run and rule, and the mean per rule.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

METRICS = ["answer_f1", "over_refusal", "refusal_recall", "hallucination"]


def read_each(run_dir: Path, questions: Path, k: int) -> list[dict]:
    """Every question's expected answer and the model's answer on each of its top ``k`` excerpts, in BM25 order."""
    import torch

    from lorakit.data.pdf.dataset import user_message
    from lorakit.data.pdf.retrieve import DocumentIndex, split_message
    from lorakit.eval.runner import load_trained
    from lorakit.generation.generate import generate
    from lorakit.rundir import RunDir

    cfg, model, tok, system = load_trained(run_dir, "cpu")
    index = DocumentIndex.from_dir(RunDir(run_dir).data)
    items = []
    for line in questions.read_text(encoding="utf-8").splitlines():
        row = json.loads(line) if line.strip() else None
        if row is None or row.get("category") == "wrong_excerpt":
            continue
        user = next(m["content"] for m in row["messages"] if m["role"] == "user")
        question, _ = split_message(user)
        items.append({"expected": next(m["content"] for m in row["messages"] if m["role"] == "assistant"),
                      "messages": [user_message(question, [c]) for c in index.search(question, k)]})
    convs = [[{"role": "system", "content": system}, {"role": "user", "content": m}] for it in items
             for m in it["messages"]]
    with torch.inference_mode():
        answers = iter(generate(model, tok, convs, batch_size=8, max_new_tokens=cfg.eval.max_new_tokens))
    return [{"expected": it["expected"], "answers": [next(answers).strip() for _ in it["messages"]]} for it in items]


def combine(answers: list[str]) -> dict[str, str]:
    from lorakit.data.pdf.qa import REFUSAL
    from lorakit.data.tasks.policy_qa import is_refusal

    def first(n):
        return next((a for a in answers[:n] if not is_refusal(a)), REFUSAL)

    return {"top1": answers[0], "first2": first(2), "first3": first(3)}


def score(items: list[dict]) -> dict[str, dict[str, float]]:
    """Per rule, each metric over the items it applies to (as the eval's overall values)."""
    from lorakit.data.tasks.policy_qa import PolicyQAScorer

    scorer, values = PolicyQAScorer(), {}
    for it in items:
        for rule, answer in combine(it["answers"]).items():
            for m, v in scorer.score(answer, it["expected"])["scores"].items():
                if m in METRICS and v is not None:
                    values.setdefault(rule, {}).setdefault(m, []).append(float(v))
    return {rule: {m: sum(v) / len(v) for m, v in ms.items()} for rule, ms in values.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--questions", type=Path, required=True)
    ap.add_argument("--k", type=int, default=3)
    args = ap.parse_args()
    print("| run | rule | " + " | ".join(METRICS) + " | seconds |\n|" + "---|" * (len(METRICS) + 3))
    means: dict[str, list[dict]] = {}
    for run in args.runs:
        t0 = time.perf_counter()
        scores = score(read_each(run, args.questions, args.k))
        for rule, s in scores.items():
            means.setdefault(rule, []).append(s)
            print(f"| {run} | {rule} | " + " | ".join(f"{100 * s[m]:.1f}%" for m in METRICS)
                  + f" | {time.perf_counter() - t0:.0f} |")
    for rule, rows in means.items():
        print(f"| mean of {len(rows)} | {rule} | "
              + " | ".join(f"{100 * sum(r[m] for r in rows) / len(rows):.1f}%" for m in METRICS) + " | |")


if __name__ == "__main__":
    main()
