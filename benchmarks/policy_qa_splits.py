"""Policy QA on several held-out splits and both modes: is the grounded result a lucky split?

    .venv/bin/python benchmarks/policy_qa_splits.py [--seeds 0 1 2] [--closed-book-seed 0]

Runs ``lorakit run examples/policy-qa.yaml`` once per data seed (each seed holds out different
policies of the handbook), plus one closed-book run, each in its own folder under runs/, and prints
one Markdown table of base vs tuned metrics per run with the wall time each took. Runs whose
adapter is already current are only re-evaluated.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

METRICS = ["answer_f1", "answer_em", "refusal_precision", "refusal_recall", "over_refusal", "hallucination"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--closed-book-seed", type=int, default=0)
    args = ap.parse_args()

    from lorakit.config import load_config
    from lorakit.pipeline import run

    runs = [(f"grounded, seed {s}", s, "grounded") for s in args.seeds]
    runs.append((f"closed-book, seed {args.closed_book_seed}", args.closed_book_seed, "closed_book"))
    lines = [f"machine: {platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores", "",
             "| run | held-out sections | eval items | arm | " + " | ".join(METRICS) + " | wall |",
             "|" + "---|" * (len(METRICS) + 5)]
    for name, seed, mode in runs:
        out = Path("runs") / f"policy_qa_{mode}_s{seed}"
        cfg = load_config("examples/policy-qa.yaml", [f"output_dir={out}", f"data.seed={seed}", f"train.seed={seed}",
                                                      f"data.options.mode={mode}"])
        t0 = time.perf_counter()
        run(cfg)
        wall = time.perf_counter() - t0
        res = json.loads((out / "results.json").read_text())
        rec = json.loads((out / "data" / "policy_record.json").read_text())
        for arm in ("base", "tuned"):
            o = res["models"][arm]["overall"]
            cells = ["-" if o.get(m) is None else f"{100 * o[m]:.1f}%" for m in METRICS]
            lines.append(f"| {name} | {', '.join(rec['gate']['eval_sections'])} | {res['n_items']} | {arm} | "
                         + " | ".join(cells) + f" | {wall / 60:.1f} min |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
