"""lorakit's training vs the reference recipe, same model, data, effective batch and steps.

    .venv/bin/pip install -e '.[bench]'   # TRL and datasets, for the reference arm
    .venv/bin/python benchmarks/train_throughput.py [--steps 60] [--batch-size 8] [--eval-items 100]

Arms, each in its own child process (clean peak-RSS numbers), run one after the other:

- ``reference``: the published recipe: TRL ``SFTTrainer`` + PEFT LoRA (r16, alpha 32, dropout 0.05,
  all linear layers), loss on the whole sequence, padding to the longest example of each batch,
  fp32 on CPU (fp16 on CUDA);
- ``trl-best``: TRL's best CPU setting, the fair anchor: the same
  ``SFTTrainer`` with bf16 autocast (where the CPU has fast bf16) and conversational
  prompt-completion rows, so the loss is on the completion only;
- ``lorakit``: ``lorakit train`` with the library defaults (the same LoRA rank, alpha and layers; LoRA
  dropout 0, PEFT's default, since 2026-12-03): answer-only loss with the LM head on answer positions only,
  length-bucketed batches, bf16 autocast with a bf16 frozen base where the CPU supports it;
- ``lorakit-demo``: the demo config's settings, the same as ``lorakit`` since the default dropout became 0;
- ``lorakit-dropout``: as ``lorakit`` with LoRA dropout 0.05 (the default before
  2026-12-03, and the reference's);
- ``lorakit-compiled`` / ``lorakit-eager``, ``lorakit-dropout-compiled`` / ``lorakit-dropout-eager`` (and the
  ``lorakit-demo-`` ones; ask for them with ``--arms``): the same with ``train.compile`` true / false (the
  default, ``auto``, compiles runs of 150k tokens or more, 50k when an earlier run left the same layers in
  inductor's cache: the table's "compiled" column says "warm cache" then); the table shows tokens/s over the
  whole run and after step 1, which holds the compiling;
- ``lorakit-rank-dropout`` (ask for it with ``--arms``): as ``lorakit-demo`` plus
  ``train.lora.rank_dropout=0.2`` (dropout on LoRA A's output instead of its input), for its step cost;
- ``lorakit-qlora`` (ask for it with ``--arms``): as ``lorakit`` with the base in 4-bit NF4, for
  peak memory of LoRA vs QLoRA;
- any arm with ``+tcmalloc`` (``trl-best+tcmalloc``, ``lorakit-demo+tcmalloc``): the same arm with
  gperftools' tcmalloc preloaded (``apt install libtcmalloc-minimal4``), as the ``lorakit`` command
  does when the machine has it; every other arm runs on glibc's malloc.

Both see the first ``steps x batch`` rows of the same generated train file, the same learning-rate
schedule (cosine, 5% warm-up, lr 1e-3) and seed. Tokens/s counts real (non-padding) tokens. Each
adapter is then evaluated by ``lorakit eval`` on the same eval items. The bf16 matmul rate of the
machine (2048^3) is measured before and after the arms, and each arm's share of the better one is
4 x parameters x tokens/s over it. Beside it, the rate of the model's own products at one step's tokens
(a decoder layer's projections and their input gradients): how near the 2048^3 rate such small products
can come on this machine. Prints a JSON summary and a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _child_reference(out: Path, train_file: Path, steps: int, batch: int, lr: float, best: bool = False) -> dict:
    """TRL's SFTTrainer: the published recipe, or (``best``) TRL's best CPU setting: bf16 autocast on CPUs with
    fast bf16 and prompt-completion rows, so the loss is on the completion only."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    from lorakit.data.chat import load_chat_jsonl
    from lorakit.models.loader import load_tokenizer, local_model_dir, resolve_model
    from lorakit.runtime import setup_threads

    threads = setup_threads()
    model_dir = local_model_dir(resolve_model("smollm2-135m"))
    tok = load_tokenizer(model_dir)
    tok.padding_side = "right"
    examples = load_chat_jsonl(train_file, limit=steps * batch)
    if best:  # conversational prompt-completion rows: TRL's completion_only_loss applies
        ds = Dataset.from_list([{"prompt": ex.messages[:-1], "completion": ex.messages[-1:]} for ex in examples])
    else:
        ds = Dataset.from_list([{"messages": ex.messages} for ex in examples])
    cuda = torch.cuda.is_available()
    from lorakit.runtime import resolve_precision

    bf16 = best and resolve_precision("cuda" if cuda else "cpu", "auto") == "bf16"
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    args = SFTConfig(
        output_dir=str(out / "trl"), per_device_train_batch_size=batch, max_steps=steps, learning_rate=lr,
        lr_scheduler_type="cosine", warmup_steps=int(0.05 * steps), logging_steps=5, save_strategy="no", report_to=[],
        fp16=cuda and not bf16, bf16=bf16, use_cpu=not cuda, assistant_only_loss=False, packing=False,
        padding_free=False, completion_only_loss=True if best else None,
        max_length=512, dataloader_num_workers=0, seed=0,
    )
    peft_cfg = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM")
    from transformers import TrainerCallback

    class FirstStep(TrainerCallback):  # when step 1 ended, for the rate after it (as the lorakit arms report)
        at = None

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 1:
                FirstStep.at = time.perf_counter()

    trainer = SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tok, peft_config=peft_cfg,
                         callbacks=[FirstStep()])
    tokens = sum(len(r["input_ids"]) for r in trainer.train_dataset)
    t0 = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - t0
    adapter = out / "adapter"
    trainer.model.save_pretrained(adapter)
    tok.save_pretrained(adapter)
    system = examples[0].system
    (adapter / "run_record.json").write_text(json.dumps({"base_model": "smollm2-135m", "system_prompt": system}))
    # step 1's tokens: the mean step's (TRL's sampler order is not at hand here); its seconds are measured
    return {"seconds": seconds, "tokens": tokens, "threads": threads,
            "precision": "bf16" if bf16 else "fp16" if cuda else "fp32",
            "first_step": {"seconds": round(FirstStep.at - t0, 1), "tokens": round(tokens / steps)}}


TRL_ARMS = ("reference", "trl-best")
# what each lorakit arm changes in _child_lorakit's settings
LORAKIT_ARMS = {
    "lorakit": {"dropout": 0.0},
    "lorakit-demo": {"dropout": 0.0},
    "lorakit-dropout": {"dropout": 0.05},
    "lorakit-rank-dropout": {"dropout": 0.0, "rank_dropout": 0.2},
    "lorakit-qlora": {"dropout": 0.0, "quantization": "nf4"},
    "lorakit-eager": {"dropout": 0.0, "compile": False},
    "lorakit-compiled": {"dropout": 0.0, "compile": True},
    "lorakit-dropout-eager": {"dropout": 0.05, "compile": False},
    "lorakit-dropout-compiled": {"dropout": 0.05, "compile": True},
    "lorakit-demo-eager": {"dropout": 0.0, "compile": False},
    "lorakit-demo-compiled": {"dropout": 0.0, "compile": True},
}


TCMALLOC_SUFFIX = "+tcmalloc"  # any arm with this suffix: the same arm with tcmalloc preloaded


def _arm_env(arm: str) -> dict:
    """The child's environment: glibc's malloc (LORAKIT_ALLOCATOR=system), or tcmalloc for a ``+tcmalloc`` arm."""
    from lorakit.runtime import find_tcmalloc

    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "LORAKIT_ALLOCATOR": "system"}
    env["LD_PRELOAD"] = ":".join(p for p in env.get("LD_PRELOAD", "").split(":") if p and "tcmalloc" not in p)
    if arm.endswith(TCMALLOC_SUFFIX):
        lib = find_tcmalloc()
        if lib is None:
            raise SystemExit(f"{arm}: tcmalloc not found; apt install libtcmalloc-minimal4")
        env["LD_PRELOAD"] = ":".join(p for p in (lib, env["LD_PRELOAD"]) if p)
    return env


def _child_lorakit(out: Path, train_file: Path, eval_file: Path, steps: int, batch: int, lr: float,
                   dropout: float, quantization: str = "none", rank_dropout: float = 0.0,
                   compile: bool | str = "auto") -> dict:
    from lorakit.config import load_config
    from lorakit.train.trainer import train

    cfg = load_config(None, [f"output_dir={out}", f"data.train_file={train_file}", f"data.eval_file={eval_file}",
                             f"train.max_steps={steps}", f"train.max_examples={steps * batch}",
                             f"train.batch_size={batch}", f"train.lr={lr}", f"train.lora.dropout={dropout}",
                             "train.checkpoint_every=100000", f"train.quantization={quantization}",
                             f"train.lora.rank_dropout={rank_dropout}", f"train.compile={str(compile).lower()}"])
    train(cfg)
    rec = json.loads((out / "adapter" / "run_record.json").read_text())
    return {"seconds": rec["seconds"], "tokens": rec["tokens"], "threads": rec["threads"], "precision": rec["precision"],
            "compiled": rec["compiled"], "first_step": rec["first_step"],
            "compile_cache_warm": rec.get("compile_cache_warm")}


def _child(args) -> None:
    out = Path(args.out)
    if args.arm in TRL_ARMS:
        res = _child_reference(out, Path(args.train_file), args.steps, args.batch_size, args.lr,
                               best=args.arm == "trl-best")
    else:
        res = _child_lorakit(out, Path(args.train_file), Path(args.eval_file), args.steps, args.batch_size, args.lr,
                             **LORAKIT_ARMS[args.arm])
    res["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    (out / "bench.json").write_text(json.dumps(res))


def _evaluate(out: Path, train_file: Path, eval_file: Path, items: int) -> dict:
    from lorakit.config import load_config
    from lorakit.eval.runner import evaluate

    cfg = load_config(None, [f"output_dir={out}", f"data.train_file={train_file}", f"data.eval_file={eval_file}",
                             f"eval.limit={items}", "eval.models=[tuned]", "eval.max_new_tokens=128"])
    overall = evaluate(cfg)["models"]["tuned"]["overall"]
    return {k: round(v, 4) for k, v in overall.items() if k in ("valid_json", "schema_valid", "exact_match",
                                                                 "field:intent")}


def matmul_peak_gflops(n: int = 2048, reps: int = 5) -> float:
    """This machine's bf16 matmul rate (best of ``reps`` n^3 products) with the threads lorakit uses."""
    import torch

    from lorakit.runtime import setup_threads

    setup_threads()
    a, b = torch.randn(n, n).bfloat16(), torch.randn(n, n).bfloat16()
    a @ b  # warm-up
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def layer_matmul_gflops(tokens: int, name: str = "smollm2-135m", reps: int = 5) -> float:
    """The bf16 rate of the model's own matrix products at ``tokens`` rows (one step's tokens): a decoder layer's
    seven projections forward, and their input gradients backward (the frozen base needs no weight gradient).

    Small products (576 wide for SmolLM2) run further from the machine's peak than 2048^3 does: this is the
    ceiling the training step's matmuls could reach on this machine, measured beside the 2048^3 peak.
    """
    import torch
    from transformers import AutoConfig

    from lorakit.models.loader import local_model_dir, resolve_model
    from lorakit.runtime import setup_threads

    setup_threads()
    c = AutoConfig.from_pretrained(local_model_dir(resolve_model(name)))
    h, kv = c.hidden_size, c.num_key_value_heads * (c.hidden_size // c.num_attention_heads)
    shapes = [(h, h), (h, kv), (h, kv), (h, h), (h, c.intermediate_size), (h, c.intermediate_size),
              (c.intermediate_size, h)]  # q, k, v, o, gate, up, down: (in, out)
    pairs = []
    for k, n in shapes:
        pairs.append((torch.randn(tokens, k).bfloat16(), torch.randn(k, n).bfloat16()))  # forward
        pairs.append((torch.randn(tokens, n).bfloat16(), torch.randn(n, k).bfloat16()))  # input gradient
    flops = sum(2 * a.shape[0] * a.shape[1] * b.shape[1] for a, b in pairs)
    best = float("inf")
    for _ in range(reps + 1):  # the first pass warms up
        t0 = time.perf_counter()
        for a, b in pairs:
            a @ b
        best = min(best, time.perf_counter() - t0)
    return flops / best / 1e9


def _step_tokens(train_file: Path, rows: int, batch: int) -> int:
    """Tokens in a step of ``batch`` rows of the train file's first ``rows`` (mean length, tokenized as lorakit
    trains them)."""
    from lorakit.data.chat import load_chat_jsonl
    from lorakit.models.loader import load_tokenizer, local_model_dir, resolve_model
    from lorakit.train.data import tokenize_all

    tok = load_tokenizer(local_model_dir(resolve_model("smollm2-135m")))
    data, _ = tokenize_all(load_chat_jsonl(train_file, limit=rows), tok, 512)
    return round(batch * sum(len(t.input_ids) for t in data) / len(data))


def model_parameters(name: str = "smollm2-135m") -> int:
    """The base model's parameter count, from its config on the meta device (no weights read)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from lorakit.models.loader import local_model_dir, resolve_model

    config = AutoConfig.from_pretrained(local_model_dir(resolve_model(name)))
    with torch.device("meta"):
        return sum(p.numel() for p in AutoModelForCausalLM.from_config(config).parameters())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--eval-items", type=int, default=100)
    ap.add_argument("--arms", default="reference,trl-best,lorakit,lorakit-dropout")
    ap.add_argument("--workdir", default="runs/bench_train")
    ap.add_argument("--arm", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--train-file", help=argparse.SUPPRESS)
    ap.add_argument("--eval-file", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.arm:
        args.arm = args.arm.removesuffix(TCMALLOC_SUFFIX)  # the allocator was chosen by the parent's environment
        return _child(args)
    unknown = {a.removesuffix(TCMALLOC_SUFFIX) for a in args.arms.split(",")} - {*TRL_ARMS, *LORAKIT_ARMS}
    if unknown:
        ap.error(f"unknown arms {sorted(unknown)}; choose from {', '.join(TRL_ARMS + tuple(LORAKIT_ARMS))}")
    import importlib.util

    missing = [m for m in ("trl", "datasets") if importlib.util.find_spec(m) is None]
    if set(TRL_ARMS) & set(args.arms.split(",")) and missing:
        ap.error(f"the TRL arms need {missing}: .venv/bin/pip install -e '.[bench]' (or leave them out of --arms)")

    from lorakit.data.gen import gen

    work = Path(args.workdir)
    data = work / "data"
    if not (data / "train.jsonl").is_file():
        gen("support_ticket", data, n_train=max(2000, args.steps * args.batch_size), n_eval=800, seed=0)
    # model FLOPs per trained token: forward 2N + backward 2N (activation gradients; the frozen base gets no
    # weight gradient); attention's own FLOPs are left out, and so is lorakit's saving of the LM head on prompts
    flops_per_token = 4 * model_parameters()
    peak_before = matmul_peak_gflops()
    step_tokens = _step_tokens(data / "train.jsonl", args.steps * args.batch_size, args.batch_size)
    layer_rate = layer_matmul_gflops(step_tokens)
    print(f"bf16 matmul peak (2048^3): {peak_before:.0f} GFLOP/s; the model's own products at {step_tokens} tokens "
          f"a step: {layer_rate:.0f} GFLOP/s ({100 * layer_rate / peak_before:.0f}% of it); model FLOPs per token: "
          f"{flops_per_token / 1e9:.2f} GFLOP", flush=True)
    results = {}
    for arm in args.arms.split(","):
        out = work / arm
        cmd = [sys.executable, __file__, "--arm", arm, "--out", str(out), "--train-file", str(data / "train.jsonl"),
               "--eval-file", str(data / "eval.jsonl"), "--steps", str(args.steps),
               "--batch-size", str(args.batch_size), "--lr", str(args.lr)]
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run(cmd, check=True, env=_arm_env(arm))
        res = json.loads((out / "bench.json").read_text())
        res["tokens_per_second"] = round(res["tokens"] / res["seconds"], 1)
        res["seconds_per_step"] = round(res["seconds"] / args.steps, 2)
        if "first_step" in res:  # the rate after step 1 (which includes any compiling)
            first = res["first_step"]
            res["tokens_per_second_after_step_1"] = round((res["tokens"] - first["tokens"]) /
                                                          max(res["seconds"] - first["seconds"], 1e-9), 1)
        if args.eval_items:
            res["eval"] = _evaluate(out, data / "train.jsonl", data / "eval.jsonl", args.eval_items)
        results[arm] = res
        print(arm, json.dumps(res), flush=True)
    peak_after = matmul_peak_gflops()
    peak = max(peak_before, peak_after)  # the machine's best in this run: the shares are not flattered by a slow spell
    for res in results.values():
        res["share_of_peak"] = round(flops_per_token * res["tokens_per_second"] / (peak * 1e9), 3)
        if "tokens_per_second_after_step_1" in res:
            res["share_of_peak_after_step_1"] = round(flops_per_token * res["tokens_per_second_after_step_1"] /
                                                      (peak * 1e9), 3)
        # the same against what the model's own products reach on this machine (the step's matmul ceiling)
        res["share_of_layer_rate_after_step_1"] = round(
            flops_per_token * res.get("tokens_per_second_after_step_1", res["tokens_per_second"]) / (layer_rate * 1e9), 3)
    speedups = {}
    for anchor in results:  # every TRL arm, on either allocator, is an anchor
        if anchor.removesuffix(TCMALLOC_SUFFIX) in TRL_ARMS:
            ref = results[anchor]["tokens_per_second"]
            speedups[anchor] = {a: round(r["tokens_per_second"] / ref, 2) for a, r in results.items()}
            ref = results[anchor].get("tokens_per_second_after_step_1")
            if ref:  # a compiled arm pays its compiling in step 1; a long run is paced by the steps after it
                speedups[f"{anchor} after step 1"] = {a: round(r["tokens_per_second_after_step_1"] / ref, 2)
                                                      for a, r in results.items()
                                                      if "tokens_per_second_after_step_1" in r}
    summary = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "steps": args.steps,
               "batch_size": args.batch_size, "matmul_peak_gflops": [round(peak_before), round(peak_after)],
               "layer_matmul_gflops": round(layer_rate), "step_tokens": step_tokens,
               "flops_per_token": flops_per_token, "arms": results, "speedup_vs": speedups}
    print(json.dumps(summary, indent=2))
    anchors = list(speedups)
    print(f"\nbf16 matmul peak: {peak_before:.0f} GFLOP/s before the arms, {peak_after:.0f} after")
    print("| arm | precision | compiled | tokens/s | after step 1 | step 1 (s) | s/step | peak RSS (MB) | "
          "share of matmul peak (after step 1) | of the model's products, after step 1 | intent acc | exact match |"
          + "".join(f" vs {a} |" for a in anchors))
    print("|---|---|---|---|---|---|---|---|---|---|---|---|" + "---|" * len(anchors))
    for arm, r in results.items():
        ev = r.get("eval", {})
        pct = {k: f"{100 * ev[k]:.1f}%" if k in ev else "-" for k in ("field:intent", "exact_match")}
        after, first = r.get("tokens_per_second_after_step_1", "-"), r.get("first_step", {}).get("seconds", "-")
        compiled = ("-" if "compiled" not in r else "no" if not r["compiled"] else
                    "warm cache" if r.get("compile_cache_warm") else "cold cache")  # a lorakit arm's marker, see compile.py
        print(f"| {arm} | {r['precision']} | {compiled} | {r['tokens_per_second']} | {after} | {first} | "
              f"{r['seconds_per_step']} | {r['peak_rss_mb']} | "
              f"{100 * r['share_of_peak']:.1f}% ({100 * r.get('share_of_peak_after_step_1', r['share_of_peak']):.1f}%) | "
              f"{100 * r['share_of_layer_rate_after_step_1']:.1f}% | {pct['field:intent']} | {pct['exact_match']} |" +
              "".join(f" {speedups[a][arm]}x |" if arm in speedups[a] else " - |" for a in anchors))


if __name__ == "__main__":
    main()
