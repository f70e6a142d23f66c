"""``lorakit eval``: the base and the tuned model on the same items, scored the same way."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, NamedTuple

from lorakit.config import RunConfig
from lorakit.data.chat import ChatExample, load_chat_jsonl
from lorakit.errors import EvalError
from lorakit.eval.metrics import Scorer, aggregate, aggregate_by, field_details, flips, per_item
from lorakit.eval.stats import bootstrap_cis, mcnemar, next_token_kl
from lorakit.io import iter_jsonl, read_json, write_json, write_jsonl


def load_for_eval(cfg: RunConfig, which: str, device: str, precision: str):
    """``(model, tok, system_prompt)`` for ``which`` in {base, tuned}; the tuned adapter is merged."""
    import torch

    from lorakit.models import load_model

    adapter = Path(cfg.output_dir) / "adapter"
    record = {}
    if which == "tuned":
        if not (adapter / "adapter_config.json").is_file():
            raise EvalError(f"no trained adapter at {adapter}; run `lorakit train` first or evaluate --models base")
        record = read_json(adapter / "run_record.json")
    model, tok, _ = load_model(record.get("base_model", cfg.model.name))
    if which == "tuned":
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    if precision in ("bf16", "fp16"):  # generation runs in the training precision, without autocast
        model.to(torch.bfloat16 if precision == "bf16" else torch.float16)
    model.to(device).eval()
    return model, tok, record.get("system_prompt")


def _prompt(ex: ChatExample, which: str, mode: str, task, tuned_system: str | None) -> list[dict]:
    if mode == "file":
        return ex.prompt_messages(ex.system)
    return ex.prompt_messages(task.full_prompt if which == "base" else (tuned_system or task.train_prompt))


def _expected(ex: ChatExample, path: Path):
    try:
        return json.loads(ex.answer)
    except json.JSONDecodeError:
        raise EvalError(f"{path}:{ex.line}: the assistant message is not the expected JSON") from None


def arm_name(which: str, decoding: str) -> str:
    """``base``, ``tuned``, ``base+constrained``, ...: the key of an evaluated arm in results.json."""
    return which if decoding == "free" else f"{which}+{decoding}"


def evaluate_model(cfg: RunConfig, which: str, items: list[ChatExample], expected: list, task,
                   decoding: str, loaded: tuple, out_root: str = "eval") -> dict:
    """One arm: ``loaded`` (from :func:`load_for_eval`) answers every item with ``decoding``; scored and saved."""
    from rich.progress import Progress

    from lorakit.eval.generate import generate

    model, tok, tuned_system = loaded
    grammar = None
    if decoding == "constrained":
        from lorakit.eval.constrained import compile_schema

        grammar = compile_schema(task.schema)
    name = arm_name(which, decoding)
    prompts = [_prompt(ex, which, cfg.eval.prompt, task, tuned_system) for ex in items]
    t0 = time.perf_counter()
    with Progress(transient=False) as bar:
        job = bar.add_task(f"eval {name}", total=len(items))
        raw = generate(model, tok, prompts, batch_size=cfg.eval.batch_size, max_new_tokens=cfg.eval.max_new_tokens,
                       on_batch=lambda n: bar.advance(job, n), grammar=grammar,
                       stop_when_not_json=cfg.eval.stop_when_not_json and grammar is None)
    seconds = time.perf_counter() - t0
    scorer = Scorer(task.schema)
    verdicts = [scorer.score(r, e) for r, e in zip(raw, expected)]
    out_dir = Path(cfg.output_dir) / out_root / name
    write_jsonl(out_dir / "predictions.jsonl", (
        {**ex.extra, "id": _item_id(ex), "category": ex.category, "input": ex.user, "expected": exp, "raw_output": r, **v}
        for ex, exp, r, v in zip(items, expected, raw, verdicts)
    ))
    return {
        "model": which,
        "decoding": decoding,
        "overall": aggregate(verdicts),
        "intervals": {k: list(v) for k, v in bootstrap_cis(per_item(verdicts)).items()},
        "fields": field_details(task.schema, [v["parsed"] for v in verdicts], expected),
        "failures": worst_failures(items, expected, raw, verdicts),
        "by_category": aggregate_by(verdicts, [ex.category for ex in items]),
        "seconds": round(seconds, 1),
        "system_prompt": prompts[0][0]["content"] if prompts and prompts[0][0]["role"] == "system" else None,
        "_verdicts": verdicts,
    }


def worst_failures(items: list[ChatExample], expected: list, raw: list[str], verdicts: list[dict],
                   k: int = 8, clip: int = 600) -> list[dict]:
    """The ``k`` items with the most wrong fields (ties: file order), for the report's side-by-side view."""
    wrong = [[f for f, ok in v["fields"].items() if not ok] for v in verdicts]
    order = sorted((i for i, v in enumerate(verdicts) if not v["exact_match"]), key=lambda i: -len(wrong[i]))
    return [{"id": _item_id(items[i]), "category": items[i].category, "input": items[i].user[:clip],
             "expected": json.dumps(expected[i], ensure_ascii=False), "got": raw[i][:clip], "wrong_fields": wrong[i]}
            for i in order[:k]]


def _item_id(ex: ChatExample) -> str:
    return f"line-{ex.line}"


def _divergence(loaded: dict, items: list[ChatExample], task, device: str) -> dict:
    """KL(tuned || base) on the tuned model's prompts with the expected answers (see ``next_token_kl``)."""
    (base, tok, _), (tuned, _, tuned_system) = loaded["base"], loaded["tuned"]
    convs = [_prompt(ex, "tuned", "auto", task, tuned_system) for ex in items]
    return next_token_kl(base, tuned, tok, convs, [ex.answer for ex in items], device)


PAIRS = [("base", "tuned"), ("base+constrained", "tuned+constrained"),
         ("base", "base+constrained"), ("tuned", "tuned+constrained")]


def compare_arms(verdicts: dict[str, list[dict]], ids: list[str]) -> list[dict]:
    """Paired comparisons of the evaluated arms: per-metric delta and McNemar test, item flips both ways."""
    out = []
    for a, b in PAIRS:
        if a not in verdicts or b not in verdicts:
            continue
        va, vb = per_item(verdicts[a]), per_item(verdicts[b])
        first = next((m for m in va if m.startswith("field:")), None)  # the schema's first field, e.g. intent
        out.append({
            "a": a, "b": b,
            "metrics": {m: {"delta": (sum(vb[m]) - sum(va[m])) / max(len(ids), 1), **mcnemar(va[m], vb[m])}
                        for m in va},
            "flips": {m: flips(va[m], vb[m], ids) for m in ("exact_match", first) if m},
        })
    return out


class _EvalSetup(NamedTuple):
    task: Any
    eval_file: Path
    items: list[ChatExample]
    expected: list
    device: str
    precision: str


def _setup(cfg: RunConfig) -> _EvalSetup:
    """Threads, task, eval items with their expected answers, device and precision."""
    from lorakit.data.tasks import get_task
    from lorakit.pipeline import ensure_data
    from lorakit.runtime import pick_device, setup_threads
    from lorakit.train.trainer import resolve_precision

    setup_threads()
    _, eval_file = ensure_data(cfg)
    items = load_chat_jsonl(eval_file, limit=cfg.eval.limit)
    device = pick_device(cfg.train.device)
    return _EvalSetup(get_task(cfg.data.task), eval_file, items, [_expected(ex, eval_file) for ex in items],
                      device, resolve_precision(device, cfg.train.precision))


def evaluate(cfg: RunConfig) -> dict:
    """Evaluate the configured models on the eval file; writes ``results.json`` and predictions."""
    task, eval_file, items, expected, device, precision = _setup(cfg)
    models, loaded_models = {}, {}
    for which in cfg.eval.models:
        loaded = load_for_eval(cfg, which, device, precision)  # one load per model, shared by its decoding arms
        for decoding in cfg.eval.decoding:
            models[arm_name(which, decoding)] = evaluate_model(cfg, which, items, expected, task, decoding, loaded)
        loaded_models[which] = loaded
    results = {
        "task": task.name,
        "eval_file": str(eval_file),
        "n_items": len(items),
        "models": {k: {kk: vv for kk, vv in v.items() if kk != "_verdicts"} for k, v in models.items()},
        "comparisons": compare_arms({k: v["_verdicts"] for k, v in models.items()}, [_item_id(ex) for ex in items]),
    }
    if {"base", "tuned"} <= set(loaded_models) and cfg.eval.kl_items:
        results["divergence"] = _divergence(loaded_models, items[:cfg.eval.kl_items], task, device)
    del loaded_models
    record_path = Path(cfg.output_dir) / "adapter" / "run_record.json"
    if record_path.is_file():
        rec = read_json(record_path)
        results["training"] = {k: rec.get(k) for k in ("examples", "steps", "tokens", "seconds", "tokens_per_second",
                                                       "final_loss", "device", "precision", "threads")}
        log_path = Path(cfg.output_dir) / "train_log.jsonl"
        if log_path.is_file():
            results["training"]["loss_curve"] = [[r["step"], r["loss"]] for _, r in iter_jsonl(log_path)]
    write_json(Path(cfg.output_dir) / "results.json", results)
    return results


def evaluate_robustness(cfg: RunConfig) -> dict:
    """``--suite robustness``: every arm on clean items and their attacked variants; writes ``robustness.json``."""
    from lorakit.eval.robustness import attack_success, build_suite

    task, eval_file, items, expected, device, precision = _setup(cfg)
    variants, v_expected = build_suite(items, expected, task.empty_answer)
    if not variants:
        raise EvalError(f"no eval item in {eval_file} is long enough for the robustness suite (40+ characters)")
    attacked_lines = {ex.line for ex in variants}
    clean = [(ChatExample(ex.messages, "none", ex.line, {**ex.extra, "attack": "none"}), e)
             for ex, e in zip(items, expected) if ex.line in attacked_lines]
    all_items = [ex for ex, _ in clean] + variants
    all_expected = [e for _, e in clean] + v_expected
    arms = {}
    for which in cfg.eval.models:
        loaded = load_for_eval(cfg, which, device, precision)
        for decoding in cfg.eval.decoding:
            res = evaluate_model(cfg, which, all_items, all_expected, task, decoding, loaded, "eval/robustness")
            verdicts = res.pop("_verdicts")
            clean_v = {ex.line: v for (ex, _), v in zip(clean, verdicts)}
            attacked = [(ex.line, ex.category, v) for ex, v in zip(variants, verdicts[len(clean):])]
            res["attack_success"] = attack_success(clean_v, attacked)
            changed = sum(d["changed"] for d in res["attack_success"].values())
            n = sum(d["n"] for d in res["attack_success"].values())
            res["attack_success_overall"] = changed / n if n else None
            res.pop("failures", None)
            arms[arm_name(which, decoding)] = res
        del loaded
    results = {"task": task.name, "suite": "robustness", "eval_file": str(eval_file), "n_clean": len(clean),
               "n_variants": len(variants), "models": arms}
    write_json(Path(cfg.output_dir) / "robustness.json", results)
    return results
