"""``lorakit export RUN_DIR --format peft|merged|gguf|ollama [--check]``.

- ``peft``: the adapter (safetensors + adapter_config.json), for ``PeftModel.from_pretrained``;
- ``merged``: the adapter merged into the base, a plain Hugging Face folder (weights, config,
  tokenizer with its chat template);
- ``gguf``: the merged model as one GGUF file (f16 or q8_0) with the chat template in its metadata,
  read back by transformers and its logits compared with the merged model's;
- ``ollama``: the GGUF plus a Modelfile whose TEMPLATE renders the training template byte for byte.

``--check`` re-answers a sample of the run's eval items with the exported artifact and with the
model ``lorakit eval`` evaluated (base + adapter, merged), same prompts, same batches, and fails if
any answer differs. Every export writes ``export_record.json`` with what was checked.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from lorakit.errors import EvalError, ExportError
from lorakit.export.card import write_card
from lorakit.io import atomic_dir, gguf_parsed_once, read_json, write_json
from lorakit.rundir import RunDir

logger = logging.getLogger("lorakit")

FORMATS = ("peft", "merged", "gguf", "ollama")
GGUF_NAME = "model.gguf"


def _record(run_dir: Path) -> dict:
    from lorakit.models.adapter import check_adapter

    run = RunDir(run_dir)
    if not run.is_trained:
        raise ExportError(f"no trained adapter in {run_dir} (looked for {run.run_record_path}); "
                          "run `lorakit train` first")
    check_adapter(run.adapter)
    return run.run_record().model_dump(mode="json")


def _merged_model(run_dir: Path, rec: dict):
    """(merged model in the base's dtype, tokenizer, base folder)."""
    from lorakit.models import load

    return load(rec["base_model"], adapter=RunDir(run_dir).adapter)


def source_gguf(name: str) -> Path | None:
    """The GGUF file the base model was converted from, if it came from one."""
    from lorakit.models.loader import resolve_model

    src = resolve_model(name)
    return Path(src.path) / src.gguf_file if src.gguf_file else None


def export(run_dir: str | Path, fmt: str, out: str | Path | None = None, *, quant: str = "f16",
           check: bool = False, check_items: int = 16) -> dict:
    """Export the run's adapter as ``fmt`` into ``out`` (default RUN_DIR/export/FMT); returns the record."""
    run_dir = Path(run_dir)
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; one of: {', '.join(FORMATS)}")
    rec, run = _record(run_dir), RunDir(run_dir)
    if rec.get("head") == "classification" and fmt in ("gguf", "ollama"):
        raise ExportError(f"{run_dir} was trained with train.head=classification: its answers come from a linear "
                          f"head over {len(rec.get('labels') or [])} labels, which GGUF (and so llama.cpp and Ollama) "
                          "cannot carry; export it as peft (the adapter with its head and labels.json) or merged (a "
                          "transformers *ForSequenceClassification folder), or retrain with train.head=lm for a GGUF")
    out = Path(out) if out else run.export_dir(fmt)
    from lorakit.models.loader import load_tokenizer, public_base

    base = public_base(rec["base_model"])
    record: dict = {"format": fmt, "run_dir": str(run_dir), "base_model": rec["base_model"],
                    "base_model_name_or_path": base.name_or_path, "license": base.license, "base_note": base.note,
                    # where the weights trained over live on this machine: lorakit's record, never the PEFT config
                    "training_base": rec.get("model_dir"),
                    "system_prompt": rec.get("system_prompt"), "path": str(out)}
    with atomic_dir(out) as tmp, gguf_parsed_once():  # a failed export leaves no half-written folder
        if fmt == "peft":
            for f in run.adapter.iterdir():
                if f.is_file():
                    shutil.copy2(f, tmp / f.name)
            _point_at_public_base(tmp / "adapter_config.json", base.name_or_path)
        else:
            model, tok, base_dir = _merged_model(run_dir, rec)
            if fmt == "merged":
                model.save_pretrained(tmp, safe_serialization=True)
                tok.save_pretrained(tmp)
            else:
                record.update(_write_gguf(model, tok, tmp, quant, rec, fmt, final=out))
        if check:
            from lorakit.export.parity import check_parity

            record["check"] = check_parity(run_dir, rec, fmt, tmp, check_items,
                                           training_base=record["training_base"], quant=quant)
        write_card(tmp, record, rec, run_dir, load_tokenizer(str(run.adapter)).chat_template)
        write_json(tmp / "export_record.json", record)
    if check and not record["check"]["passed"]:
        raise ExportError(f"parity check failed: {record['check']['summary']} (details in {out}/export_record.json)")
    return record


def _point_at_public_base(config_file: Path, base: str) -> None:
    """Name the base in adapter_config.json as the ecosystem does (a hub id), not as a path in this machine's cache."""
    config = read_json(config_file)
    config["base_model_name_or_path"] = base
    write_json(config_file, config)


def _write_gguf(model, tok, out: Path, quant: str, rec: dict, fmt: str, final: Path) -> dict:
    """Write the GGUF (and the Modelfile) into ``out``, the temporary folder that becomes ``final``."""
    import tempfile

    from lorakit.export.gguf_writer import write_gguf
    from lorakit.export.ollama import modelfile

    with tempfile.TemporaryDirectory(dir=out.parent) as merged:  # the writer reads a saved HF folder
        model.save_pretrained(merged, safe_serialization=True)
        tok.save_pretrained(merged)
        write_gguf(merged, out / GGUF_NAME, quant=quant, source_gguf=source_gguf(rec["base_model"]))
    info = {"gguf": str(final / GGUF_NAME), "quant": quant}
    if fmt == "ollama":
        (out / "Modelfile").write_text(modelfile(GGUF_NAME, tok, rec.get("system_prompt")), encoding="utf-8")
        info["modelfile"] = str(final / "Modelfile")
    return info


def eval_sample(run_dir: Path, n: int):
    """The first ``n`` eval items of the run, with the tuned model's prompts."""
    from lorakit.data.chat import load_chat_jsonl
    from lorakit.data.tasks import get_task

    _record(run_dir)  # checks the adapter
    run = RunDir(run_dir)
    rec = run.run_record()
    cfg = rec.run_config(run.run_record_path)
    cfg.output_dir = run_dir  # the folder may have moved since training
    eval_file = run.data / "eval.jsonl"
    task = get_task(cfg.data.task)
    if eval_file.is_file():
        items = load_chat_jsonl(eval_file, limit=n)
        return cfg, [task.prompt(ex, "tuned", cfg.eval.prompt, rec.system_prompt) for ex in items]
    if cfg.train.method == "dpo" and rec.train_file and Path(rec.train_file).is_file():
        # trained from a pairs file alone, the run made no task data: its pairs' prompts are re-answered instead
        from lorakit.data.preference import load_preferences

        logger.info("parity check: %s has no eval split; re-answering the first %d prompts of %s", run_dir, n,
                    rec.train_file)
        system = [{"role": "system", "content": rec.system_prompt}] if rec.system_prompt else []
        return cfg, [system + [m for m in pair.prompt if m["role"] != "system"]
                     for pair in load_preferences(rec.train_file)[:n]]
    raise EvalError(f"{eval_file} not found; the parity check re-answers the run's eval items")
