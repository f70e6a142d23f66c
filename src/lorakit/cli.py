"""The ``lorakit`` command line. Heavy libraries are imported inside the verbs, so ``--help`` is instant."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from pydantic import ValidationError
from typer.core import TyperGroup

from lorakit.config import (AskConfig, DataConfig, ExportConfig, GateJudgeConfig, ModelConfig, PredictConfig, ServeConfig,
                            TeacherConfig)
from lorakit.data.pdf.options import PdfQAOptions
from lorakit.errors import ConfigError, LorakitError
from lorakit.rundir import RunDir


class _Commands(TyperGroup):
    """The one place a :class:`LorakitError` becomes a red message and exit code 2 (never a traceback)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except LorakitError as e:
            _fail(e)


app = typer.Typer(cls=_Commands, add_completion=False, no_args_is_help=True,
                  help="Fine-tune a small LLM into a reliable specialist, and prove it with numbers.")

ConfigArg = Annotated[Optional[Path], typer.Argument(help="YAML config (defaults when omitted)")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", "-s", help="override, e.g. --set train.lr=1e-4")]


def _config(path: Path | None, overrides: list[str] | None):
    from lorakit.config import load_config

    return load_config(path, overrides)


def _fail(e: LorakitError) -> None:
    typer.secho(f"error: {e}", fg="red", err=True)
    raise typer.Exit(2)


def _default(model, field: str) -> str:
    """`` (default: X)`` for a flag's help, read from the config model, so the CLI never re-declares a default."""
    return f" (default: {model.model_fields[field].default})"


RunConfigOpt = Annotated[Optional[Path], typer.Option(
    "--config", "-c", help="a run config (YAML): its data section (and model) give this verb's settings, as `lorakit "
    "run` uses them; flags override")]


def _data_config(config: Path | None, overrides: list[str] | None, flags: dict):
    """The run config of a data verb: the YAML file, then ``--set``, then the flags given as ``data.KEY`` (None: not
    given), so a data verb does what the data step of ``lorakit run`` with that config does."""
    import json

    given = [f"data.{k}={json.dumps(str(v) if isinstance(v, Path) else v)}" for k, v in flags.items() if v is not None]
    return _config(config, list(overrides or []) + given)


def _pdf_options(cfg, **flags) -> PdfQAOptions:
    """``data.options`` as PdfQAOptions with the flags given on top; the PDF list is not these verbs' concern."""
    raw = {**cfg.data.options, **{k: v for k, v in flags.items() if v is not None}}
    try:
        return PdfQAOptions.model_validate({"pdf": ["-"], **raw})
    except ValidationError as e:
        from lorakit.config import format_errors

        raise ConfigError(format_errors(e, "data.options", prefix="data.options")) from None


@app.command()
def gen(
    task: Annotated[Optional[str], typer.Argument(help="a task with a generator (see docs/custom-tasks.md)"
                                                  + _default(DataConfig, "task"))] = None,
    out: Annotated[Optional[Path], typer.Option(help="output folder (default: data/TASK)")] = None,
    n_train: Annotated[Optional[int], typer.Option(help="training rows" + _default(DataConfig, "n_train"))] = None,
    n_eval: Annotated[Optional[int], typer.Option(help="eval rows" + _default(DataConfig, "n_eval"))] = None,
    seed: Annotated[Optional[int], typer.Option(help="random seed" + _default(DataConfig, "seed"))] = None,
    config: RunConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Generate a task's synthetic train and eval splits as chat JSONL."""
    from lorakit.data.gen import gen as run_gen

    d = _data_config(config, set_, {"task": task, "n_train": n_train, "n_eval": n_eval, "seed": seed}).data
    rec = run_gen(d.task, out or Path("data") / Path(d.task).stem.replace(":", "_"), d.n_train, d.n_eval, d.seed)
    for split, f in rec["files"].items():
        typer.echo(f"{split}: {f['rows']} rows -> {f['path']}")


data_app = typer.Typer(no_args_is_help=True, help="Prepare your own data: convert, validate, deduplicate, split.")
app.add_typer(data_app, name="data")


@data_app.command("prepare")
def data_prepare(
    train_file: Annotated[Optional[Path], typer.Argument(
        help="your data: chat / alpaca / instruction / prompt-completion (JSONL or a JSON list) or CSV "
             "(default: data.train_file of --config)")] = None,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("data/prepared"),
    eval_file: Annotated[Optional[Path], typer.Option("--eval", help="held-out file; else split off")] = None,
    eval_fraction: Annotated[Optional[float], typer.Option(
        help="share split off for eval" + _default(DataConfig, "eval_fraction"))] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", help="auto, chat, sharegpt, alpaca, instruction, "
                                               "prompt_completion, csv" + _default(DataConfig, "format"))] = None,
    column: Annotated[Optional[list[str]], typer.Option(
        help="field map (any file type; dotted paths reach nested fields), e.g. --column prompt=question")] = None,
    encoding: Annotated[Optional[str], typer.Option(
        help="the files' text encoding, e.g. cp1252" + _default(DataConfig, "encoding"))] = None,
    system: Annotated[Optional[str], typer.Option(help="system prompt for rows that have none")] = None,
    skip_bad: Annotated[Optional[bool], typer.Option(
        "--skip-bad/--stop-on-bad", help="drop and count malformed rows instead of stopping (default: stop)")] = None,
    dedup: Annotated[Optional[bool], typer.Option(
        "--dedup/--no-dedup", help="drop duplicates and eval-leaking train rows (default: drop)")] = None,
    seed: Annotated[Optional[int], typer.Option(help="split seed" + _default(DataConfig, "seed"))] = None,
    config: RunConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Convert your data to chat JSONL, drop duplicates and eval leaks, split train/eval; report every drop."""
    from lorakit.data.prepare import prepare

    try:
        columns = dict(c.split("=", 1) for c in column) if column else None
    except ValueError:
        _fail(LorakitError("--column must look like field=column, e.g. --column prompt=question"))
    d = _data_config(config, set_, {"train_file": train_file, "eval_file": eval_file, "eval_fraction": eval_fraction,
                                    "format": fmt, "columns": columns, "encoding": encoding, "system_prompt": system,
                                    "skip_bad": skip_bad, "dedup": dedup, "seed": seed}).data
    if d.train_file is None:
        _fail(LorakitError("give TRAIN_FILE, or a --config whose data.train_file names your data"))
    rec = prepare(d.train_file, out, eval_file=d.eval_file, eval_fraction=d.eval_fraction, fmt=d.format,
                  skip_bad=d.skip_bad, system=d.system_prompt, columns=d.columns, seed=d.seed, dedupe=d.dedup,
                  encoding=d.encoding)
    typer.echo(f"format: {rec['format']}; rows read: {rec['rows_read']}; bad rows skipped: {rec['bad_rows']}")
    for reason, n in rec["dropped"].items():
        typer.echo(f"dropped ({reason}): {n}")
    if rec["eval_duplicates"]:
        typer.echo(f"eval file: {len(rec['eval_duplicates'])} duplicate rows, kept and scored as given "
                   "(prepare_record.json: eval_duplicates)")
    for split, f in rec["files"].items():
        typer.echo(f"{split}: {f['rows']} rows -> {f['path']}")
    typer.echo(f"every dropped row with its reason: {out / 'dropped.jsonl'}")


@data_app.command("pairs")
def data_pairs(
    run_dir: Annotated[Path, typer.Argument(help="a trained run folder")],
    out: Annotated[Optional[Path], typer.Option(help="pairs file (default RUN_DIR/data/pairs.jsonl)")] = None,
    source: Annotated[Optional[Path], typer.Option(
        "--from", help="chat JSONL to answer (default: the run's train split)")] = None,
    limit: Annotated[Optional[int], typer.Option(help="answer the first N items only")] = None,
    samples: Annotated[Optional[int], typer.Option(
        help="answers per item (with --temperature > 0; default: the run's train.dpo.samples)")] = None,
    temperature: Annotated[Optional[float], typer.Option(
        help="0: greedy; > 0: sampled answers (default: the run's train.dpo.temperature)")] = None,
    seed: Annotated[Optional[int], typer.Option(help="sampling seed (default: the run's train.seed)")] = None,
    balance: Annotated[Optional[bool], typer.Option(
        help="no value of a field rejected in more pairs than it is chosen in (default: the run's train.dpo.balance)")] = None,
    device: Annotated[str, typer.Option(help="auto (cuda when present), cpu, cuda, cuda:N")] = "auto",
) -> None:
    """Preference pairs from the tuned model's own mistakes: label = chosen, wrong answer = rejected."""
    from lorakit.eval.pairs import mine_pairs

    rec = mine_pairs(run_dir, out or RunDir(run_dir).data / "pairs.jsonl", source=source, limit=limit,
                     samples=samples, temperature=temperature, seed=seed, balance=balance, device=device)
    typer.echo(f"{rec['wrong_answers']} of {rec['answers']} answers wrong -> {rec['pairs']} pairs in {rec['file']}")
    if rec["dropped_by_balance"]:
        typer.echo(f"  dropped to balance: {rec['dropped_by_balance']}")
    for kind, n in rec["by_error"].items():
        typer.echo(f"  {kind}: {n}")


@data_app.command("pdf")
def data_pdf(
    pdf: Annotated[Path, typer.Argument(help="a PDF")],
    out: Annotated[Path, typer.Option(help="output folder (blocks.jsonl, chunks.jsonl)")] = Path("data/policy"),
    model: Annotated[Optional[str], typer.Option(help="model whose tokenizer counts chunk tokens (default: model.name, "
                                                      f"{ModelConfig.model_fields['name'].default})")] = None,
    max_tokens: Annotated[Optional[int], typer.Option(
        help="chunk size in tokens (default: data.options.chunk_tokens, "
             f"{PdfQAOptions.model_fields['chunk_tokens'].default})")] = None,
    backend: Annotated[Optional[str], typer.Option(
        help="auto, pdfplumber, pypdfium2, or docling (full Docling with its models, where installed)"
             + _default(PdfQAOptions, "pdf_backend"))] = None,
    config: RunConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Parse a PDF (headings, lists, tables; running headers/footers dropped) into heading-aware chunks."""
    from lorakit.data.pdf.parse import pdf_to_chunks

    cfg = _config(config, set_)
    opts = _pdf_options(cfg, chunk_tokens=max_tokens, pdf_backend=backend)  # the chunks `lorakit run` would make
    try:
        rec = pdf_to_chunks(pdf, out, model=model or cfg.model.name, max_tokens=opts.chunk_tokens,
                            backend=opts.pdf_backend)
    except ImportError as e:
        _fail(LorakitError(f"PDF support needs its extra: pip install 'lorakit[pdf]' ({e})"))
    typer.echo(f"{rec['pages']} pages, blocks {dict(rec['blocks'])}, {rec['chunks']} chunks over sections "
               f"{', '.join(rec['sections'])} -> {out}/chunks.jsonl")


@data_app.command("qa")
def data_qa(
    chunks: Annotated[Path, typer.Argument(help="chunks.jsonl from `lorakit data pdf`")],
    out: Annotated[Path, typer.Option(help="output JSONL of Q/A rows")] = Path("data/policy/qa.jsonl"),
    seed: Annotated[Optional[int], typer.Option(help="random seed" + _default(DataConfig, "seed"))] = None,
    teacher_url: Annotated[Optional[str], typer.Option(
        help="also ask a teacher at this OpenAI-compatible endpoint (up to /v1; default: data.options.teacher)")] = None,
    teacher_model: Annotated[str, typer.Option(help="the teacher's model name at that endpoint")] = "teacher",
    teacher_key_env: Annotated[str, typer.Option(help="environment variable holding its API key")] = "OPENAI_API_KEY",
    per_chunk: Annotated[int, typer.Option(min=1, max=30, help="questions asked of the teacher per chunk")] = \
        TeacherConfig.model_fields["questions_per_chunk"].default,
    config: RunConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Synthesize answerable and unanswerable questions from chunks (offline; plus a teacher LLM if given)."""
    from lorakit.data.pdf.qa import synthesize
    from lorakit.io import iter_jsonl, write_jsonl

    cfg = _data_config(config, set_, {"seed": seed})
    opts = _pdf_options(cfg)
    chunk_rows = [r for _, r in iter_jsonl(chunks)]
    rows = synthesize(chunk_rows, seed=cfg.data.seed, unanswerable_share=opts.unanswerable_share)
    teacher = opts.teacher
    if teacher_url:
        teacher = TeacherConfig(base_url=teacher_url, model=teacher_model, api_key_env=teacher_key_env,
                                questions_per_chunk=per_chunk)
    if teacher is not None:
        from lorakit.data.pdf.teacher import teacher_rows

        extra, stats = teacher_rows(chunk_rows, teacher, out.with_name("teacher_cache.jsonl"))
        rows += extra
        typer.echo(f"teacher: {len(extra)} questions, {stats['asked']} requests "
                   f"({stats['chunks'] - stats['asked']} from the cache), {stats['invalid']} invalid replies")
    write_jsonl(out, rows)
    typer.echo(f"{len(rows)} questions ({sum(r['answerable'] for r in rows)} answerable) -> {out}")


@data_app.command("gate")
def data_gate(
    qa: Annotated[Path, typer.Argument(help="Q/A rows (from `lorakit data qa` or a teacher)")],
    out: Annotated[Path, typer.Option(help="output folder: kept.jsonl, dropped.jsonl, gate_summary.json")]
    = Path("data/policy/gated"),
    eval_share: Annotated[Optional[float], typer.Option(
        help="share of top-level sections held out for eval" + _default(PdfQAOptions, "eval_share"))] = None,
    seed: Annotated[Optional[int], typer.Option(help="random seed" + _default(DataConfig, "seed"))] = None,
    judge_url: Annotated[Optional[str], typer.Option(
        help="LLM judge at this OpenAI-compatible endpoint (up to /v1): scores accuracy and style 0-10 (default: "
             "data.options.judge)")] = None,
    judge_model: Annotated[str, typer.Option(help="the judge's model name at that endpoint")] = "judge",
    judge_key_env: Annotated[str, typer.Option(help="environment variable holding its API key")] = "OPENAI_API_KEY",
    min_accuracy: Annotated[int, typer.Option(min=0, max=10, help="drop rows the judge scores below this for accuracy")] \
        = GateJudgeConfig.model_fields["min_accuracy"].default,
    min_style: Annotated[int, typer.Option(min=0, max=10, help="drop rows the judge scores below this for style")] = \
        GateJudgeConfig.model_fields["min_style"].default,
    config: RunConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Quality-gate Q/A rows: heuristics, dedup, optional LLM judge, section split, decontamination."""
    from lorakit.data.pdf.gate import gate
    from lorakit.io import iter_jsonl

    cfg = _data_config(config, set_, {"seed": seed})
    opts = _pdf_options(cfg, eval_share=eval_share)
    judge = opts.judge
    if judge_url:
        judge = GateJudgeConfig(base_url=judge_url, model=judge_model, api_key_env=judge_key_env,
                                min_accuracy=min_accuracy, min_style=min_style)
    summary = gate([r for _, r in iter_jsonl(qa)], out, eval_share=opts.eval_share, seed=cfg.data.seed, judge=judge)
    typer.echo(f"kept {summary['kept']} of {summary['rows']} (train {summary['train']}, eval {summary['eval']}, "
               f"eval sections {', '.join(summary['eval_sections'])}); dropped: {summary['reasons']}")


@app.command()
def train(config: ConfigArg = None, set_: SetOpt = None,
          resume: Annotated[bool, typer.Option(help="continue from the last checkpoint")] = False) -> None:
    """Fine-tune a LoRA adapter (train.method: sft, or dpo on preference pairs); writes OUTPUT_DIR/adapter."""
    from lorakit.pipeline import train_stage

    result = train_stage(_config(config, set_), resume=resume)
    typer.echo(f"adapter saved to {result.adapter_dir}")


DecodingOpt = Annotated[Optional[list[str]], typer.Option(
    "--decoding", help="free or constrained (the task's JSON Schema, token by token); repeat for both")]


@app.command("eval")
def eval_(config: Annotated[Optional[Path], typer.Argument(
              help="YAML config, or a trained run folder (its own config, task, prompt and adapter)")] = None,
          set_: SetOpt = None, decoding: DecodingOpt = None,
          data: Annotated[Optional[Path], typer.Option(
              "--data", help="a labelled file to evaluate on, in any data format, scored as given (every row); "
              "no train file needed")] = None,
          column: Annotated[Optional[list[str]], typer.Option(
              help="field map for --data, e.g. --column prompt=question --column completion=answer")] = None,
          encoding: Annotated[Optional[str], typer.Option(help="--data's text encoding, e.g. cp1252")] = None,
          out: Annotated[Optional[Path], typer.Option(
              help="where results go (with a run folder and --data: RUN_DIR/evals/FILE_STEM)")] = None,
          suite: Annotated[Optional[str], typer.Option(
              help="robustness: adversarial variants of the eval items (writes robustness.json)")] = None,
          backend: Annotated[Optional[str], typer.Option(
              help="local (in-process) or openai (any OpenAI-compatible endpoint: eval.openai.*)")] = None,
          base_url: Annotated[Optional[str], typer.Option(help="openai backend: endpoint up to /v1")] = None,
          served: Annotated[Optional[list[str]], typer.Option(
              help="openai backend: MODEL=NAME, the served name of base or tuned, e.g. --served tuned=ticket")] = None,
          ) -> None:
    """Evaluate the base and tuned models on the same items; writes results.json and a report.

    `lorakit eval RUN_DIR --data FILE` scores a trained run on any labelled file."""
    from lorakit.eval.report import headline_table, report, robustness_table
    from lorakit.eval.runner import evaluate, evaluate_robustness

    if suite not in (None, "robustness"):
        _fail(LorakitError(f"unknown suite {suite!r}; the one suite is: robustness"))
    extra = [f"eval.decoding=[{','.join(decoding)}]"] if decoding else []
    extra += [f"eval.backend={backend}"] if backend else []
    extra += [f"eval.openai.base_url={base_url}"] if base_url else []
    extra += [f"eval.openai.models.{s}" for s in served or []]
    extra += _column_overrides(column)
    extra += [f"data.encoding={_q(encoding)}"] if encoding else []
    cfg = _eval_config(config, data, out, extra + (set_ or []))
    if suite == "robustness":
        results = evaluate_robustness(cfg)
        if RunDir(cfg.output_dir).results_path.is_file():
            report(cfg.output_dir)  # the report gains its robustness section
        typer.echo(robustness_table(results))
        return
    results = evaluate(cfg)
    path = report(cfg.output_dir)
    typer.echo(headline_table(results))
    typer.echo(f"report: {path}")


def _q(value: object) -> str:
    """A value for an override, quoted so that YAML reads it back as the same string."""
    import json

    return json.dumps(str(value))


def _column_overrides(column: list[str] | None) -> list[str]:
    for c in column or []:
        if "=" not in c or not c.split("=", 1)[0] or not c.split("=", 1)[1]:
            raise typer.BadParameter(f"{c!r}: --column must look like field=column, e.g. --column prompt=question")
    return [f"data.columns.{c.split('=', 1)[0]}={_q(c.split('=', 1)[1])}" for c in column or []]


def _eval_config(source: Path | None, data: Path | None, out: Path | None, overrides: list[str]):
    """The eval config: a YAML file, or a trained run folder's own config with its adapter; ``data``: the file
    to score (alone, as given), results in ``out``."""
    extra: list[str] = []
    if source is not None and source.is_dir():
        run = RunDir(source)
        if not run.config.is_file() or not run.is_trained:
            raise LorakitError(f"{source} is not a trained run folder (no config.yaml and adapter/run_record.json); "
                               "give a config file, or a folder written by `lorakit train` / `lorakit run`")
        extra += [f"eval.run_dir={_q(source)}",
                  f"output_dir={_q(out or (run.evals(data.stem) if data else source))}"]
        if out is not None and data is None and (run.data / "eval.jsonl").is_file():
            # the run's own items (and its eval.limit), scored into another folder
            extra += [f"data.eval_file={_q(run.data / 'eval.jsonl')}", "data.train_file=null"]
        source = run.config
    elif out is not None:
        extra.append(f"output_dir={_q(out)}")
    if data is not None:  # every row of the user's file: no train file, no item limit (unless --set says so)
        extra += [f"data.eval_file={_q(data)}", "data.train_file=null", "eval.limit=null"]
    return _config(source, extra + overrides)


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="a run folder holding results.json")]) -> None:
    """Rebuild the Markdown report of a run from its results.json."""
    from lorakit.eval.report import report as run_report

    path = run_report(run_dir)
    typer.echo(path.read_text(encoding="utf-8"))


@app.command()
def compare(
    baseline: Annotated[str, typer.Argument(help="the baseline's run or eval folders, comma-separated, globs allowed "
                                                 "(quoted): 'runs/fhs_s*'")],
    candidate: Annotated[str, typer.Argument(help="the candidate's folders, the same way")],
    model: Annotated[Optional[str], typer.Option(help="which evaluated arm of each folder (default: tuned, else "
                                                      "the last one)")] = None,
    metric: Annotated[Optional[list[str]], typer.Option(help="a metric to compare (repeatable; default: the "
                                                             "task's focus metrics)")] = None,
) -> None:
    """Compare two recipes over several runs each (training seeds): the difference per metric with an interval
    that holds the seed's noise, and the items each one wins. Reads the folders, writes nothing."""
    from lorakit.eval.compare import compare_runs

    typer.echo(compare_runs(baseline, candidate, model=model, metrics=metric))


@app.command()
def run(config: ConfigArg = None, set_: SetOpt = None,
        resume: Annotated[bool, typer.Option(help="continue training from the last checkpoint")] = False) -> None:
    """Generate data if needed, train, evaluate base vs tuned, and report: the whole pipeline."""
    from lorakit.pipeline import run as run_pipeline

    path = run_pipeline(_config(config, set_), resume=resume)
    typer.echo(path.read_text(encoding="utf-8"))
    typer.echo(f"report: {path}")


VerbSetOpt = Annotated[Optional[list[str]], typer.Option("--set", "-s", help="override a key of this verb's config, "
                                                                         "e.g. --set quant=q8_0")]
VerbConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="YAML config of this verb (flags "
                                                                             "override it)")]


@app.command()
def export(
    run_dir: Annotated[Optional[Path], typer.Argument(help="a run folder holding a trained adapter")] = None,
    config: VerbConfigOpt = None,
    set_: VerbSetOpt = None,
    fmt: Annotated[Optional[str], typer.Option("--format", "-f", help="peft, merged, gguf or ollama"
                                               + _default(ExportConfig, "format"))] = None,
    out: Annotated[Optional[Path], typer.Option(help="output folder (default RUN_DIR/export/FORMAT)")] = None,
    quant: Annotated[Optional[str], typer.Option(help="GGUF weights: f16 or q8_0" + _default(ExportConfig, "quant"))]
    = None,
    check: Annotated[Optional[bool], typer.Option(
        "--check/--no-check", help="re-answer eval items with the export; fail if any answer differs"
        + _default(ExportConfig, "check"))] = None,
    check_items: Annotated[Optional[int], typer.Option(
        help="eval items the check re-answers" + _default(ExportConfig, "check_items"))] = None,
) -> None:
    """Export the adapter: PEFT folder, merged HF model, GGUF, or GGUF + Ollama Modelfile."""
    from lorakit.export import export as run_export

    cfg = verb_config(ExportConfig, config, set_, {"run_dir": run_dir, "format": fmt, "out": out, "quant": quant,
                                                   "check": check, "check_items": check_items})
    rec = run_export(cfg.run_dir, cfg.format, cfg.out, quant=cfg.quant, check=cfg.check, check_items=cfg.check_items)
    typer.echo(f"{cfg.format} export -> {rec['path']}")
    if "check" in rec:
        typer.echo(f"parity check passed: {rec['check']['summary']}")


@app.command()
def predict(
    run_dir: Annotated[Optional[Path], typer.Argument(help="a trained run folder")] = None,
    config: VerbConfigOpt = None,
    set_: VerbSetOpt = None,
    input_file: Annotated[Optional[Path], typer.Option("--input", "-i", help="input lines (default: stdin)")] = None,
    constrained: Annotated[Optional[bool], typer.Option(
        "--constrained/--free", help="decode within the task's JSON Schema" + _default(PredictConfig, "constrained"))]
    = None,
    batch_size: Annotated[Optional[int], typer.Option(
        help="lines answered together" + _default(PredictConfig, "batch_size"))] = None,
    max_new_tokens: Annotated[Optional[int], typer.Option(
        help="answer length limit (default: the run's eval.max_new_tokens)")] = None,
    device: Annotated[Optional[str], typer.Option(
        help="auto (cuda when present), cpu, cuda, cuda:N" + _default(PredictConfig, "device"))] = None,
) -> None:
    """Answer messages (one per line, or JSON lines with "messages"/"input") with the tuned model; JSON out."""
    from lorakit.predict import predict as run_predict

    cfg = verb_config(PredictConfig, config, set_, {"run_dir": run_dir, "input": input_file, "constrained": constrained,
                                                    "batch_size": batch_size, "max_new_tokens": max_new_tokens,
                                                    "device": device})
    try:
        lines = cfg.input.open(encoding="utf-8") if cfg.input else sys.stdin
        for out in run_predict(cfg.run_dir, lines, constrained=cfg.constrained, batch_size=cfg.batch_size,
                               max_new_tokens=cfg.max_new_tokens, device=cfg.device):
            typer.echo(out)
    except OSError as e:  # an unreadable --input file
        _fail(LorakitError(str(e)))


@app.command()
def serve(
    runs: Annotated[Optional[list[str]], typer.Argument(help="run folders to serve, as NAME=RUN_DIR or RUN_DIR")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="YAML ServeConfig (flags override it)")]
    = None,
    set_: SetOpt = None,
    adapters: Annotated[Optional[Path], typer.Option(help="a folder of adapters (or run folders), loaded by name "
                                                          "on first request")] = None,
    base_model: Annotated[Optional[str], typer.Option(help="base model (default: the runs' base)")] = None,
    host: Annotated[Optional[str], typer.Option(help="address" + _default(ServeConfig, "host"))] = None,
    port: Annotated[Optional[int], typer.Option(help="port" + _default(ServeConfig, "port"))] = None,
    max_batch: Annotated[Optional[int], typer.Option(
        help="requests answered by one generate call, 1: no batching" + _default(ServeConfig, "max_batch"))] = None,
    batch_wait_ms: Annotated[Optional[float], typer.Option(
        help="how long the first request waits for company" + _default(ServeConfig, "batch_wait_ms"))] = None,
    max_tokens: Annotated[Optional[int], typer.Option(
        help="largest max_tokens a request may ask for" + _default(ServeConfig, "max_tokens"))] = None,
    max_body_bytes: Annotated[Optional[int], typer.Option(
        help="largest request body" + _default(ServeConfig, "max_body_bytes"))] = None,
    max_messages: Annotated[Optional[int], typer.Option(
        help="most messages per request" + _default(ServeConfig, "max_messages"))] = None,
    api_key_env: Annotated[Optional[str], typer.Option(
        help="environment variable holding the API key, unset: no key" + _default(ServeConfig, "api_key_env"))] = None,
    precision: Annotated[Optional[str], typer.Option(
        help="auto, bf16, fp16 or fp32" + _default(ServeConfig, "precision"))] = None,
    device: Annotated[Optional[str], typer.Option(
        help="auto (cuda when present), cpu, cuda, cuda:N" + _default(ServeConfig, "device"))] = None,
) -> None:
    """Serve base + adapters over an OpenAI-compatible API (chat completions, streaming, JSON schema)."""
    from lorakit.serve.app import Limits
    from lorakit.serve.server import serve as run_serve

    flags = {"adapters": adapters, "base_model": base_model, "host": host, "port": port, "max_batch": max_batch,
             "batch_wait_ms": batch_wait_ms, "max_tokens": max_tokens, "max_body_bytes": max_body_bytes,
             "max_messages": max_messages, "api_key_env": api_key_env, "precision": precision,
             "device": device}
    cfg = serve_config(config, set_, runs, flags)
    run_serve(cfg.runs, host=cfg.host, port=cfg.port, base_model=cfg.base_model, adapter_dir=cfg.adapters,
              max_batch=cfg.max_batch, batch_wait_ms=cfg.batch_wait_ms, precision=cfg.precision,
              device=cfg.device, api_key_env=cfg.api_key_env, prefix_cache=cfg.prefix_cache,
              limits=Limits(max_body_bytes=cfg.max_body_bytes, max_messages=cfg.max_messages, max_tokens=cfg.max_tokens))


@app.command()
def ask(
    run_dir: Annotated[Optional[Path], typer.Argument(help="a trained run whose task answers from documents")] = None,
    questions: Annotated[Optional[list[str]], typer.Argument(help="questions (none: one per line of stdin)")] = None,
    config: VerbConfigOpt = None,
    set_: VerbSetOpt = None,
    k: Annotated[Optional[int], typer.Option("-k", help="excerpts retrieved per question (default: the run's "
                                                        "eval.retrieve_k)")] = None,
    max_new_tokens: Annotated[Optional[int], typer.Option(help="answer length limit")] = None,
    device: Annotated[Optional[str], typer.Option(
        help="auto (cuda when present), cpu, cuda, cuda:N" + _default(AskConfig, "device"))] = None,
) -> None:
    """Answer questions from the run's own documents: excerpts retrieved (BM25), the tuned model answers; JSON
    lines with the answer and the heading paths of its sources."""
    import json

    from lorakit.ask import ask as run_ask

    cfg = verb_config(AskConfig, config, set_, {"run_dir": run_dir, "questions": list(questions) if questions else None,
                                                "k": k, "max_new_tokens": max_new_tokens, "device": device})
    for out in run_ask(cfg.run_dir, cfg.questions or sys.stdin, k=cfg.k, device=cfg.device,
                       max_new_tokens=cfg.max_new_tokens):
        typer.echo(json.dumps(out, ensure_ascii=False))


def verb_config(model, path: Path | None, overrides: list[str] | None, flags: dict):
    """A verb's typed config (``model``): its YAML file, then ``--set``, then the flags given (None: not given)."""
    import json

    from lorakit.config import load_config

    given = [f"{k}={json.dumps(str(v) if isinstance(v, Path) else v)}" for k, v in flags.items() if v is not None]
    return load_config(path, list(overrides or []) + given, model=model)


def serve_config(path: Path | None, overrides: list[str] | None, runs: list[str] | None, flags: dict):
    """The :class:`ServeConfig`: the YAML file, then ``--set``, then the flags given (and the RUNS arguments)."""
    return verb_config(ServeConfig, path, overrides, {**flags, "runs": list(runs) if runs else None})


class _Stderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a message comes (test runners swap it between commands)."""

    stream = property(lambda self: sys.stderr, lambda self, value: None)


def _console_logging(level: int) -> None:
    """The library logs every decision the user did not make (a skipped checkpoint, reused data, a check not
    run) to ``logging.getLogger("lorakit")``; the CLI shows them on stderr at ``level``."""
    logger = logging.getLogger("lorakit")
    if not any(isinstance(h, _Stderr) for h in logger.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("lorakit: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)
    # a library calling the module-level logging.info() (rouge-score does, while scoring) would otherwise run
    # logging.basicConfig(): a second stderr handler on the root, and every later lorakit line printed twice
    if not logging.root.handlers:
        logging.root.addHandler(logging.NullHandler())


@app.callback()
def _options(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="also show debug messages")] = False,
             quiet: Annotated[bool, typer.Option("--quiet", "-q", help="only warnings and errors")] = False) -> None:
    if verbose and quiet:
        _fail(LorakitError("--verbose and --quiet exclude each other; give one"))
    _console_logging(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    if os.environ.get("LORAKIT_ALLOCATOR") == "tcmalloc":
        logging.getLogger("lorakit").debug("memory allocator: tcmalloc, preloaded because this machine has it "
                                           "(LORAKIT_ALLOCATOR=system keeps the system's malloc)")


def main() -> None:
    _restart_with_tcmalloc()
    app(prog_name="lorakit")


def _restart_with_tcmalloc() -> None:
    """Re-run this command with tcmalloc preloaded when the machine has it (see runtime.allocator_env)."""
    from lorakit.runtime import allocator_env, find_tcmalloc

    if sys.platform != "linux":
        return
    env = allocator_env(dict(os.environ), find_tcmalloc())
    if env is not None:
        os.execve(sys.executable, [sys.executable, "-m", "lorakit", *sys.argv[1:]], env)


if __name__ == "__main__":
    sys.exit(main())
