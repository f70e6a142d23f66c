"""``lorakit data pairs RUN_DIR``: preference pairs mined from the tuned model's own mistakes.

The run's tuned model answers items (the run's train split by default, or any chat JSONL), the
task's scorer checks every answer against its label, and every wrong answer becomes a pair: the
label as ``chosen``, the model's answer as ``rejected``, in TRL's conversational preference format
(:mod:`lorakit.data.preference` reads it back). ``samples`` > 1 with a temperature asks each item
several times, so one item can give several different wrong answers; the same wrong answer twice
for one item is one pair. The record counts the pairs per error type: the scorer's own
``error_type(verdict)`` where it has one (policy QA: over-refusal, hallucination, wrong answer), else
the first thing wrong (JSON tasks: not JSON, schema, or a field), so a user sees which decisions the
model gets wrong.

``balance`` targets DPO's known failure on small, one-sided preference sets: when most wrong intents
are "shipping", DPO learns "never say shipping" rather than "not here" (measured: intent fell from 90%
to 60%, docs/benchmarks.md). Balanced, no value of a field is rejected in more pairs than it is chosen
in (at least one pair each), so every value the pairs push down is pulled up as often elsewhere. The
pairs dropped are counted per field and value in the record and the log. It is on by default: from
the same start and the same mined answers, balanced pairs beat all the pairs by 7.9 and 17.1 points of
exact match on two data draws (docs/benchmarks.md); it halves DPO's damage, it does not remove it.

This lives in the eval layer because it needs the eval's scorer and model loading.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from pathlib import Path

from pydantic import ValidationError

from lorakit.config import DPOSettings, RunConfig, format_errors
from lorakit.data.chat import ChatExample, load_chat_jsonl
from lorakit.errors import ConfigError, DataError
from lorakit.eval.runner import expected_answers, load_merged, load_trained, make_scorer
from lorakit.io import write_json, write_jsonl
from lorakit.rundir import RUN_RECORD, RunDir, RunRecord

logger = logging.getLogger(__name__)


def error_type(scores: dict) -> str:
    """The first thing wrong in a verdict: not JSON, the schema, or the first wrong field (or metric)."""
    if scores.get("valid_json") is False:
        return "not valid JSON"
    if scores.get("schema_valid") is False:
        return "schema"
    wrong = [m for m, ok in scores.items() if ok is False and m not in ("exact_match", "key_order")]
    return wrong[0].removeprefix("field:") if wrong else "exact_match"


def field_value(answer: str, path: str):
    """The value at a dotted field path of a JSON answer (``None`` when the answer is not JSON or lacks the field)."""
    try:
        value = json.loads(answer)
    except ValueError:
        return None
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return json.dumps(value, sort_keys=True)


def balance_pairs(pairs: list[dict]) -> tuple[list[dict], dict[str, int]]:
    """Keep, per error field, at most max(1, pairs choosing the value) pairs that reject each value (first come).

    Pairs whose error is not a field with a value in both answers (not JSON, schema) are all kept.
    Returns the kept pairs (in order) and the dropped count per ``field=value``.
    """
    chosen: Counter = Counter()
    keyed = []
    for p in pairs:
        kind = p["error"]
        good, bad = (field_value(p[side][0]["content"], kind) for side in ("chosen", "rejected"))
        keyed.append((kind, bad) if good is not None and bad is not None else None)
        if good is not None:
            chosen[(kind, good)] += 1
    kept, used, dropped = [], Counter(), Counter()
    for p, key in zip(pairs, keyed):
        if key is not None and used[key] >= max(1, chosen[key]):
            dropped[f"{key[0]}={key[1]}"] += 1
            continue
        if key is not None:
            used[key] += 1
        kept.append(p)
    return kept, dict(dropped.most_common())


def mine_pairs(run_dir: str | Path, out: str | Path, *, source: str | Path | None = None, limit: int | None = None,
               samples: int | None = None, temperature: float | None = None, seed: int | None = None,
               batch_size: int = 16, max_new_tokens: int | None = None, balance: bool | None = None,
               device: str = "auto") -> dict:
    """``lorakit data pairs``: a trained run's tuned model answers ``source`` (its train split by default).

    ``samples``, ``temperature`` and ``balance`` not given (None) come from the run's own ``train.dpo``, and
    ``seed`` from its ``train.seed``, so mining by hand does what ``train.method: dpo`` with that config does.
    """
    from lorakit.data.tasks import get_task

    run = RunDir(run_dir)
    # checked before the model loads; load_trained says what an untrained run lacks
    settings = mining_settings(run.run_record().run_config(run.run_record_path), samples=samples,
                               temperature=temperature, balance=balance) if run.is_trained else None
    cfg, model, tok, system = load_trained(run.root, device)
    if seed is None:
        seed = cfg.train.seed
        if settings.temperature > 0:
            logger.info("sampling seed %d: the run's train.seed", seed)
    source = Path(source) if source else run.data / "train.jsonl"
    items: list[ChatExample] = load_chat_jsonl(source, limit=limit)
    record = mine(model, tok, system, get_task(cfg.data.task), items, source, out, samples=settings.samples,
                  temperature=settings.temperature, seed=seed, batch_size=batch_size,
                  max_new_tokens=max_new_tokens or cfg.eval.max_new_tokens, balance=settings.balance)
    return _write_record(out, {"run": str(run.root), **record})


def mining_settings(cfg: RunConfig, **given) -> DPOSettings:
    """The run config's ``train.dpo`` with the values ``given`` (None: not given) on top, validated as one.

    Each value taken from the run's config is logged, since the user did not type it on this command line.
    """
    taken = {k: getattr(cfg.train.dpo, k) for k, v in given.items() if v is None}
    try:
        settings = DPOSettings.model_validate({**cfg.train.dpo.model_dump(), **{k: v for k, v in given.items()
                                                                               if v is not None}})
    except ValidationError as e:
        raise ConfigError(format_errors(e, "lorakit data pairs", prefix="train.dpo")) from None
    if taken:
        logger.info("mining as the run's config says (train.dpo): %s",
                    ", ".join(f"{k}={v}" for k, v in taken.items()))
    _check_sampling(settings.samples, settings.temperature)
    return settings


def mine_for_training(cfg: RunConfig, items: list[ChatExample], source: Path, out: Path, start: Path | None,
                      settings: dict, device: str = "auto") -> dict:
    """``train.method: dpo`` without a pairs file: the starting model (``start``'s adapter merged, else the base,
    with the training prompt) answers ``items``; its wrong answers become the pairs in ``out``."""
    from lorakit.data.tasks import get_task
    from lorakit.runtime import pick_device, resolve_precision

    d = cfg.train.dpo
    _check_sampling(d.samples, d.temperature)
    device = pick_device(device)
    system = Counter(e.system or "" for e in items).most_common(1)[0][0] or None
    if start is not None and (start / RUN_RECORD).is_file():
        system = RunRecord.read(start / RUN_RECORD).system_prompt or system
    model, tok = load_merged(cfg.model.name, start, device, resolve_precision(device, cfg.train.precision))
    record = mine(model, tok, system, get_task(cfg.data.task), items, source, out, samples=d.samples,
                  temperature=d.temperature, seed=cfg.train.seed, batch_size=cfg.eval.batch_size,
                  max_new_tokens=cfg.eval.max_new_tokens, balance=d.balance)
    return _write_record(out, {"start": str(start) if start else "base", "settings": settings, **record})


def _check_sampling(samples: int, temperature: float) -> None:
    if samples > 1 and temperature <= 0:
        raise DataError("more than one sample per item needs --temperature > 0 (train.dpo.temperature): greedy "
                        "decoding gives the same answer every time")


def mine(model, tok, system: str | None, task, items: list[ChatExample], source: Path, out: str | Path, *,
         samples: int, temperature: float, seed: int, batch_size: int, max_new_tokens: int,
         balance: bool) -> dict:
    """Answer ``items`` with ``model`` (the training prompt), score, write a pair for every wrong answer to ``out``."""
    from lorakit.generation.generate import generate
    from lorakit.runtime import seed_everything

    expected = expected_answers(items, source, task)
    scorer = make_scorer(task, items, expected)
    prompts = [task.prompt(ex, "tuned", "auto", system) for ex in items]
    seed_everything(seed)
    t0 = time.perf_counter()
    answers = generate(model, tok, prompts * samples, batch_size=batch_size, temperature=temperature,
                       max_new_tokens=max_new_tokens)
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
        kind = scorer.error_type(verdict) if hasattr(scorer, "error_type") else error_type(verdict["scores"])
        by_error[kind] += 1
        pairs.append({"prompt": prompts[i], "chosen": [{"role": "assistant", "content": items[i].answer}],
                      "rejected": [{"role": "assistant", "content": raw}], "error": kind,
                      "category": items[i].category, "source_line": items[i].source_line})
    merged, dropped = len(pairs), {}
    if balance:
        pairs, dropped = balance_pairs(pairs)
        logger.info("balance: dropped %d of %d pairs so no value is rejected more often than chosen: %s",
                    merged - len(pairs), merged, dropped or "none")
        by_error = Counter(p["error"] for p in pairs)
    out = Path(out)
    write_jsonl(out, pairs)
    logger.info("%d of %d answers wrong; %d pairs (%d repeated wrong answers merged) -> %s", wrong, len(answers),
                len(pairs), wrong - merged, out)
    return {"source": str(source), "items": len(items), "samples": samples, "temperature": temperature, "seed": seed,
            "answers": len(answers), "wrong_answers": wrong, "pairs": len(pairs), "balanced": balance,
            "dropped_by_balance": dropped, "by_error": dict(by_error.most_common()),
            "seconds": round(time.perf_counter() - t0, 1), "file": str(out)}


def _write_record(out: str | Path, record: dict) -> dict:
    out = Path(out)
    write_json(out.with_name(out.name + ".record.json"), record)
    return record
