"""The prefix cache on an eval set lorakit did not write: hand-written questions about the FHS 3.0.

    .venv/bin/python benchmarks/prefix_cache_fhs.py [--items 32]

The embedded SmolLM2 base model answers the first ``--items`` questions of
``examples/data/fhs_questions.jsonl`` closed-book under the policy-QA task's system prompt (batch 16,
32 new tokens, greedy), with the prefix cache off and on, in fp32 and bf16. It prints the seconds of
each and how many answers the cache left identical; in bf16 also a control: uncached at batch 8 vs 16.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=32)
    args = ap.parse_args()

    from lorakit.data.tasks import get_task
    from lorakit.generation.generate import generate, shared_prefix_length
    from lorakit.models import load
    from lorakit.runtime import setup_threads

    setup_threads()
    rows = [json.loads(line) for line in (ROOT / "examples/data/fhs_questions.jsonl").read_text().splitlines()]
    system = get_task("policy_qa").full_prompt
    convs = [[{"role": "system", "content": system}, {"role": "user", "content": r["question"]}]
             for r in rows[:args.items]]
    kw = dict(batch_size=16, max_new_tokens=32)
    for precision in ("fp32", "bf16"):
        model, tok, _ = load("smollm2-135m", adapter=None, device="cpu", precision=precision)
        ids = [tok(tok.apply_chat_template(c, add_generation_prompt=True, tokenize=False),
                   add_special_tokens=False)["input_ids"] for c in convs]
        seconds, out = {}, {}
        for arm in ("off", "on"):
            t0 = time.perf_counter()
            out[arm] = generate(model, tok, convs, prefix_cache=arm, **kw)
            seconds[arm] = time.perf_counter() - t0
        same = sum(a == b for a, b in zip(out["off"], out["on"]))
        print(f"{precision}: {shared_prefix_length(ids)} of {sum(map(len, ids)) / len(ids):.0f} tokens shared; "
              f"s off {seconds['off']:.1f}, on {seconds['on']:.1f}; identical {same}/{len(convs)}")
        if precision == "bf16":
            half = generate(model, tok, convs, prefix_cache="off", **{**kw, "batch_size": 8})
            print(f"bf16 control: uncached batch 8 vs 16 identical "
                  f"{sum(a == b for a, b in zip(out['off'], half))}/{len(convs)}")


if __name__ == "__main__":
    main()
