"""Training-speed levers side by side, in alternating rounds (the machine's speed drifts).

    .venv/bin/python benchmarks/side_by_side.py --compare compile [--rounds 2] [--warmup 4] [--steps 12] [--batch-size 8]
    .venv/bin/python benchmarks/side_by_side.py --compare packing --batch-size 4
    .venv/bin/python benchmarks/side_by_side.py --compare attention [--batch-size 4]

Each arm is a child process (clean peak RSS) on SmolLM2-135M, the same support-ticket rows and schedule, with
tcmalloc preloaded when the machine has it (as the ``lorakit`` command runs). Arms come in pairs, a lever off
then on, and differ only in the pair's config overrides:

- ``compile``: ``train.compile`` false / true, at LoRA dropout 0 and 0.05;
- ``packing``: ``train.packing`` false / true, eager and compiled (LoRA dropout 0, as the demo trains);
- ``attention``: ``train.attention`` eager / sdpa (not compiled, LoRA dropout 0).

The first ``--warmup`` steps (which hold any compiling) are not timed; the next ``--steps`` are. Rounds repeat
the arms in the same order, so a drift of the machine's speed shows as a difference between rounds rather
than between arms. Prints tokens/s, each pair's on / off ratio, and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

COMPARISONS = {
    "compile": [(f"{name}, dropout {d}", [f"train.compile={c}", f"train.lora.dropout={d}"])
                for d in (0.0, 0.05) for name, c in (("eager", "false"), ("compiled", "true"))],
    "packing": [(f"{name}, {mode}", [f"train.packing={p}", f"train.compile={c}", "train.lora.dropout=0"])
                for mode, c in (("eager", "false"), ("compiled", "true")) for name, p in (("padded", "false"),
                                                                                        ("packed", "true"))],
    "attention": [(f"{name}, dropout 0", [f"train.attention={a}", "train.compile=false", "train.lora.dropout=0"])
                  for name, a in (("eager", "eager"), ("sdpa", "sdpa"))],
}


def _child(args) -> None:
    from lorakit.config import load_config
    from lorakit.train.trainer import TrainRecipe

    data = Path(args.workdir) / "data"
    n = (args.warmup + args.steps) * args.batch_size
    cfg = load_config(None, [f"output_dir={args.out}", f"data.train_file={data / 'train.jsonl'}",
                             f"data.eval_file={data / 'eval.jsonl'}", f"train.max_steps={args.warmup + args.steps}",
                             f"train.max_examples={n}", f"train.batch_size={args.batch_size}", "train.lr=1e-3",
                             "train.checkpoint_every=100000", *json.loads(args.arm)])
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


def _table(arms, rows) -> None:
    names = [name for name, _ in arms]
    print("\n| round | " + " | ".join(names) + " | peak RSS (MB), same order |")
    print("|---|" + "---|" * (len(names) + 1))
    for row in rows:
        cells = []
        for i, name in enumerate(names):
            rate = row[name]["tokens_per_second"]
            if i % 2:  # the second of a pair: the lever on
                cells.append(f"{rate} ({rate / row[names[i - 1]]['tokens_per_second']:.2f}x)")
            else:
                cells.append(f"{rate}")
        rss = " / ".join(str(row[name]["peak_rss_mb"]) for name in names)
        print(f"| {row['round']} | " + " | ".join(cells) + f" | {rss} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--compare", choices=sorted(COMPARISONS), required=True)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=4)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--workdir", default="runs/bench_side_by_side")
    ap.add_argument("--arm", help=argparse.SUPPRESS)  # a child: its JSON list of config overrides
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.arm is not None:
        return _child(args)

    from lorakit.data.gen import gen
    from lorakit.runtime import find_tcmalloc

    data = Path(args.workdir) / "data"
    if not (data / "train.jsonl").is_file():
        gen("support_ticket", data, n_train=2000, n_eval=100, seed=0)
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    if find_tcmalloc():
        env["LD_PRELOAD"] = ":".join(p for p in (find_tcmalloc(), env.get("LD_PRELOAD", "")) if p)
    arms, rows = COMPARISONS[args.compare], []
    for r in range(1, args.rounds + 1):
        row = {"round": r}
        for i, (name, overrides) in enumerate(arms):
            cmd = [sys.executable, __file__, "--compare", args.compare, "--arm", json.dumps(overrides),
                   "--out", str(Path(args.workdir) / f"{args.compare}-r{r}-{i}"), "--workdir", args.workdir,
                   "--warmup", str(args.warmup), "--steps", str(args.steps), "--batch-size", str(args.batch_size)]
            res = json.loads(subprocess.run(cmd, check=True, env=env, capture_output=True, text=True)
                             .stdout.strip().splitlines()[-1])
            row[name] = res
            print(f"round {r} {name}: {json.dumps(res)}", flush=True)
        rows.append(row)
    _table(arms, rows)


if __name__ == "__main__":
    main()
