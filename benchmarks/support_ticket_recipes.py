"""Support tickets: which training budget buys intent accuracy on the 800-item hard eval split?

    .venv/bin/python benchmarks/support_ticket_recipes.py [--recipes 200x8 400x4 400x8 800x2] [--lr 1e-3]
        [--set train.neftune_alpha=5 --set model.name=gemma3-270m ...]

Trains the demo's model (SmolLM2-135M unless --set model.name=...) once per recipe (optimizer steps
x batch size, lr 1e-3, cosine, LoRA r16 on all linear layers, the demo's settings otherwise) on the demo's generated data, evaluates the tuned model
on all 800 eval items, and prints one Markdown table with the training seconds of each run. Each run
has its own folder under runs/; a run whose adapter is already current is only re-evaluated. One
run takes 10-20 minutes on 2 cores; they run one after another (sharing the CPU would skew the
timings).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

METRICS = ["field:intent", "field:priority", "exact_match", "valid_json", "schema_valid"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--recipes", nargs="+", default=["200x8", "400x4", "400x8", "800x2"],
                    help="STEPSxBATCH; the examples used are steps x batch (one epoch)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="any further config override, e.g. train.neftune_alpha=5 or model.name=gemma3-270m")
    args = ap.parse_args()

    from lorakit.config import load_config
    from lorakit.pipeline import run

    extra = ", ".join(args.set)
    lines = [f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, lr {args.lr:g}"
             + (f", {extra}" if extra else ""), "",
             "| steps x batch | examples | train s | " + " | ".join(m.replace("field:", "") for m in METRICS)
             + " | wall |", "|" + "---|" * (len(METRICS) + 4)]
    tag = "".join(c if c.isalnum() else "_" for c in extra)
    for recipe in args.recipes:
        steps, batch = (int(x) for x in recipe.split("x"))
        out = Path("runs") / f"st_recipe_{recipe}_lr{args.lr:g}{'_' + tag if tag else ''}"
        cfg = load_config("examples/support_ticket_demo.yaml", [
            f"output_dir={out}", f"train.batch_size={batch}", f"train.max_examples={steps * batch}",
            f"train.lr={args.lr}", "eval.limit=null", "eval.models=[tuned]", "eval.decoding=[free]", "eval.kl_items=0",
            *args.set])
        t0 = time.perf_counter()
        run(cfg)
        wall = time.perf_counter() - t0
        res = json.loads((out / "results.json").read_text())
        o = res["models"]["tuned"]["overall"]
        record = json.loads((out / "adapter" / "run_record.json").read_text())
        cells = [f"{100 * o[m]:.1f}%" for m in METRICS]
        lines.append(f"| {steps} x {batch} | {steps * batch} | {record['seconds']:.0f} | " + " | ".join(cells)
                     + f" | {wall / 60:.1f} min |")
        print(lines[-1], flush=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
