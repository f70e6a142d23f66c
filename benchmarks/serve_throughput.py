"""Requests/s and latency of ``lorakit serve`` with and without batching, side by side in one run.

Starts the real server twice on loopback (``--max-batch 1``: every request its own generate call;
``--max-batch 16``: requests arriving together share one), each time sending the same support-ticket
eval messages from concurrent clients to the tuned adapter with the task's JSON schema enforced, and
reports requests/s and p50/p95 latency. Usage (after `make demo` trained runs/support_ticket):

    .venv/bin/python benchmarks/serve_throughput.py --run runs/support_ticket --requests 96 --clients 16
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def run_arm(run_dir: Path, max_batch: int, messages: list[str], clients: int, schema: dict | None) -> dict:
    import httpx

    from lorakit.serve.server import build_app
    from tests.live_server import LiveServer

    app, engine = build_app([f"tuned={run_dir}"], max_batch=max_batch, batch_wait_ms=10)
    system = json.loads((run_dir / "adapter" / "run_record.json").read_text())["system_prompt"]
    with LiveServer(app, engine) as live:
        def one(msg: str) -> tuple[float, str]:
            body = {"model": "tuned", "max_tokens": 128, "temperature": 0,
                    "messages": [{"role": "system", "content": system}, {"role": "user", "content": msg}]}
            if schema:
                body["response_format"] = {"type": "json_schema", "json_schema": {"name": "support_ticket"}}
            t0 = time.perf_counter()
            r = httpx.post(f"{live.url}/v1/chat/completions", json=body, timeout=600)
            r.raise_for_status()
            return time.perf_counter() - t0, r.json()["choices"][0]["message"]["content"]

        one(messages[0])  # warm-up
        batches0 = engine.batches
        t0 = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            out = list(pool.map(one, messages))
        wall = time.perf_counter() - t0
    lat = [x for x, _ in out]
    return {"max_batch": max_batch, "requests": len(messages), "clients": clients, "seconds": round(wall, 1),
            "requests_per_s": round(len(messages) / wall, 2), "p50_s": round(statistics.median(lat), 2),
            "p95_s": round(percentile(lat, 0.95), 2), "generate_calls": engine.batches - batches0,
            "answers": [a for _, a in out]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", type=Path, default=Path("runs/support_ticket"))
    ap.add_argument("--requests", type=int, default=96)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--free", action="store_true", help="no response_format (free decoding)")
    args = ap.parse_args()
    rows = [json.loads(x) for x in (args.run / "data" / "eval.jsonl").read_text().splitlines()[:args.requests]]
    messages = [r["messages"][1]["content"] for r in rows]
    arms = [run_arm(args.run, mb, messages, args.clients, None if args.free else {"task": True}) for mb in (1, 16)]
    same = sum(a == b for a, b in zip(arms[0]["answers"], arms[1]["answers"]))
    print(f"machine: {platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores")
    print("| server | requests/s | p50 latency (s) | p95 latency (s) | generate calls |")
    print("|---|---|---|---|---|")
    for a in arms:
        label = "no batching (--max-batch 1)" if a["max_batch"] == 1 else f"batching (--max-batch {a['max_batch']})"
        print(f"| {label} | {a['requests_per_s']} | {a['p50_s']} | {a['p95_s']} | {a['generate_calls']} |")
    print(f"speed-up: {arms[1]['requests_per_s'] / arms[0]['requests_per_s']:.2f}x; "
          f"identical answers in both arms: {same}/{len(messages)}")


if __name__ == "__main__":
    main()
