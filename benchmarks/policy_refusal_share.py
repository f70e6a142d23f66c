"""Policy QA: does training on more wrong-excerpt refusal rows raise refusal recall, and at what cost to answers?

    .venv/bin/python benchmarks/policy_refusal_share.py [--shares 0.5 1 2] [--near 0.5] [--near-miss 0 1]
        [--seeds 0 1] [--k 3] [--config examples/fhs-qa.yaml] [--set model.name=/path/to/qwen05.gguf --tag qwen05]

Refusals in grounded policy QA are learned from ``wrong_excerpt`` rows: an answerable question shown with
another chunk's excerpt that lacks its answer, answered with the refusal (half of them from the same
section: the right topic without the fact). ``data.options.wrong_excerpt_share`` is how many such rows
each answerable question gets (default 0.5, about 14% of the train rows); ``wrong_excerpt_near`` the share of
them taken from the question's own section (default 0.5). For each share, near share and training
seed, and ``data.options.near_miss_share`` (``--near-miss``: rows that ask a near miss of a train question
with its own excerpt, answered with the refusal), one after another on the same CPU: ``lorakit run examples/policy-qa.yaml`` (the shipped handbook,
offline synthesis), then its adapter on the 47 hand-written questions
(``examples/data/policy_natural_questions.jsonl``) with the excerpt given and retrieved (BM25 top ``--k``).
The synthesized questions are the same for every arm (same ``data.seed``); only the train rows built
from them differ. ``--config examples/fhs-qa.yaml`` runs the same arms on the Filesystem Hierarchy Standard
and its 90 hand-written questions (the config's ``data.options.questions``); ``--set`` applies to every arm
(another model, say) and ``--tag`` names its runs. Prints one Markdown table and each run's train rows and training seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from policy_qa_real import METRICS, tuned_on_questions  # noqa: E402

HANDBOOK_QUESTIONS = "examples/data/policy_natural_questions.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shares", type=float, nargs="+", default=[0.5, 1.0, 2.0])
    ap.add_argument("--near", type=float, nargs="+", default=[0.5], help="data.options.wrong_excerpt_near values")
    ap.add_argument("--near-miss", type=float, nargs="+", default=[0.0], help="data.options.near_miss_share values")
    ap.add_argument("--config", default="examples/policy-qa.yaml")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="applies to every arm")
    ap.add_argument("--tag", default="", help="prefix of the run folders of arms with --set")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=Path("runs/policy_refusal_share"))
    args = ap.parse_args()

    from lorakit.config import load_config
    from lorakit.pipeline import run

    config = args.config
    # a config with its own hand-written questions (the FHS) makes them the run's eval split, each with the excerpt
    # it was written from: that split (chat rows) is what the adapter is scored on, not the raw questions file
    own = load_config(config).data.options.get("questions")
    questions = str(own or HANDBOOK_QUESTIONS)
    doc = ("" if config == "examples/policy-qa.yaml" else Path(config).stem + "-") + (args.tag + "-" if args.tag else "")
    if args.set and not args.tag:
        ap.error("--set changes every arm: name its runs with --tag")
    rows, notes = [], []
    for seed in args.seeds:
        for share, near, miss in [(s, n, m) for s in args.shares for n in args.near for m in args.near_miss]:
            name = f"{doc}share{share:g}" + ("" if near == 0.5 else f"-near{near:g}") + (f"-nm{miss:g}" if miss else "")
            out = args.workdir / f"{name}-s{seed}"  # defaults left out of the name and the config: older runs reused
            sets = [f"output_dir={out}", f"train.seed={seed}", f"data.options.wrong_excerpt_share={share}",
                    *([] if near == 0.5 else [f"data.options.wrong_excerpt_near={near}"]),
                    *([f"data.options.near_miss_share={miss}"] if miss else []),
                    "eval.general_prompts=0", "eval.models=[tuned]", *args.set]
            t0 = time.perf_counter()
            run(load_config(config, sets))
            wall = time.perf_counter() - t0
            rec = json.loads((out / "adapter" / "run_record.json").read_text())
            cats = json.loads((out / "data" / "policy_record.json").read_text())["files"]["train"]["categories"]
            notes.append(f"- share {share:g}, near {near:g}, near miss {miss:g}, seed {seed}: {rec['examples']} train rows {cats or ''}, "
                         f"{rec['seconds']:.0f} s training, {wall / 60:.1f} min for the run")
            print(notes[-1], flush=True)
            for context in ("given", "retrieved"):
                cells, _ = tuned_on_questions(config, out, str(out / "data" / "eval.jsonl") if own else questions,
                                              context, args.k, args.set)
                rows.append(f"| {share:g} | {near:g} | {miss:g} | {seed} | {context} | {cells} |")
                print(rows[-1], flush=True)
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores; {config} on {questions}\n")
    print("| wrong_excerpt_share | wrong_excerpt_near | near_miss_share | seed | excerpt | items | " + " | ".join(METRICS)
          + f" | recall@{args.k} |")
    print("|" + "---|" * (len(METRICS) + 7))
    print("\n".join(rows + [""] + notes))


if __name__ == "__main__":
    main()
