"""Support tickets: do DPO on the model's own mistakes and GRPO with the field reward beat more SFT
for the same CPU time?

    .venv/bin/python benchmarks/preference_tuning.py [--seeds 0 1 2] [--mine 800] [--dpo-lr 2e-4]
        [--beta 0.1] [--sft-weight 0] [--epochs 2] [--balance] [--grpo-steps 60] [--grpo-lr 1e-4]
        [--arms sft more dpo dpo-bal grpo] [--pairs-file PAIRS.jsonl] [--set KEY=VALUE ...]

For every data draw (``data.seed``), one after another on the same CPU:

1. **SFT**: the demo recipe (examples/support_ticket_demo.yaml: 400 steps of 4 on the first 1600 train rows).
2. **SFT + DPO**: from the SFT adapter, the SFT model answers train rows it has never seen (rows 1601 to
   1600 + ``--mine``), every wrong answer becomes a pair (label chosen, its answer rejected), and DPO
   trains on those pairs with the SFT model as the reference. Its CPU time counts the mining, the
   reference pass and the training.
3. **SFT + GRPO**: from the SFT adapter, ``--grpo-steps`` steps of 4 unseen train rows x 4 sampled
   answers (temperature 1), rewarded by the task's scorer (0 not JSON, 0.2 valid, +0.1 schema, +0.7 x
   share of fields right); no KL term.
4. **SFT + more SFT (the control)**: from the same SFT adapter, SFT on the next unseen train rows
   for as many steps as fit in the larger of the DPO and GRPO arms' extra CPU time (of those that
   ran; at the SFT run's seconds per step), at the DPO arm's lr.

Every adapter is evaluated on the same 800 items: the acceptance split (the eval split of data seed
0), free greedy decoding, tuned model only. Prints one Markdown table (means over the draws, each
draw's values, and per draw a paired McNemar test of intent and exact match against SFT). Runs
whose adapter is current are not retrained; an evaluation newer than its adapter is reused.
``--arms sft dpo`` runs a subset (the control takes its CPU time from whichever of dpo and grpo ran,
so it needs one of them); ``--balance`` mines balanced pairs (``train.dpo.balance``). The arm
``dpo-bal`` trains DPO again on the dpo arm's own mined pairs, balanced as ``train.dpo.balance`` would
balance them: the same start and the same answers, so it tests balancing alone (paired against SFT and
against the unbalanced arm).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

DEMO = "examples/support_ticket_demo.yaml"
METRICS = ["field:intent", "field:priority", "exact_match", "valid_json", "schema_valid"]
ROOT = Path("runs/pt")


def _run_train(overrides: list[str]) -> dict:
    from lorakit.config import load_config
    from lorakit.pipeline import adapter_is_current, train_stage, training_input

    cfg = load_config(DEMO, overrides)
    t0 = time.perf_counter()
    if not adapter_is_current(cfg, training_input(cfg)):
        train_stage(cfg)
    wall = time.perf_counter() - t0
    record = json.loads((cfg.output_dir / "adapter" / "run_record.json").read_text())
    return {"cfg": cfg, "record": record, "wall": wall}


def _dpo_arm(args, out: Path, common: list[str], sft: dict, pairs: Path | None) -> dict:
    """DPO from the SFT adapter on ``pairs`` (None: mined into the run from the next unseen train rows)."""
    return _run_train([f"output_dir={out}", *common, "train.method=dpo",
                       f"train.init_from={sft['cfg'].output_dir}",
                       f"train.first_example={sft['cfg'].train.max_examples}",
                       f"train.max_examples={args.mine}", f"train.lr={args.dpo_lr}",
                       f"train.dpo.beta={args.beta}", f"train.dpo.sft_weight={args.sft_weight}",
                       f"train.dpo.balance={args.balance}", f"train.epochs={args.epochs}",
                       "train.warmup_ratio=0.1", *([f"train.dpo.pairs_file={pairs}"] if pairs else [])])


def _balanced_copy(pairs: Path, mined: dict) -> tuple[Path, dict[str, int]]:
    """``pairs`` balanced as ``train.dpo.balance`` mines them, beside it, with a mining record whose seconds are
    the original's (the answers are the same ones, mined once)."""
    from lorakit.eval.pairs import balance_pairs
    from lorakit.io import write_json, write_jsonl

    rows = [json.loads(line) for line in pairs.read_text().splitlines() if line.strip()]
    kept, dropped = balance_pairs(rows)
    out = pairs.with_name(pairs.stem + ".balanced.jsonl")
    write_jsonl(out, kept)  # always rewritten: the same pairs give the same bytes, so the DPO run stays current
    write_json(out.with_name(out.name + ".record.json"),
               {**mined, "pairs": len(kept), "balanced": True, "dropped_by_balance": dropped,
                "balanced_from": str(pairs)})
    return out, dropped


def _evaluate(run_dir: Path, seed: int, accept: Path, name: str) -> tuple[dict, list[dict]]:
    from lorakit.config import load_config
    from lorakit.eval.runner import evaluate

    out = ROOT / "eval" / name
    done, adapter = out / "results.json", run_dir / "adapter" / "adapter_model.safetensors"
    if done.is_file() and done.stat().st_mtime > adapter.stat().st_mtime:
        print(f"reusing the evaluation in {out} (newer than {adapter})", flush=True)
        return _read_eval(out)
    cfg = load_config(DEMO, [f"output_dir={out}", f"data.seed={seed}", f"data.eval_file={accept}",
                             f"eval.run_dir={run_dir}", "eval.limit=null", "eval.models=[tuned]",
                             "eval.decoding=[free]", "eval.kl_items=0"])
    evaluate(cfg)
    return _read_eval(out)


def _read_eval(out: Path) -> tuple[dict, list[dict]]:
    res = json.loads((out / "results.json").read_text())
    rows = [json.loads(line) for line in (out / "eval" / "tuned" / "predictions.jsonl").read_text().splitlines()]
    return res["models"]["tuned"]["overall"], rows


def _reward_span(run_dir: Path) -> str:
    """GRPO's mean reward over the first and the last 10 logged steps."""
    log = [json.loads(line) for line in (run_dir / "train_log.jsonl").read_text().splitlines()]
    first, last = log[:10], log[-10:]
    return (f"{sum(r['reward'] for r in first) / len(first):.3f} in the first 10 steps -> "
            f"{sum(r['reward'] for r in last) / len(last):.3f} in the last 10")


def _paired(a: list[dict], b: list[dict], metric: str) -> str:
    from lorakit.eval.stats import mcnemar

    t = mcnemar([r["scores"][metric] for r in a], [r["scores"][metric] for r in b])
    return f"+{t['b_only']}/-{t['a_only']} p={t['p_value']:.3f}"


def _table(args, arms: dict, notes: list[str], out: Path) -> None:
    """The Markdown table of the draws done so far (written after every draw, so a stopped run keeps them)."""
    lines = [f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; DPO lr {args.dpo_lr:g}, "
             f"beta {args.beta:g}, sft_weight {args.sft_weight:g}, {args.epochs:g} epochs, balance {args.balance}; GRPO lr {args.grpo_lr:g}, "
             f"{args.grpo_steps} steps; seeds {args.seeds}", "",
             "| arm | intent | exact match | priority | valid JSON | schema | CPU s (mean) |", "|---|---|---|---|---|---|---|"]
    for arm, runs in arms.items():
        def cell(m):
            vals = [100 * r["overall"][m] for r in runs]
            return f"{sum(vals) / len(vals):.1f}% ({' / '.join(f'{v:.1f}' for v in vals)})"
        cpu = sum(r["cpu"] for r in runs) / len(runs)
        lines.append(f"| {arm} | {cell('field:intent')} | {cell('exact_match')} | {cell('field:priority')} | "
                     f"{cell('valid_json')} | {cell('schema_valid')} | {cpu:.0f} |")
    lines += ["", "Paired against SFT on the same 800 items (McNemar; +items only the arm gets right / -items only SFT):"]
    for arm, runs in list(arms.items())[1:]:
        for r in runs:
            lines.append(f"- {arm}, seed {r['seed']}: {r['tests']}")
    lines += ["", *notes]
    print("\n".join(lines))
    out.write_text("\n".join(lines) + "\n")
    print(f"written to {out}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--mine", type=int, default=800, help="unseen train rows the SFT model answers for pairs")
    ap.add_argument("--dpo-lr", type=float, default=2e-4)
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--sft-weight", type=float, default=0.0)
    ap.add_argument("--epochs", type=float, default=2.0, help="DPO epochs over the mined pairs")
    ap.add_argument("--balance", action="store_true", help="train.dpo.balance: no value rejected more than chosen")
    ap.add_argument("--arms", nargs="+", default=["sft", "more", "dpo", "grpo"], choices=["sft", "more", "dpo", "dpo-bal", "grpo"])
    ap.add_argument("--pairs-file", type=Path, help="the DPO arm trains on these pairs (train.dpo.pairs_file) "
                    "instead of mining its own; their mining record's seconds still count")
    ap.add_argument("--grpo-steps", type=int, default=60)
    ap.add_argument("--grpo-lr", type=float, default=1e-4)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="applies to every arm")
    args = ap.parse_args()
    if "dpo-bal" in args.arms and ("dpo" not in args.arms or args.balance):
        ap.error("dpo-bal trains on the dpo arm's mined pairs, balanced: it needs the dpo arm, without --balance")
    if "more" in args.arms and not {"dpo", "grpo"} & set(args.arms):
        ap.error("the control (more) takes its CPU time from the dpo or grpo arm: run at least one of them")

    from lorakit.config import load_config
    from lorakit.train.trainer import pairs_file

    accept_cfg = load_config(DEMO, [f"output_dir={ROOT / 'accept'}", "data.seed=0"])
    from lorakit.data.ensure import ensure_data

    _, accept = ensure_data(accept_cfg)  # the acceptance split: the eval split of data seed 0
    tag = f"lr{args.dpo_lr:g}_b{args.beta:g}_w{args.sft_weight:g}_e{args.epochs:g}_m{args.mine}"
    tag += "_bal" if args.balance else ""
    gtag = f"lr{args.grpo_lr:g}_s{args.grpo_steps}"
    names = {"sft": "SFT (demo recipe)", "more": "SFT + more SFT (control)", "dpo": "SFT + DPO on mined pairs",
             "grpo": "SFT + GRPO with the field reward"}
    names["dpo-bal"] = "SFT + DPO on the same pairs, balanced"
    if args.balance:
        names["dpo"] = "SFT + DPO on balanced mined pairs"
    arms: dict[str, list] = {names[a]: [] for a in ("sft", "more", "dpo", "dpo-bal", "grpo") if a == "sft" or a in args.arms}
    notes = []
    for seed in args.seeds:
        common = [f"data.seed={seed}", *args.set]
        sft = _run_train([f"output_dir={ROOT / f'sft_s{seed}'}", *common])
        sft_dir = sft["cfg"].output_dir
        sft_rows = sft["cfg"].train.max_examples
        runs, base_s, note = {"sft": sft}, sft["record"]["seconds"], f"seed {seed}:"
        cpu = {"sft": base_s}
        if "dpo" in args.arms:
            dpo = _dpo_arm(args, ROOT / f"dpo_s{seed}_{tag}", common, sft, args.pairs_file)
            pairs = pairs_file(dpo["cfg"])  # mined into the run, or --pairs-file
            mined = json.loads(pairs.with_name(pairs.name + ".record.json").read_text())
            ref_s = dpo["record"].get("reference_seconds", 0.0)
            runs["dpo"], cpu["dpo"] = dpo, base_s + mined["seconds"] + ref_s + dpo["record"]["seconds"]
            note += (f" {mined['items']} unseen rows mined in {mined['seconds']:.0f} s -> {mined['pairs']} pairs "
                     f"({mined['by_error']}; dropped to balance: {mined.get('dropped_by_balance') or 'none'}); "
                     f"DPO {dpo['record']['steps']} steps in {dpo['record']['seconds']:.0f} s (+ reference "
                     f"{ref_s:.0f} s);")
            if "dpo-bal" in args.arms:  # the same mined answers, balanced: a paired test of train.dpo.balance
                bal_pairs, dropped = _balanced_copy(pairs, mined)
                bal = _dpo_arm(args, ROOT / f"dpo_s{seed}_{tag}_balsub", common, sft, bal_pairs)
                ref_s = bal["record"].get("reference_seconds", 0.0)
                runs["dpo-bal"] = bal
                cpu["dpo-bal"] = base_s + mined["seconds"] + ref_s + bal["record"]["seconds"]
                note += (f" balanced copy: {sum(dropped.values())} pairs dropped ({dropped or 'none'}), DPO "
                         f"{bal['record']['steps']} steps in {bal['record']['seconds']:.0f} s (+ reference "
                         f"{ref_s:.0f} s);")
        if "grpo" in args.arms:
            grpo = _run_train([f"output_dir={ROOT / f'grpo_s{seed}_{gtag}'}", *common, "train.method=grpo",
                               f"train.init_from={sft_dir}", f"train.first_example={sft_rows}",
                               f"train.max_examples={args.grpo_steps * 4}", f"train.max_steps={args.grpo_steps}",
                               "train.batch_size=4", "train.grpo.samples=4", "train.grpo.temperature=1.0",
                               f"train.lr={args.grpo_lr}", "train.warmup_ratio=0.1", "train.log_every=1"])
            runs["grpo"], cpu["grpo"] = grpo, base_s + grpo["record"]["seconds"]
            note += (f" GRPO {args.grpo_steps} steps in {grpo['record']['seconds']:.0f} s "
                     f"(reward {_reward_span(grpo['cfg'].output_dir)});")
        if "more" in args.arms:
            per_step = sft["record"]["seconds"] / sft["record"]["steps"]
            longest = max(cpu[k] for k in ("dpo", "grpo") if k in cpu)  # the arms that ran
            steps = max(1, round((longest - base_s) / per_step))
            batch = sft["cfg"].train.batch_size
            # The folder names the arms that set its step count, so runs with other arms never share it.
            paced_by = "_".join(f"{k}-{t}" for k, t in (("dpo", tag), ("grpo", gtag)) if k in cpu)
            more = _run_train([f"output_dir={ROOT / f'more_s{seed}_{paced_by}'}", *common,
                               f"train.init_from={sft_dir}", f"train.first_example={sft_rows}",
                               f"train.max_examples={steps * batch}", f"train.lr={args.dpo_lr}",
                               "train.warmup_ratio=0.1"])
            runs["more"], cpu["more"] = more, base_s + more["record"]["seconds"]
            note += f" control {steps} SFT steps in {more['record']['seconds']:.0f} s"
        results = {}
        for key, run in runs.items():
            overall, rows = _evaluate(run["cfg"].output_dir, seed, accept, f"{run['cfg'].output_dir.name}")
            results[names[key]] = (overall, rows)
        cpu = {names[k]: v for k, v in cpu.items()}
        base_rows = results["SFT (demo recipe)"][1]
        for arm in arms:
            overall, rows = results[arm]
            tests = "" if arm.startswith("SFT (") else (
                f"intent {_paired(base_rows, rows, 'field:intent')}; exact {_paired(base_rows, rows, 'exact_match')}")
            if arm == names["dpo-bal"]:
                unbal = results[names["dpo"]][1]
                tests += (f"; against the unbalanced arm: intent {_paired(unbal, rows, 'field:intent')}, "
                          f"exact {_paired(unbal, rows, 'exact_match')}")
            arms[arm].append({"seed": seed, "overall": overall, "cpu": cpu[arm], "tests": tests})
        notes.append(note)
        print(notes[-1], flush=True)
        _table(args, arms, notes, ROOT / f"preference_tuning_{tag}_{gtag}_{'-'.join(args.arms)}.md")

if __name__ == "__main__":
    main()
