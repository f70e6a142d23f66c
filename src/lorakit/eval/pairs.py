"""``lorakit data pairs RUN_DIR``: preference pairs mined from the tuned model's own mistakes.

The run's tuned model answers items (the run's train split by default, or any chat JSONL), the
task's scorer checks every answer against its label, and every wrong answer becomes a pair: the
label as ``chosen``, the model's answer as ``rejected``, in TRL's conversational preference format
(:mod:`lorakit.data.preference` reads it back). ``samples`` > 1 with a temperature asks each item
several times, so one item can give several different wrong answers; the same wrong answer twice
for one item is one pair. The record counts the pairs per error type: for JSON tasks the first
thing wrong (not JSON, schema, or a field), so a user sees which decisions the model gets wrong.

This lives in the eval layer because it needs the eval's scorer and model loading.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

from lorakit.data.chat import ChatExample, load_chat_jsonl
from lorakit.errors import DataError
from lorakit.eval.runner import expected_answers, load_trained, make_scorer
from lorakit.io import write_json, write_jsonl
from lorakit.rundir import RunDir

logger = logging.getLogger(__name__)


def error_type(scores: dict) -> str:
    """The first thing wrong in a verdict: not JSON, the schema, or the first wrong field (or metric)."""
    if scores.get("valid_json") is False:
        return "not valid JSON"
    if scores.get("schema_valid") is False:
        return "schema"
    wrong = [m for m, ok in scores.items() if ok is False and m not in ("exact_match", "key_order")]
    return wrong[0].removeprefix("field:") if wrong else "exact_match"


def mine_pairs(run_dir: str | Path, out: str | Path, *, source: str | Path | None = None, limit: int | None = None,
               samples: int = 1, temperature: float = 0.0, seed: int = 0, batch_size: int = 16,
               max_new_tokens: int | None = None, device: str = "auto") -> dict:
    """Answer, score, and write a pair for every wrong answer to ``out`` (+ ``out``.record.json); returns the record."""
    from lorakit.data.tasks import get_task
    from lorakit.generation.generate import generate
    from lorakit.runtime import seed_everything

    if samples > 1 and temperature <= 0:
        raise DataError("--samples > 1 needs --temperature > 0: greedy decoding gives the same answer every time")
    run = RunDir(run_dir)
    cfg, model, tok, system = load_trained(run.root, device)
    source = Path(source) if source else run.data / "train.jsonl"
    items: list[ChatExample] = load_chat_jsonl(source, limit=limit)
    task = get_task(cfg.data.task)
    expected = expected_answers(items, source, task)
    scorer = make_scorer(task, items, expected)
    prompts = [task.prompt(ex, "tuned", "auto", system) for ex in items]
    seed_everything(seed)
    answers = generate(model, tok, prompts * samples, batch_size=batch_size, temperature=temperature,
                       max_new_tokens=max_new_tokens or cfg.eval.max_new_tokens)
    pairs, seen, by_error, wrong = [], set(), Counter(), 0
    for k, raw in enumerate(answers):
        i = k % len(items)
        verdict = scorer.score(raw, expected[i], items[i].category)
        if verdict["exact_match"]:
            continue
        wrong += 1
        if (i, raw) in seen:
            continue
        seen.add((i, raw))
        kind = error_type(verdict["scores"])
        by_error[kind] += 1
        pairs.append({"prompt": prompts[i], "chosen": [{"role": "assistant", "content": items[i].answer}],
                      "rejected": [{"role": "assistant", "content": raw}], "error": kind,
                      "category": items[i].category, "source_line": items[i].source_line})
    out = Path(out)
    write_jsonl(out, pairs)
    record = {"run": str(run.root), "source": str(source), "items": len(items), "samples": samples,
              "temperature": temperature, "seed": seed, "answers": len(answers), "wrong_answers": wrong,
              "pairs": len(pairs), "by_error": dict(by_error.most_common()), "file": str(out)}
    write_json(out.with_name(out.name + ".record.json"), record)
    logger.info("%d of %d answers wrong; %d pairs (%d repeated wrong answers merged) -> %s", wrong, len(answers),
                len(pairs), wrong - len(pairs), out)
    return record
