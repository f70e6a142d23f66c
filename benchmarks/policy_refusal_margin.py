"""Policy QA: is the refuse-or-answer decision separable, and would a threshold on it meet issue 20's targets?

    .venv/bin/python benchmarks/policy_refusal_margin.py RUN_DIR QUESTIONS [--calibrate FILE] [--set KEY=VALUE ...]

A grounded policy-QA model decides at its first answer token: the refusal ("Not specified in the provided
excerpt.") starts with its own token, which no short answer span starts with. For every item of ``QUESTIONS``
(chat JSONL, e.g. ``examples/data/policy_natural_questions.jsonl``, with the excerpt in the user turn as the
run was trained), the run's tuned model scores the prompt once; the item's *refusal margin* is the logit of
the refusal's first token minus the largest other logit at that position (greedy decoding refuses exactly
when it is > 0). Sorting the items by margin gives every operating point a threshold could reach: refusal
recall on unanswerable items against over-refusal on answerable ones, and the area under that curve.

``--calibrate FILE`` picks the threshold on another question file (the run's own synthesized eval split,
say, or another document's hand-written questions): the largest recall there with over-refusal at most
``--max-over-refusal``; then reports what that threshold gives on ``QUESTIONS``. Tuning it on ``QUESTIONS``
itself would fit the yardstick. Answer F1 is not computed: a threshold changes only which items refuse.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def margins(questions: Path, loaded) -> list[tuple[float, bool]]:
    """``(refusal margin, unanswerable)`` per item of ``questions``, with the run's tuned model."""
    import torch

    from lorakit.data.chat import load_chat_jsonl
    from lorakit.data.pdf.qa import REFUSAL
    from lorakit.data.tasks import get_task

    cfg, model, tok, system = loaded
    task = get_task(cfg.data.task)
    items = load_chat_jsonl(questions)
    refusal_id = tok(REFUSAL, add_special_tokens=False)["input_ids"][0]
    out = []
    with torch.inference_mode():
        for ex in items:
            text = tok.apply_chat_template(task.prompt(ex, "tuned", "auto", system), add_generation_prompt=True,
                                           tokenize=False)
            ids = tok(text, add_special_tokens=False, return_tensors="pt")["input_ids"].to(model.device)
            logits = model(input_ids=ids, use_cache=False).logits[0, -1].float()
            other = torch.cat([logits[:refusal_id], logits[refusal_id + 1:]]).max()
            out.append((float(logits[refusal_id] - other), ex.answer.strip() == REFUSAL))
    return out


def rates(scored: list[tuple[float, bool]], threshold: float) -> tuple[float, float]:
    """(refusal recall, over-refusal) when an item refuses iff its margin > ``threshold``."""
    unans = [m for m, u in scored if u]
    ans = [m for m, u in scored if not u]
    return (sum(m > threshold for m in unans) / max(len(unans), 1), sum(m > threshold for m in ans) / max(len(ans), 1))


def auc(scored: list[tuple[float, bool]]) -> float:
    """P(an unanswerable item's margin > an answerable one's), ties half."""
    unans = [m for m, u in scored if u]
    ans = [m for m, u in scored if not u]
    wins = sum((u > a) + 0.5 * (u == a) for u in unans for a in ans)
    return wins / max(len(unans) * len(ans), 1)


def best_threshold(scored: list[tuple[float, bool]], max_over: float) -> float:
    """The threshold with the highest recall whose over-refusal is at most ``max_over`` (the largest such)."""
    cuts = sorted({m for m, _ in scored} | {float("inf")})
    best, best_recall = float("inf"), -1.0
    for t in [c - 1e-6 for c in cuts]:
        recall, over = rates(scored, t)
        if over <= max_over and recall > best_recall:
            best, best_recall = t, recall
    return best


def say(line: str) -> None:
    print(line, flush=True)  # as it comes: a slow calibration file later must not lose what came before


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("questions", type=Path)
    ap.add_argument("--calibrate", type=Path, action="append", default=[])
    ap.add_argument("--max-over-refusal", type=float, default=0.10)
    ap.add_argument("--json", type=Path, help="write every item's margin here")
    args = ap.parse_args()

    from lorakit.eval.runner import load_trained

    loaded = load_trained(args.run_dir)
    scored = margins(args.questions, loaded)
    recall, over = rates(scored, 0.0)
    n_un = sum(u for _, u in scored)
    say(f"{args.run_dir} on {args.questions}: {len(scored)} items ({n_un} unanswerable)")
    say(f"- greedy (threshold 0): refusal recall {100 * recall:.1f}%, over-refusal {100 * over:.1f}%; "
        f"AUC {auc(scored):.3f}")
    for target in (0.90, 1.0):
        ok = [t for t in sorted({m for m, _ in scored}) if rates(scored, t - 1e-6)[0] >= target]
        if ok:
            t = max(ok) - 1e-6
            say(f"- recall >= {100 * target:.0f}% costs over-refusal {100 * rates(scored, t)[1]:.1f}% "
                f"(threshold {t:+.2f})")
    t = best_threshold(scored, args.max_over_refusal)
    r, o = rates(scored, t)
    say(f"- the best threshold on these items with over-refusal <= {100 * args.max_over_refusal:.0f}% "
        f"(fitted on the yardstick itself: an upper bound): {t:+.2f}, recall {100 * r:.1f}%, over {100 * o:.1f}%")
    for file in args.calibrate:
        cal = margins(file, loaded)
        t = best_threshold(cal, args.max_over_refusal)
        rc, oc = rates(cal, t)
        r, o = rates(scored, t)
        say(f"- calibrated on {file} ({len(cal)} items; there recall {100 * rc:.1f}%, over {100 * oc:.1f}%, "
            f"AUC {auc(cal):.3f}): threshold {t:+.2f} gives recall {100 * r:.1f}%, over-refusal {100 * o:.1f}%")
    if args.json:
        args.json.write_text(json.dumps([{"margin": m, "unanswerable": u} for m, u in scored]))


if __name__ == "__main__":
    sys.exit(main())
