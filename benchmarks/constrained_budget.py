"""Constrained decoding on a user's own schema with no length limits: does every answer fit the budget?

    .venv/bin/python benchmarks/constrained_budget.py runs/support_ticket --items 100 --max-new-tokens 128

The support-ticket shape as a user would write it: its own JSON Schema file, ``order_id`` a plain
``["string", "null"]``, no ``maxLength`` anywhere. The run's adapter and data are copied into
``RUN_budget/`` (the run itself is left alone), then base and tuned are evaluated free and
constrained on the first N eval items. Prints one Markdown row per arm: valid JSON, schema
compliance, intent, and how many answers the decoder had to close itself (``force_closed``).

``--overhead-items N`` then answers the first N items with the base model under the grammar twice
more, side by side: with the budget check and without it (the decoder before it had one), and
prints the time and the valid answers of each.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path


def user_schema(out: Path) -> Path:
    from lorakit.data.tasks import get_task

    schema = json.loads(json.dumps(get_task("support_ticket").schema))

    def unbound(node):
        if isinstance(node, dict):
            node.pop("maxLength", None)
            for value in node.values():
                unbound(value)

    unbound(schema)
    schema["properties"]["entities"]["properties"]["order_id"] = {"type": ["string", "null"]}
    path = out / "ticket_schema.json"
    path.write_text(json.dumps(schema, indent=2))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--items", type=int, default=100)
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--overhead-items", type=int, default=0)
    args = ap.parse_args()

    from lorakit.config import load_config
    from lorakit.eval.runner import evaluate

    out = args.run.parent / f"{args.run.name}_budget"
    for part in ("adapter", "data"):
        if (out / part).exists():
            shutil.rmtree(out / part)
        shutil.copytree(args.run / part, out / part)
    schema = user_schema(out)
    cfg = load_config(args.run / "config.yaml", [
        f"output_dir={out}", f"data.task={schema}", f"data.train_file={out / 'data' / 'train.jsonl'}",
        f"data.eval_file={out / 'data' / 'eval.jsonl'}", f"eval.limit={args.items}",
        f"eval.max_new_tokens={args.max_new_tokens}", "eval.decoding=[free,constrained]", "eval.kl_items=0"])
    results = evaluate(cfg)
    print(f"\n{results['n_items']} items, max_new_tokens {args.max_new_tokens}, schema {schema}\n")
    print("| arm | valid JSON | schema compliance | intent | force-closed | seconds |")
    print("|---|---|---|---|---|---|")
    for arm, res in results["models"].items():
        o = res["overall"]
        closed = res.get("force_closed")
        print(f"| {arm} | {100 * o['valid_json']:.0f}% | {100 * o['schema_valid']:.0f}% | "
              f"{100 * o['field:intent']:.0f}% | {'-' if closed is None else closed} | {res['seconds']} |")
    if args.overhead_items:
        overhead(cfg, args.overhead_items)


def overhead(cfg, n: int) -> None:
    """Base + grammar on ``n`` items with and without the budget check, side by side."""
    import time

    from lorakit.data.chat import load_chat_jsonl
    from lorakit.data.tasks import get_task
    from lorakit.generation.constrained import compile_schema
    from lorakit.generation.generate import generate
    from lorakit.eval.runner import load_for_eval
    from lorakit.runtime import setup_threads

    setup_threads()
    task = get_task(cfg.data.task)
    convs = [ex.prompt_messages(task.full_prompt) for ex in load_chat_jsonl(cfg.data.eval_file, limit=n)]
    model, tok, _ = load_for_eval(cfg, "base", "cpu", "bf16")
    grammar = compile_schema(task.schema)
    print(f"\nbase + grammar, {n} items, batch {cfg.eval.batch_size}, max_new_tokens {cfg.eval.max_new_tokens}\n")
    print("| decoder | seconds | valid JSON | force-closed |\n|---|---|---|---|")
    for label, on in (("closes within the budget", True), ("no budget check", False)):
        forced: set[int] = set()
        t0 = time.perf_counter()
        out = generate(model, tok, convs, batch_size=cfg.eval.batch_size, max_new_tokens=cfg.eval.max_new_tokens,
                       grammar=grammar, forced=forced, close_within_budget=on)
        seconds = time.perf_counter() - t0
        valid = sum(1 for text in out if _parses(text))
        print(f"| {label} | {seconds:.0f} | {valid}/{n} | {len(forced) if on else '-'} |")


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


if __name__ == "__main__":
    main()
