"""Support tickets: length-grouped batches (lorakit's default) against uniformly random batches, the demo recipe.

    .venv/bin/python benchmarks/batch_order.py [--data-seed 2] [--train-seeds 0 1 2]

For every training seed (``train.seed``: the LoRA init and the batch order), the demo recipe
(examples/support_ticket_demo.yaml: 400 steps of 4 on the first 1600 train rows of ``data.seed``) is
trained twice, one after the other on the same CPU: with ``train.group_by_length`` true (batches of rows of
similar length, little padding) and false (the rows in shuffled order, cut into batches, as HF's Trainer
samples). Each adapter is evaluated on the preference benchmark's acceptance items (the eval split of
data seed 0, all 800, free greedy decoding), and the arms are compared by ``lorakit compare`` (the
training seeds' spread in the interval). Prints each run's training seconds and tokens/s, its metrics, and
the comparison. Runs and evaluations live beside preference_tuning.py's (``runs/pt``); the length-grouped
run of training seed 0 is that benchmark's SFT arm (``sft_s{data seed}``), reused when current.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import preference_tuning as P  # noqa: E402  (its training and acceptance evaluation, shared)


def _name(grouped: bool, data_seed: int, train_seed: int) -> str:
    if grouped and train_seed == 0:
        return f"sft_s{data_seed}"  # preference_tuning.py's SFT arm: the same settings
    return f"sft_{'grouped' if grouped else 'random'}_s{data_seed}_t{train_seed}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-seed", type=int, default=2)
    ap.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()

    from lorakit.config import load_config
    from lorakit.data.ensure import ensure_data

    _, accept = ensure_data(load_config(P.DEMO, [f"output_dir={P.ROOT / 'accept'}", "data.seed=0"]))
    evals = {True: [], False: []}
    for train_seed in args.train_seeds:
        for grouped in (True, False):
            name = _name(grouped, args.data_seed, train_seed)
            run = P._run_train([f"output_dir={P.ROOT / name}", f"data.seed={args.data_seed}",
                                f"train.seed={train_seed}", f"train.group_by_length={grouped}"])
            overall, _ = P._evaluate(run["cfg"].output_dir, args.data_seed, accept, name)
            rec = run["record"]
            print(f"{name}: trained in {rec['seconds']} s at {rec['tokens_per_second']} tokens/s; "
                  + ", ".join(f"{k} {100 * overall[k]:.1f}%" for k in P.METRICS), flush=True)
            evals[grouped].append(str(P.ROOT / "eval" / name))
    lorakit = Path(sys.executable).with_name("lorakit")
    subprocess.run([str(lorakit), "compare", ",".join(evals[True]), ",".join(evals[False]),
                    "--metric", "exact_match", "--metric", "field:intent", "--metric", "field:priority"], check=True)


if __name__ == "__main__":
    main()
