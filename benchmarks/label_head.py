"""A label task two ways, side by side: a classification head vs generating the label (``train.head``).

    .venv/bin/python benchmarks/label_head.py [--config examples/shop-intents.yaml] [--arms head,head-random,head-more,lm,lm-more]

Data lorakit did not make: ``examples/shop-intents.yaml`` reads 416 customer messages to an online
shop, written by hand (288 to train, 128 held out, 16 intents). Each arm is one ``lorakit run`` in its
own process, one after the other, on the same rows, with the same model, schedule and seed:

- ``head``: ``train.head=classification`` (label-word initialised head), 5 epochs;
- ``head-random``: the same with ``train.head_init=random`` (what the label-word start is worth);
- ``head-more``: the head with 8 epochs, the steps (and about the CPU time) of ``lm-more``;
- ``lm``: ``train.head=lm``, 5 epochs: the label generated token by token (free and constrained to the
  label set);
- ``lm-more``: ``train.head=lm`` with 8 epochs: the generation arm given more CPU time than the head.

Printed per arm: training seconds, label accuracy with its 95% bootstrap interval, macro-F1, and the
seconds to answer the 128 held-out messages (tuned arm; the head answers in one forward pass).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

ARMS = {
    "head": ["train.head=classification", "train.epochs=5", "eval.decoding=[free]"],
    "head-random": ["train.head=classification", "train.head_init=random", "train.epochs=5", "eval.decoding=[free]"],
    "head-more": ["train.head=classification", "train.epochs=8", "eval.decoding=[free]"],
    "lm": ["train.head=lm", "train.epochs=5", "eval.decoding=[free,constrained]"],
    "lm-more": ["train.head=lm", "train.epochs=8", "eval.decoding=[free,constrained]"],
}


def run_arm(config: str, name: str, workdir: Path, extra: list[str]) -> dict:
    out = workdir / name
    sets = [f"output_dir={out}", "eval.models=[tuned]", *ARMS[name], *extra]
    cmd = [sys.executable, "-m", "lorakit", "run", config] + [a for s in sets for a in ("--set", s)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=open(out.with_suffix(".log"), "w"))
    wall = time.perf_counter() - t0
    results = json.loads((out / "results.json").read_text())
    rows = {}
    for arm, r in results["models"].items():
        label_sets = [d for d in r.get("fields", {}).values() if d.get("kind") == "labels"]
        rows[arm] = {"accuracy": r["overall"].get("label_accuracy"),
                     "interval": r["intervals"].get("label_accuracy"),
                     "macro_f1": label_sets[0]["macro_f1"] if label_sets else None,
                     "answer_seconds": r["seconds"]}
    return {"arm": name, "train_seconds": results["training"]["seconds"], "steps": results["training"]["steps"],
            "wall_seconds": round(wall, 1), "eval": rows}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="examples/shop-intents.yaml")
    ap.add_argument("--arms", default="head,head-random,head-more,lm,lm-more")
    ap.add_argument("--workdir", default="runs/bench_label_head")
    ap.add_argument("--set", action="append", default=[], help="a config override for every arm")
    args = ap.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.processor() or platform.machine()}, {platform.system()}; config {args.config}")
    done = []
    for name in args.arms.split(","):
        done.append(run_arm(args.config, name, workdir, args.set))
        (workdir / "summary.json").write_text(json.dumps(done, indent=1))
    print("| arm | train s | steps | answered by | label accuracy (95% CI) | macro-F1 | s to answer 128 |")
    print("|---|---|---|---|---|---|---|")
    for d in done:
        for arm, r in d["eval"].items():
            ci = r["interval"] or [None, None]
            acc = f"{r['accuracy']:.1%} ({ci[0]:.1%}-{ci[1]:.1%})" if r["accuracy"] is not None else "-"
            f1 = f"{r['macro_f1']:.1%}" if r["macro_f1"] is not None else "-"
            print(f"| {d['arm']} | {d['train_seconds']} | {d['steps']} | {arm} | {acc} | {f1} | {r['answer_seconds']} |")
    print(f"summary: {workdir / 'summary.json'}")


if __name__ == "__main__":
    main()
