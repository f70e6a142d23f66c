"""Policy QA beyond SFT: do DPO on the model's own mistakes and GRPO with the refusal-aware reward lower
over-refusal without raising hallucination, against more SFT for the same CPU time?

    .venv/bin/python benchmarks/policy_preference.py [--seed 0] [--samples 4] [--dpo-lr 1e-4] [--sft-weight 1]
        [--grpo-steps 40] [--grpo-lr 1e-4] [--k 3]

One after another on the same CPU, on the shipped handbook (examples/policy-qa.yaml, offline synthesis):

1. **SFT**: the example's recipe (its folder is shared with benchmarks/policy_refusal_share.py's share 0.5 run).
2. **SFT + DPO**: the SFT model answers its own train rows ``--samples`` times at temperature 1; every wrong
   answer (a refusal where the excerpt holds the answer, an answer where it does not, a wrong span) becomes
   a pair with the label chosen; DPO from the SFT adapter with an SFT term (``--sft-weight``). CPU time:
   mining + reference pass + training.
3. **SFT + GRPO**: ``--grpo-steps`` steps of 4 train rows x 4 answers at temperature 1, rewarded by the
   task's reward: 1 for the refusal when the excerpt lacks the answer, else the answer's token F1 (0 when
   refused): over-refusal and hallucination both cost the whole reward.
4. **SFT + more SFT (the control)**: from the same adapter, SFT on the same train rows for as many steps
   as the SFT run's seconds per step fit into the larger of the DPO and GRPO arms' extra CPU time.

Every adapter answers the 47 hand-written questions (examples/data/policy_natural_questions.jsonl) with
the excerpt given and retrieved (BM25 top ``--k``). Prints one Markdown table, paired McNemar tests of
refusal and answer correctness against SFT, and each arm's CPU time.
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

CONFIG = "examples/policy-qa.yaml"
QUESTIONS = "examples/data/policy_natural_questions.jsonl"
ROOT = Path("runs/policy_preference")


def _train(overrides: list[str]) -> dict:
    from lorakit.config import load_config
    from lorakit.pipeline import adapter_is_current, train_stage, training_input

    cfg = load_config(CONFIG, overrides + ["eval.general_prompts=0"])
    t0 = time.perf_counter()
    if not adapter_is_current(cfg, training_input(cfg)):
        train_stage(cfg)
    record = json.loads((cfg.output_dir / "adapter" / "run_record.json").read_text())
    return {"cfg": cfg, "record": record, "wall": time.perf_counter() - t0}


def _correct(row: dict) -> bool:
    """An item answered as due: the refusal where it is due, a non-refusal with token F1 >= 0.5 elsewhere."""
    s = row["scores"]
    if s.get("refusal_recall") is not None:
        return bool(s["refusal_recall"])
    return s["answer_f1"] >= 0.5  # 0 when refused


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--samples", type=int, default=4, help="DPO mining: answers per train row at temperature 1")
    ap.add_argument("--dpo-lr", type=float, default=1e-4)
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--sft-weight", type=float, default=1.0)
    ap.add_argument("--grpo-steps", type=int, default=40)
    ap.add_argument("--grpo-lr", type=float, default=1e-4)
    ap.add_argument("--k", type=int, default=3)
    args = ap.parse_args()

    from lorakit.eval.stats import mcnemar

    # as benchmarks/policy_refusal_share.py sets it, so its share-0.5 adapter is reused (options compare as given)
    common = [f"train.seed={args.seed}", "data.options.wrong_excerpt_share=0.5"]
    sft = _train([f"output_dir=runs/policy_refusal_share/share0.5-s{args.seed}", *common])
    sft_dir = sft["cfg"].output_dir
    dpo = _train([f"output_dir={ROOT / f'dpo_s{args.seed}'}", *common, "train.method=dpo",
                  f"train.init_from={sft_dir}", f"train.dpo.samples={args.samples}", "train.dpo.temperature=1.0",
                  f"train.lr={args.dpo_lr}", f"train.dpo.beta={args.beta}", f"train.dpo.sft_weight={args.sft_weight}",
                  "train.epochs=1", "train.warmup_ratio=0.1", "train.batch_size=4"])
    mined = json.loads((dpo["cfg"].output_dir / "data" / "pairs.jsonl.record.json").read_text())
    ref_s = dpo["record"].get("reference_seconds", 0.0)
    dpo_extra = mined["seconds"] + ref_s + dpo["record"]["seconds"]
    grpo = _train([f"output_dir={ROOT / f'grpo_s{args.seed}'}", *common, "train.method=grpo",
                   f"train.init_from={sft_dir}", f"train.max_steps={args.grpo_steps}", "train.batch_size=4",
                   "train.grpo.samples=4", "train.grpo.temperature=1.0", f"train.lr={args.grpo_lr}",
                   "train.warmup_ratio=0.1", "train.log_every=1"])
    grpo_extra = grpo["record"]["seconds"]
    per_step = sft["record"]["seconds"] / sft["record"]["steps"]
    steps = max(1, round(max(dpo_extra, grpo_extra) / per_step))
    more = _train([f"output_dir={ROOT / f'more_s{args.seed}_{steps}'}", *common, f"train.init_from={sft_dir}",
                   f"train.max_steps={steps}", "train.epochs=10", "train.warmup_ratio=0.1"])
    cpu = {"SFT": sft["record"]["seconds"], "SFT + more SFT (control)": more["record"]["seconds"],
           "SFT + DPO on mined pairs": dpo_extra, "SFT + GRPO, refusal-aware reward": grpo_extra}
    rows, preds = [], {}
    for arm, run in zip(cpu, (sft, more, dpo, grpo)):
        for context in ("given", "retrieved"):
            cells, _ = tuned_on_questions(CONFIG, run["cfg"].output_dir, QUESTIONS, context, args.k)
            out = run["cfg"].output_dir / "evals" / f"questions_{context}"
            preds[(arm, context)] = [json.loads(x) for x in
                                     (out / "eval" / "tuned" / "predictions.jsonl").read_text().splitlines()]
            rows.append(f"| {arm} | {context} | {cells} | {cpu[arm]:.0f} |")
            print(rows[-1], flush=True)
    tests = []
    for arm in list(cpu)[1:]:
        for context in ("given", "retrieved"):
            a = [_correct(r) for r in preds[("SFT", context)]]
            b = [_correct(r) for r in preds[(arm, context)]]
            t = mcnemar(a, b)
            tests.append(f"- {arm}, {context}: +{t['b_only']} / -{t['a_only']}, p = {t['p_value']:.3f}")
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores; seed {args.seed}; DPO lr {args.dpo_lr:g}, beta "
          f"{args.beta:g}, sft_weight {args.sft_weight:g}, {mined['pairs']} pairs from {mined['answers']} answers "
          f"({mined['by_error']}); GRPO {args.grpo_steps} steps, lr {args.grpo_lr:g}; control {steps} SFT steps\n")
    print("| arm | excerpt | items | " + " | ".join(METRICS) + f" | recall@{args.k} | CPU s (training; extra for the "
          "arms after SFT) |")
    print("|" + "---|" * (len(METRICS) + 5))
    print("\n".join(rows + ["", "Items answered as due (refusal where due, else F1 >= 0.5), paired against SFT "
                                "(McNemar: + only the arm, - only SFT):", *tests]))


if __name__ == "__main__":
    main()
