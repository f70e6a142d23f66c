"""Compiled vs eager training steps, side by side in alternating rounds (the machine's speed drifts).

    .venv/bin/python benchmarks/compile_side_by_side.py [--rounds 2] [--warmup 4] [--steps 12] [--batch-size 8]

Each arm is a child process (clean peak RSS) on SmolLM2-135M, the same support-ticket rows and schedule:
``train.compile`` true / false x LoRA dropout 0 / 0.05, with tcmalloc preloaded when the machine has it
(as the ``lorakit`` command runs). The first ``--warmup`` steps (which hold the compiling) are not timed;
the next ``--steps`` are. Rounds repeat the four arms in the same order, so a drift of the machine's speed
shows as a difference between rounds rather than between arms. Prints tokens/s, the compiled / eager
ratio per round and dropout, and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

ARMS = [(False, 0.0), (True, 0.0), (False, 0.05), (True, 0.05)]


def _child(args) -> None:
    from lorakit.config import load_config
    from lorakit.train.trainer import TrainRecipe

    data = Path(args.workdir) / "data"
    n = (args.warmup + args.steps) * args.batch_size
    cfg = load_config(None, [f"output_dir={args.out}", f"data.train_file={data / 'train.jsonl'}",
                             f"data.eval_file={data / 'eval.jsonl'}", f"train.max_steps={args.warmup + args.steps}",
                             f"train.max_examples={n}", f"train.batch_size={args.batch_size}", "train.lr=1e-3",
                             f"train.lora.dropout={args.dropout}", "train.checkpoint_every=100000",
                             f"train.compile={args.compile}"])
    recipe = TrainRecipe(cfg).setup()
    with recipe.training():
        for _ in range(args.warmup):
            recipe.train_step()
        tokens, seconds = recipe.tokens_seen, recipe.seconds
        for _ in range(args.steps):
            recipe.train_step()
    rate = (recipe.tokens_seen - tokens) / (recipe.seconds - seconds)
    print(json.dumps({"tokens_per_second": round(rate, 1), "compiled": recipe.compiled,
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=4)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--workdir", default="runs/bench_compile_side")
    ap.add_argument("--compile", help=argparse.SUPPRESS)
    ap.add_argument("--dropout", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.compile is not None:
        return _child(args)

    from lorakit.data.gen import gen
    from lorakit.runtime import find_tcmalloc

    data = Path(args.workdir) / "data"
    if not (data / "train.jsonl").is_file():
        gen("support_ticket", data, n_train=2000, n_eval=100, seed=0)
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    if find_tcmalloc():
        env["LD_PRELOAD"] = ":".join(p for p in (find_tcmalloc(), env.get("LD_PRELOAD", "")) if p)
    rows = []
    for r in range(1, args.rounds + 1):
        row = {"round": r}
        for compiled, dropout in ARMS:
            out = Path(args.workdir) / f"r{r}-{'compiled' if compiled else 'eager'}-{dropout}"
            cmd = [sys.executable, __file__, "--compile", str(compiled).lower(), "--dropout", str(dropout),
                   "--out", str(out), "--workdir", args.workdir, "--warmup", str(args.warmup),
                   "--steps", str(args.steps), "--batch-size", str(args.batch_size)]
            res = json.loads(subprocess.run(cmd, check=True, env=env, capture_output=True, text=True)
                             .stdout.strip().splitlines()[-1])
            row[(compiled, dropout)] = res
            print(f"round {r} compile={compiled} dropout={dropout}: {json.dumps(res)}", flush=True)
        rows.append(row)
    print("\n| round | dropout 0: eager | dropout 0: compiled | 0.05: eager | 0.05: compiled | "
          "peak RSS (MB): eager 0 / 0.05, compiled 0 / 0.05 |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        cells = []
        for dropout in (0.0, 0.05):
            eager, comp = row[(False, dropout)], row[(True, dropout)]
            ratio = comp["tokens_per_second"] / eager["tokens_per_second"]
            cells += [f"{eager['tokens_per_second']}", f"{comp['tokens_per_second']} ({ratio:.2f}x)"]
        rss = (f"{row[(False, 0.0)]['peak_rss_mb']} / {row[(False, 0.05)]['peak_rss_mb']}, "
               f"{row[(True, 0.0)]['peak_rss_mb']} / {row[(True, 0.05)]['peak_rss_mb']}")
        print(f"| {row['round']} | " + " | ".join(cells) + f" | {rss} |")


if __name__ == "__main__":
    main()
