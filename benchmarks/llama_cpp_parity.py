"""The tuned demo adapter in real llama.cpp: same items, same greedy decoding, answer by answer.

    make llama-cpp   # once: compiles llama-cpp-python (no binary wheel for this platform), caches the wheel
    .venv/bin/python benchmarks/llama_cpp_parity.py runs/support_ticket --items 40

Exports the run as GGUF (f16 and q8_0) with ``lorakit export --check`` (which itself compares the
tokenizer metadata with the source GGUF and re-answers with llama.cpp), then answers the first N
eval items with lorakit in-process (the model ``lorakit eval`` evaluates, fp32) and with llama.cpp
on each file (chat prompt rendered by the training template, tokenized by llama.cpp from the GGUF's
own vocabulary), and prints one Markdown row per arm: answers identical to lorakit's, prompts
tokenized identically, valid JSON, intent, priority, exact match.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--items", type=int, default=40)
    args = ap.parse_args()

    from lorakit.data.chat import load_chat_jsonl
    from lorakit.data.tasks import get_task
    from lorakit.generation.generate import generate
    from lorakit.eval.metrics import Scorer, aggregate
    from lorakit.eval.runner import load_for_eval
    from lorakit.export import export
    from lorakit.export.artifacts import eval_sample
    from lorakit.export.gguf_check import llama_cpp_available, llama_cpp_check

    if not llama_cpp_available():
        raise SystemExit("llama-cpp-python is not installed: run `make llama-cpp` first")
    cfg, prompts = eval_sample(args.run, args.items)
    items = load_chat_jsonl(args.run / "data" / "eval.jsonl", limit=args.items)
    expected = [json.loads(ex.answer) for ex in items]
    scorer = Scorer(get_task(cfg.data.task).schema)
    model, tok, _ = load_for_eval(cfg, "tuned", "cpu", "fp32")
    t0 = time.perf_counter()
    want = generate(model, tok, prompts, batch_size=cfg.eval.batch_size, max_new_tokens=cfg.eval.max_new_tokens)
    arms = {"lorakit (transformers, fp32)": (want, len(prompts), len(prompts), time.perf_counter() - t0, None)}
    for quant in ("f16", "q8_0"):
        out = args.run / "export" / f"gguf-{quant}"
        rec = export(args.run, "gguf", out, quant=quant, check=True, check_items=min(args.items, 16))
        t0 = time.perf_counter()
        got = llama_cpp_check(out / "model.gguf", tok, prompts, want, cfg.eval.max_new_tokens)
        arms[f"llama.cpp {quant}"] = (got["answers"], got["answers_identical"], got["prompt_ids_identical"],
                                      time.perf_counter() - t0, rec["check"]["summary"])
    print(f"\n{len(prompts)} eval items of {args.run}, greedy, max_new_tokens {cfg.eval.max_new_tokens}\n")
    print("| arm | answers identical to lorakit | prompts tokenized identically | valid JSON | intent | priority "
          "| exact match | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (answers, same, ids, seconds, _) in arms.items():
        o = aggregate([scorer.score(a, e) for a, e in zip(answers, expected)])
        print(f"| {name} | {same}/{len(prompts)} | {ids}/{len(prompts)} | {100 * o['valid_json']:.1f}% | "
              f"{100 * o['field:intent']:.1f}% | {100 * o['field:priority']:.1f}% | {100 * o['exact_match']:.1f}% "
              f"| {seconds:.0f} |")
    for name, (*_, summary) in arms.items():
        if summary:
            print(f"\n`lorakit export --format gguf --check` ({name}): {summary}")


if __name__ == "__main__":
    main()
