"""Per-token cost of grammar-constrained decoding vs free decoding, measured side by side.

    .venv/bin/python benchmarks/constrained_overhead.py [RUN_DIR] [--items 64] [--rounds 3]

Loads the run's tuned model (merged adapter; the base model when the run has none), answers the
same eval prompts with free and with constrained greedy decoding, alternating arms each round so
machine noise hits both alike, and reports generated tokens per second for each and the ratio.
Both arms produce the same answers when the tuned model already writes schema-valid JSON, so
the token counts match and the ratio is the processor's overhead.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir", nargs="?", default="runs/support_ticket")
    ap.add_argument("--items", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args()

    import torch

    from lorakit.config import load_config
    from lorakit.data.chat import load_chat_jsonl
    from lorakit.data.tasks import get_task
    from lorakit.generation.constrained import compile_schema
    from lorakit.generation.generate import generate
    from lorakit.eval.runner import load_for_eval
    from lorakit.runtime import pick_device, setup_threads
    from lorakit.runtime import resolve_precision

    threads = setup_threads()
    run_dir = Path(args.run_dir)
    cfg = load_config(run_dir / "config.yaml", [f"output_dir={run_dir}"])
    task = get_task(cfg.data.task)
    which = "tuned" if (run_dir / "adapter" / "adapter_config.json").is_file() else "base"
    device = pick_device(cfg.train.device)
    model, tok, system = load_for_eval(cfg, which, device, resolve_precision(device, cfg.train.precision))
    items = load_chat_jsonl(run_dir / "data" / "eval.jsonl", limit=args.items)
    prompts = [task.prompt(ex, which, "auto", system) for ex in items]
    grammar = compile_schema(task.schema)

    def arm(constrained: bool) -> tuple[float, int, list[str]]:
        t0 = time.perf_counter()
        out = generate(model, tok, prompts, batch_size=args.batch_size, max_new_tokens=cfg.eval.max_new_tokens,
                       grammar=grammar if constrained else None)
        seconds = time.perf_counter() - t0
        tokens = sum(len(tok(o, add_special_tokens=False)["input_ids"]) + 1 for o in out)  # + EOS
        return seconds, tokens, out

    arm(False)  # warm-up: first-call allocations and the llguidance tokenizer are not what we measure
    arm(True)
    res = {"free": [0.0, 0], "constrained": [0.0, 0]}
    same = True
    for r in range(args.rounds):
        for name in (["free", "constrained"] if r % 2 == 0 else ["constrained", "free"]):
            s, n, out = arm(name == "constrained")
            res[name][0] += s
            res[name][1] += n
            if name == "free":
                free_out = out
            else:
                con_out = out
        same = same and free_out == con_out
    tps = {k: n / s for k, (s, n) in res.items()}
    report = {
        "model": f"{cfg.model.name} ({which})", "items": len(items), "rounds": args.rounds,
        "batch_size": args.batch_size, "threads": threads, "device": device, "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "tokens_per_second": {k: round(v, 1) for k, v in tps.items()},
        "overhead_per_token": round(tps["free"] / tps["constrained"] - 1, 4),
        "identical_answers": same,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
