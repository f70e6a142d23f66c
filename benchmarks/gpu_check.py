"""Every CUDA path of lorakit in one run, one table: train (LoRA, QLoRA NF4), eval (free and constrained
decoding), serve (32 concurrent requests), export (GGUF with --check) and, with two or more GPUs, DDP.

    bash benchmarks/gpu_check.sh                 # on a CUDA machine (after `make setup TORCH_SPEC=torch`)
    .venv/bin/python benchmarks/gpu_check.py --device cpu --steps 2 --items 4   # the same script, dry, on a CPU

Each step runs the real CLI in its own process on the embedded SmolLM2-135M (no hub needed) and is
recorded as ok / FAILED / skipped with its wall time and its key number; a failure does not stop the
later steps. Prints a Markdown table for docs/benchmarks.md and writes ``OUT/gpu_check.json``.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _loopback import free_port, wait_until_up  # noqa: E402
LORAKIT = [sys.executable, "-m", "lorakit"]


def sh(cmd: list[str], log: Path, env: dict | None = None, timeout: int = 1800) -> tuple[bool, float]:
    t0 = time.perf_counter()
    with log.open("w") as f:
        rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                            timeout=timeout, cwd=ROOT).returncode
    return rc == 0, time.perf_counter() - t0


def common(out: Path, device: str, steps: int, items: int) -> list[str]:
    return ["--set", f"output_dir={out}", "--set", "model.name=smollm2-135m", "--set", "data.n_train=512",
            "--set", "data.n_eval=64", "--set", f"train.max_steps={steps}", "--set", "train.batch_size=8",
            "--set", "train.lr=1e-3", "--set", "train.lora.dropout=0", "--set", f"train.device={device}",
            "--set", f"eval.limit={items}", "--set", "eval.kl_items=0"]


def _read(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def step_train(rows, out: Path, args, quant: str) -> None:
    name = "train LoRA" if quant == "none" else "train QLoRA (NF4)"
    if quant == "nf4":
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            rows.append({"step": name, "status": "skipped", "detail": "bitsandbytes not installed"})
            return
    run = out / f"train-{quant}"
    ok, sec = sh(LORAKIT + ["train"] + common(run, args.device, args.steps, args.items)
                 + ["--set", f"train.quantization={quant}"], out / f"train-{quant}.log")
    rec = _read(run / "adapter" / "run_record.json")
    rows.append({"step": name, "status": "ok" if ok else "FAILED", "seconds": round(sec, 1),
                 "detail": f"{rec.get('tokens_per_second', 0):.0f} tok/s on {rec.get('device')} "
                           f"in {rec.get('precision')}, final loss {rec.get('final_loss')}" if ok else "see log"})


def step_eval(rows, out: Path, args) -> None:
    run = out / "train-none"
    ok, sec = sh(LORAKIT + ["eval"] + common(run, args.device, args.steps, args.items)
                 + ["--decoding", "free", "--decoding", "constrained"], out / "eval.log")
    res = _read(run / "results.json")
    models = res.get("models", {})
    detail = "; ".join(f"{k}: valid {v['overall'].get('valid_json', 0):.0%}, intent "
                       f"{v['overall'].get('field:intent', 0):.0%}" for k, v in models.items()) if ok else "see log"
    rows.append({"step": f"eval free + constrained ({args.items} items)", "status": "ok" if ok else "FAILED",
                 "seconds": round(sec, 1), "detail": detail})


def step_serve(rows, out: Path, args) -> None:
    import httpx

    port = free_port()
    log = (out / "serve.log").open("w")
    proc = subprocess.Popen(LORAKIT + ["serve", f"ticket={out / 'train-none'}", "--port", str(port), "--device",
                                       args.device, "--max-batch", "16"], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/health")
        body = {"model": "ticket", "max_tokens": 64, "temperature": 0,
                "messages": [{"role": "user", "content": "My order ORD-12345 never arrived, I want a refund"}]}
        t0 = time.perf_counter()
        with cf.ThreadPoolExecutor(32) as pool:
            codes = list(pool.map(lambda _: httpx.post(f"{url}/v1/chat/completions", json=body, timeout=600)
                                  .status_code, range(32)))
        sec = time.perf_counter() - t0
        ok = codes.count(200) == 32
        rows.append({"step": "serve, 32 concurrent requests", "status": "ok" if ok else "FAILED",
                     "seconds": round(sec, 1), "detail": f"{codes.count(200)}/32 HTTP 200, {32 / sec:.1f} req/s"})
    except Exception as e:  # noqa: BLE001 - the table records it, the next step still runs
        rows.append({"step": "serve, 32 concurrent requests", "status": "FAILED", "detail": repr(e)[:200]})
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()


def step_export(rows, out: Path, args) -> None:
    ok, sec = sh(LORAKIT + ["export", str(out / "train-none"), "--format", "gguf", "--check", "--check-items",
                            str(min(args.items, 8))], out / "export.log")
    tail = (out / "export.log").read_text().strip().splitlines()[-1:] or [""]
    rows.append({"step": "export GGUF --check", "status": "ok" if ok else "FAILED", "seconds": round(sec, 1),
                 "detail": tail[0][:160]})


def step_ddp(rows, out: Path, args) -> None:
    import torch

    n = torch.cuda.device_count() if args.device.startswith("cuda") else 0
    if n < 2:
        rows.append({"step": "DDP, 2 processes", "status": "skipped", "detail": f"{n} CUDA device(s)"})
        return
    ok, sec = sh([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "lorakit.cli", "train"]
                 + common(out / "train-ddp", "auto", args.steps, args.items), out / "ddp.log")
    rec = _read(out / "train-ddp" / "adapter" / "run_record.json")
    rows.append({"step": "DDP, 2 processes", "status": "ok" if ok else "FAILED", "seconds": round(sec, 1),
                 "detail": f"{rec.get('tokens_per_second', 0):.0f} tok/s" if ok else "see log"})


def machine(device: str) -> str:
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}, torch {torch.__version__}, " \
               f"CUDA {torch.version.cuda}"
    return f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores), torch {torch.__version__}, CPU"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--items", type=int, default=64)
    ap.add_argument("--out", type=Path, default=Path("runs/gpu_check"))
    args = ap.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    step_train(rows, out, args, "none")
    step_train(rows, out, args, "nf4")
    if rows[0]["status"] == "ok":
        step_eval(rows, out, args)
        step_serve(rows, out, args)
        step_export(rows, out, args)
    step_ddp(rows, out, args)
    summary = {"machine": machine(args.device), "device": args.device, "steps": args.steps, "items": args.items,
               "rows": rows}
    (out / "gpu_check.json").write_text(json.dumps(summary, indent=2))
    print(f"\n{summary['machine']}; logs in {out}\n")
    print("| step | status | seconds | detail |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['step']} | {r['status']} | {r.get('seconds', '')} | {r.get('detail', '')} |")
    sys.exit(0 if all(r["status"] != "FAILED" for r in rows) else 1)


if __name__ == "__main__":
    main()
