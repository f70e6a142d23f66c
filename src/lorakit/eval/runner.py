"""``lorakit eval``: the base and the tuned model on the same items, scored the same way."""

from __future__ import annotations

import json
import time
from pathlib import Path

from lorakit.config import RunConfig
from lorakit.data.chat import ChatExample, load_chat_jsonl
from lorakit.errors import EvalError
from lorakit.eval.metrics import Scorer, aggregate, aggregate_by, flips
from lorakit.io import read_json, write_json, write_jsonl


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


def evaluate_model(cfg: RunConfig, which: str, items: list[ChatExample], expected: list, task) -> dict:
    from rich.progress import Progress

    from lorakit.eval.generate import generate
    from lorakit.runtime import pick_device
    from lorakit.train.trainer import resolve_precision

    device = pick_device(cfg.train.device)
    model, tok, tuned_system = load_for_eval(cfg, which, device, resolve_precision(device, cfg.train.precision))
    prompts = [_prompt(ex, which, cfg.eval.prompt, task, tuned_system) for ex in items]
    t0 = time.perf_counter()
    with Progress(transient=False) as bar:
        job = bar.add_task(f"eval {which}", total=len(items))
        raw = generate(model, tok, prompts, batch_size=cfg.eval.batch_size, max_new_tokens=cfg.eval.max_new_tokens,
                       on_batch=lambda n: bar.advance(job, n))
    seconds = time.perf_counter() - t0
    scorer = Scorer(task.schema)
    verdicts = [scorer.score(r, e) for r, e in zip(raw, expected)]
    out_dir = Path(cfg.output_dir) / "eval" / which
    write_jsonl(out_dir / "predictions.jsonl", (
        {"id": _item_id(ex), "category": ex.category, "input": ex.user, "expected": exp, "raw_output": r, **v}
        for ex, exp, r, v in zip(items, expected, raw, verdicts)
    ))
    return {
        "overall": aggregate(verdicts),
        "by_category": aggregate_by(verdicts, [ex.category for ex in items]),
        "seconds": round(seconds, 1),
        "system_prompt": prompts[0][0]["content"] if prompts and prompts[0][0]["role"] == "system" else None,
        "_verdicts": verdicts,
    }


def _item_id(ex: ChatExample) -> str:
    return f"line-{ex.line}"


def evaluate(cfg: RunConfig) -> dict:
    """Evaluate the configured models on the eval file; writes ``results.json`` and predictions."""
    from lorakit.data.tasks import get_task
    from lorakit.pipeline import ensure_data
    from lorakit.runtime import setup_threads

    setup_threads()
    task = get_task(cfg.data.task)
    _, eval_file = ensure_data(cfg)
    items = load_chat_jsonl(eval_file, limit=cfg.eval.limit)
    expected = [_expected(ex, eval_file) for ex in items]
    models = {which: evaluate_model(cfg, which, items, expected, task) for which in cfg.eval.models}
    results = {
        "task": task.name,
        "eval_file": str(eval_file),
        "n_items": len(items),
        "models": {k: {kk: vv for kk, vv in v.items() if kk != "_verdicts"} for k, v in models.items()},
    }
    if "base" in models and "tuned" in models:
        ids = [_item_id(ex) for ex in items]
        b, t = models["base"]["_verdicts"], models["tuned"]["_verdicts"]
        first = next(iter(b[0]["fields"]))  # the schema's first field: the label users care most about
        results["flips"] = {
            "exact_match": flips([v["exact_match"] for v in b], [v["exact_match"] for v in t], ids),
            f"field:{first}": flips([v["fields"][first] for v in b], [v["fields"][first] for v in t], ids),
        }
    record_path = Path(cfg.output_dir) / "adapter" / "run_record.json"
    if record_path.is_file():
        rec = read_json(record_path)
        results["training"] = {k: rec.get(k) for k in ("examples", "steps", "tokens", "seconds", "tokens_per_second",
                                                       "final_loss", "device", "precision", "threads")}
    write_json(Path(cfg.output_dir) / "results.json", results)
    return results
