"""Retrieved excerpts read one at a time, against all of them in one prompt (a prototype, not in lorakit).

    .venv/bin/python benchmarks/policy_read_each.py RUN_DIR [RUN_DIR ...] --questions FILE [--k 3]

The grounded policy model is trained on one excerpt per question (and refuses when that excerpt lacks the
answer); ``eval.context: retrieved`` shows it the top ``k`` in one prompt. Here each of the top ``k`` excerpts is
put to the model on its own, in the training format, and the answers are combined per question:

- ``top1``: the first excerpt's answer (what ``eval.retrieve_k: 1`` scores; a check of this script);
- ``first2`` / ``first3``: the first answer that is not a refusal, in BM25's order over the top 2 / 3; the
  refusal when all refuse;
- ``first3_beats``: the first answer (BM25's order, top 3) that is not a refusal and that the model finds
  likelier than the refusal as a whole sequence (log p(answer + end) > log p(refusal + end), teacher-forced);
- ``best3_margin``: of those, the one with the largest such margin, whatever its rank.

Then the curve of a threshold on each excerpt's first-token refusal margin (the refusal's first logit minus
the largest other; greedy decoding refuses exactly when it is > 0, see ``policy_refusal_margin.py``): an
excerpt answers only when its margin is below ``-tau``, and the question takes the first such answer in BM25's
order. Printed as refusal recall / over-refusal per ``tau``, the mean over the runs. Pick ``tau`` on another
document's curve, never on the yardstick's own.

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
TAUS = [-1.0, 0.0, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0]  # first-token margin thresholds for the curve


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
        answers = [a.strip() for a in generate(model, tok, convs, batch_size=8, max_new_tokens=cfg.eval.max_new_tokens)]
    from lorakit.data.pdf.qa import REFUSAL

    refusal = tok(REFUSAL + tok.eos_token, add_special_tokens=False)["input_ids"]  # tokenized once
    scored = iter([likelihoods(model, tok, conv, answer, refusal) for conv, answer in zip(convs, answers)])
    answers = iter(answers)
    out = []
    for it in items:
        rows = [(next(answers), *next(scored)) for _ in it["messages"]]
        out.append({"expected": it["expected"], "answers": [r[0] for r in rows], "beats": [r[1] for r in rows],
                    "first_margin": [r[2] for r in rows]})
    return out


def likelihoods(model, tok, conv: list[dict], answer: str, refusal: list[int]) -> tuple[float, float]:
    """(log p(answer + end) - log p(refusal + end), the refusal's first-token margin), the prompt encoded once;
    ``refusal``: the refusal's token ids, end included."""
    import copy

    import torch

    from lorakit.generation.generate import _cache_arg  # "cache" or "past_key_values", by transformers release

    prompt = tok(tok.apply_chat_template(conv, add_generation_prompt=True, tokenize=False),
                 add_special_tokens=False)["input_ids"]
    with torch.inference_mode():
        out = model(input_ids=torch.tensor([prompt]), use_cache=True)
        last = out.logits[0, -1].float()
        logp = []
        for ids in (tok(answer + tok.eos_token, add_special_tokens=False)["input_ids"], refusal):
            # a copy: the cache grows in place, and both continuations start from the prompt's
            cont = model(input_ids=torch.tensor([ids]), **{_cache_arg(model): copy.deepcopy(out.past_key_values)})
            logits = torch.cat([last[None], cont.logits[0, :-1].float()])
            logp.append(float(torch.log_softmax(logits, -1).gather(1, torch.tensor(ids)[:, None]).sum()))
        other = torch.cat([last[:refusal[0]], last[refusal[0] + 1:]]).max()
    return logp[0] - logp[1], float(last[refusal[0]] - other)


def combine(item: dict) -> dict[str, str]:
    from lorakit.data.pdf.qa import REFUSAL
    from lorakit.data.tasks.policy_qa import is_refusal

    answers, beats = item["answers"], item["beats"]
    kept = [i for i, a in enumerate(answers[:3]) if not is_refusal(a)]
    beating = [i for i in kept if beats[i] > 0]

    def first(n):
        return next((a for a in answers[:n] if not is_refusal(a)), REFUSAL)

    return {"top1": answers[0], "first2": first(2), "first3": first(3),
            "first3_beats": answers[beating[0]] if beating else REFUSAL,
            "best3_margin": answers[max(beating, key=lambda i: beats[i])] if beating else REFUSAL}


def below(item: dict, tau: float) -> str:
    """The first answer (BM25's order, top 3) whose first-token refusal margin is below ``-tau``; else the refusal."""
    from lorakit.data.pdf.qa import REFUSAL
    from lorakit.data.tasks.policy_qa import is_refusal

    return next((a for a, m in zip(item["answers"][:3], item["first_margin"][:3]) if m < -tau and not is_refusal(a)),
                REFUSAL)


def score(items: list[dict]) -> dict[str, dict[str, float]]:
    """Per rule, each metric over the items it applies to (as the eval's overall values)."""
    from lorakit.data.tasks.policy_qa import PolicyQAScorer

    scorer, values = PolicyQAScorer(), {}
    for it in items:
        rules = {**combine(it), **{f"tau={tau}": below(it, tau) for tau in TAUS}}
        for rule, answer in rules.items():
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
            if rule.startswith("tau="):
                continue
            print(f"| {run} | {rule} | " + " | ".join(f"{100 * s[m]:.1f}%" for m in METRICS)
                  + f" | {time.perf_counter() - t0:.0f} |")
    for rule, rows in means.items():
        if not rule.startswith("tau="):
            print(f"| mean of {len(rows)} | {rule} | "
                  + " | ".join(f"{100 * sum(r[m] for r in rows) / len(rows):.1f}%" for m in METRICS) + " | |")
    print("\nFirst answer whose first-token refusal margin < -tau, mean of the runs:\n\n| tau | "
          + " | ".join(METRICS) + " |\n|" + "---|" * (len(METRICS) + 1))
    for tau in TAUS:
        rows = means[f"tau={tau}"]
        print(f"| {tau} | " + " | ".join(f"{100 * sum(r[m] for r in rows) / len(rows):.1f}%" for m in METRICS) + " |")


if __name__ == "__main__":
    main()
