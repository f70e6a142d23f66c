"""The tuned demo adapter in real llama.cpp: same items, same greedy decoding, answer by answer.

    make llama-cpp   # once: compiles llama-cpp-python (no binary wheel for this platform), caches the wheel
    .venv/bin/python benchmarks/llama_cpp_parity.py runs/support_ticket --items 40

Exports the run as GGUF (f16 and q8_0) with ``lorakit export --check`` (which itself compares the
tokenizer metadata with the source GGUF and re-answers with llama.cpp), then answers the first N
eval items with lorakit in-process (the model ``lorakit eval`` evaluates, fp32) and with llama.cpp
on each file (chat prompt rendered by the training template, tokenized by llama.cpp from the GGUF's
own vocabulary), and prints one Markdown row per arm: answers identical to lorakit's, prompts
tokenized identically, valid JSON, intent, priority, exact match.

Then, for each file, llama.cpp's own OpenAI-compatible server (``python -m llama_cpp.server``) serves
it on loopback and ``lorakit eval RUN --backend openai`` (the CLI, as a user runs it) answers the
same items with free decoding and with the task's schema as ``response_format``; its rows show how
many free answers equal lorakit's in-process ones.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path


def server_eval(run: Path, gguf: Path, items: int, quant: str) -> tuple[dict[str, list[str]], float, str]:
    """``lorakit eval RUN --backend openai`` against ``llama_cpp.server`` serving ``gguf``: answers per arm."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _loopback import free_port, wait_until_up

    port, out = free_port(), run / "evals" / f"llama-server-{quant}"
    server = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias",
                               "ticket", "--port", str(port), "--n_ctx", "4096"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/v1/models")
        cmd = ["lorakit", "eval", str(run), "--out", str(out), "--backend", "openai",
               "--base-url", f"http://127.0.0.1:{port}/v1", "--served", "tuned=ticket", "--decoding", "free",
               "--decoding", "constrained", "--set", "eval.models=[tuned]", "--set", f"eval.limit={items}",
               "--set", "eval.openai.extra_body={repeat_penalty: 1.0}", "--set", "eval.openai.concurrency=1"]
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "lorakit"] + cmd[1:], check=True)
        seconds = time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(timeout=60)
    got = {arm: [json.loads(x)["raw_output"] for x in (out / "eval" / arm / "predictions.jsonl").read_text()
                 .splitlines()] for arm in ("tuned", "tuned+constrained")}
    return got, seconds, " ".join(cmd)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--items", type=int, default=40)
    args = ap.parse_args()

    from lorakit.data.chat import load_chat_jsonl
    from lorakit.data.tasks import get_task
    from lorakit.generation.generate import generate
    from lorakit.data.tasks.json_metrics import Scorer
    from lorakit.eval.metrics import aggregate
    from lorakit.eval.runner import load_for_eval
    from lorakit.errors import ExportError
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
        try:
            summary = export(args.run, "gguf", out, quant=quant, check=True,
                             check_items=min(args.items, 16))["check"]["summary"]
        except ExportError as e:  # a quantized file may flip an answer: recorded, and the arms still run
            summary = f"FAILED: {e}"
        t0 = time.perf_counter()
        got = llama_cpp_check(out / "model.gguf", tok, prompts, want, cfg.eval.max_new_tokens)
        arms[f"llama.cpp {quant}"] = (got["answers"], got["answers_identical"], got["prompt_ids_identical"],
                                      time.perf_counter() - t0, summary)
        served, seconds, command = server_eval(args.run, out / "model.gguf", args.items, quant)
        arms[f"llama.cpp server {quant}, free"] = (served["tuned"], sum(a == b for a, b in zip(served["tuned"], want)),
                                                   "n/a", seconds / 2, None)
        arms[f"llama.cpp server {quant}, response_format schema"] = (
            served["tuned+constrained"], sum(a == b for a, b in zip(served["tuned+constrained"], want)), "n/a",
            seconds / 2, None)
    print(f"\n{len(prompts)} eval items of {args.run}, greedy, max_new_tokens {cfg.eval.max_new_tokens}\n")
    print("| arm | answers identical to lorakit | prompts tokenized identically | valid JSON | intent | priority "
          "| exact match | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (answers, same, ids, seconds, _) in arms.items():
        o = aggregate([scorer.score(a, e) for a, e in zip(answers, expected)])
        ids = f"{ids}/{len(prompts)}" if isinstance(ids, int) else ids
        print(f"| {name} | {same}/{len(prompts)} | {ids} | {100 * o['valid_json']:.1f}% | "
              f"{100 * o['field:intent']:.1f}% | {100 * o['field:priority']:.1f}% | {100 * o['exact_match']:.1f}% "
              f"| {seconds:.0f} |")
    print(f"\nserver arms: {command} (both arms in one run: seconds split evenly)")
    for name, (*_, summary) in arms.items():
        if summary:
            print(f"\n`lorakit export --format gguf --check` ({name}): {summary}")


if __name__ == "__main__":
    main()
