"""The ``lorakit`` command line. Heavy libraries are imported inside the verbs, so ``--help`` is instant."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from lorakit.errors import LorakitError
from lorakit.rundir import RunDir

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Fine-tune a small LLM into a reliable specialist, and prove it with numbers.")

ConfigArg = Annotated[Optional[Path], typer.Argument(help="YAML config (defaults when omitted)")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", "-s", help="override, e.g. --set train.lr=1e-4")]


def _config(path: Path | None, overrides: list[str] | None):
    from lorakit.config import load_config

    return load_config(path, overrides)


def _fail(e: LorakitError) -> None:
    typer.secho(f"error: {e}", fg="red", err=True)
    raise typer.Exit(2)


@app.command()
def gen(
    task: Annotated[str, typer.Argument(help="task name, e.g. support_ticket")] = "support_ticket",
    out: Annotated[Path, typer.Option(help="output folder")] = Path("data/support_ticket"),
    n_train: Annotated[int, typer.Option(help="training rows")] = 6000,
    n_eval: Annotated[int, typer.Option(help="eval rows")] = 800,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
) -> None:
    """Generate a task's synthetic train and eval splits as chat JSONL."""
    from lorakit.data.gen import gen as run_gen

    try:
        rec = run_gen(task, out, n_train, n_eval, seed)
    except LorakitError as e:
        _fail(e)
    for split, f in rec["files"].items():
        typer.echo(f"{split}: {f['rows']} rows -> {f['path']}")


data_app = typer.Typer(no_args_is_help=True, help="Prepare your own data: convert, validate, deduplicate, split.")
app.add_typer(data_app, name="data")


@data_app.command("prepare")
def data_prepare(
    train_file: Annotated[Path, typer.Argument(help="your data: chat / alpaca / instruction / prompt-completion "
                                                    "(JSONL or a JSON list) or CSV")],
    out: Annotated[Path, typer.Option(help="output folder")] = Path("data/prepared"),
    eval_file: Annotated[Optional[Path], typer.Option("--eval", help="held-out file; else split off")] = None,
    eval_fraction: Annotated[float, typer.Option(help="share split off for eval")] = 0.1,
    fmt: Annotated[str, typer.Option("--format", help="auto, chat, alpaca, instruction, prompt_completion, csv")] = "auto",
    column: Annotated[Optional[list[str]], typer.Option(help="CSV column map, e.g. --column prompt=question")] = None,
    system: Annotated[Optional[str], typer.Option(help="system prompt for rows that have none")] = None,
    skip_bad: Annotated[bool, typer.Option(help="drop and count malformed rows instead of stopping")] = False,
    no_dedup: Annotated[bool, typer.Option(help="keep duplicates and eval-leaking train rows")] = False,
    seed: Annotated[int, typer.Option(help="split seed")] = 0,
) -> None:
    """Convert your data to chat JSONL, drop duplicates and eval leaks, split train/eval; report every drop."""
    from lorakit.data.prepare import prepare

    try:
        columns = dict(c.split("=", 1) for c in column) if column else None
        rec = prepare(train_file, out, eval_file=eval_file, eval_fraction=eval_fraction, fmt=fmt, skip_bad=skip_bad,
                      system=system, columns=columns, seed=seed, dedupe=not no_dedup)
    except LorakitError as e:
        _fail(e)
    except ValueError:
        _fail(LorakitError("--column must look like field=column, e.g. --column prompt=question"))
    typer.echo(f"format: {rec['format']}; rows read: {rec['rows_read']}; bad rows skipped: {rec['bad_rows']}")
    for reason, n in rec["dropped"].items():
        typer.echo(f"dropped ({reason}): {n}")
    for split, f in rec["files"].items():
        typer.echo(f"{split}: {f['rows']} rows -> {f['path']}")
    typer.echo(f"every dropped row with its reason: {out / 'dropped.jsonl'}")


@data_app.command("pdf")
def data_pdf(
    pdf: Annotated[Path, typer.Argument(help="a policy PDF")],
    out: Annotated[Path, typer.Option(help="output folder (blocks.jsonl, chunks.jsonl)")] = Path("data/policy"),
    model: Annotated[str, typer.Option(help="model whose tokenizer counts chunk tokens")] = "smollm2-135m",
    max_tokens: Annotated[int, typer.Option(help="chunk size in tokens")] = 256,
    backend: Annotated[str, typer.Option(help="auto, pdfplumber, pypdfium2, or docling (full Docling with its "
                                                "models, where installed)")] = "auto",
) -> None:
    """Parse a PDF (headings, lists, tables; running headers/footers dropped) into heading-aware chunks."""
    from lorakit.data.pdf.parse import pdf_to_chunks

    try:
        rec = pdf_to_chunks(pdf, out, model=model, max_tokens=max_tokens, backend=backend)
    except ImportError as e:
        _fail(LorakitError(f"PDF support needs its extra: pip install 'lorakit[pdf]' ({e})"))
    except LorakitError as e:
        _fail(e)
    typer.echo(f"{rec['pages']} pages, blocks {dict(rec['blocks'])}, {rec['chunks']} chunks over sections "
               f"{', '.join(rec['sections'])} -> {out}/chunks.jsonl")


@data_app.command("qa")
def data_qa(
    chunks: Annotated[Path, typer.Argument(help="chunks.jsonl from `lorakit data pdf`")],
    out: Annotated[Path, typer.Option(help="output JSONL of Q/A rows")] = Path("data/policy/qa.jsonl"),
    seed: Annotated[int, typer.Option()] = 0,
    teacher_url: Annotated[Optional[str], typer.Option(
        help="also ask a teacher at this OpenAI-compatible endpoint (up to /v1)")] = None,
    teacher_model: Annotated[str, typer.Option(help="the teacher's model name at that endpoint")] = "teacher",
    teacher_key_env: Annotated[str, typer.Option(help="environment variable holding its API key")] = "OPENAI_API_KEY",
    per_chunk: Annotated[int, typer.Option(min=1, max=30, help="questions asked of the teacher per chunk")] = 6,
) -> None:
    """Synthesize answerable and unanswerable questions from policy chunks (offline; plus a teacher LLM if given)."""
    from lorakit.data.pdf.qa import synthesize
    from lorakit.io import iter_jsonl, write_jsonl

    try:
        chunk_rows = [r for _, r in iter_jsonl(chunks)]
        rows = synthesize(chunk_rows, seed=seed)
        if teacher_url:
            from lorakit.config import TeacherConfig
            from lorakit.data.pdf.teacher import teacher_rows

            teacher = TeacherConfig(base_url=teacher_url, model=teacher_model, api_key_env=teacher_key_env,
                                    questions_per_chunk=per_chunk)
            extra, stats = teacher_rows(chunk_rows, teacher, out.with_name("teacher_cache.jsonl"))
            rows += extra
            typer.echo(f"teacher: {len(extra)} questions, {stats['asked']} requests "
                       f"({stats['chunks'] - stats['asked']} from the cache), {stats['invalid']} invalid replies")
    except LorakitError as e:
        _fail(e)
    write_jsonl(out, rows)
    typer.echo(f"{len(rows)} questions ({sum(r['answerable'] for r in rows)} answerable) -> {out}")


@data_app.command("gate")
def data_gate(
    qa: Annotated[Path, typer.Argument(help="Q/A rows (from `lorakit data qa` or a teacher)")],
    out: Annotated[Path, typer.Option(help="output folder: kept.jsonl, dropped.jsonl, gate_summary.json")]
    = Path("data/policy/gated"),
    eval_share: Annotated[float, typer.Option(help="share of top-level sections held out for eval")] = 0.3,
    seed: Annotated[int, typer.Option()] = 0,
    judge_url: Annotated[Optional[str], typer.Option(
        help="LLM judge at this OpenAI-compatible endpoint (up to /v1): scores accuracy and style 0-10")] = None,
    judge_model: Annotated[str, typer.Option(help="the judge's model name at that endpoint")] = "judge",
    judge_key_env: Annotated[str, typer.Option(help="environment variable holding its API key")] = "OPENAI_API_KEY",
    min_accuracy: Annotated[int, typer.Option(min=0, max=10, help="drop rows the judge scores below this for accuracy")] = 7,
    min_style: Annotated[int, typer.Option(min=0, max=10, help="drop rows the judge scores below this for style")] = 5,
) -> None:
    """Quality-gate Q/A rows: heuristics, dedup, optional LLM judge, section split, decontamination."""
    from lorakit.data.gate import gate
    from lorakit.io import iter_jsonl

    try:
        judge = None
        if judge_url:
            from lorakit.config import GateJudgeConfig

            judge = GateJudgeConfig(base_url=judge_url, model=judge_model, api_key_env=judge_key_env,
                                    min_accuracy=min_accuracy, min_style=min_style)
        summary = gate([r for _, r in iter_jsonl(qa)], out, eval_share=eval_share, seed=seed, judge=judge)
    except LorakitError as e:
        _fail(e)
    typer.echo(f"kept {summary['kept']} of {summary['rows']} (train {summary['train']}, eval {summary['eval']}, "
               f"eval sections {', '.join(summary['eval_sections'])}); dropped: {summary['reasons']}")


@app.command()
def train(config: ConfigArg = None, set_: SetOpt = None,
          resume: Annotated[bool, typer.Option(help="continue from the last checkpoint")] = False) -> None:
    """Fine-tune a LoRA adapter; writes OUTPUT_DIR/adapter."""
    from lorakit.train.trainer import train as run_train

    try:
        result = run_train(_config(config, set_), resume=resume)
    except LorakitError as e:
        _fail(e)
    typer.echo(f"adapter saved to {result.adapter_dir}")


DecodingOpt = Annotated[Optional[list[str]], typer.Option(
    "--decoding", help="free or constrained (the task's JSON Schema, token by token); repeat for both")]


@app.command("eval")
def eval_(config: ConfigArg = None, set_: SetOpt = None, decoding: DecodingOpt = None,
          suite: Annotated[Optional[str], typer.Option(
              help="robustness: adversarial variants of the eval items (writes robustness.json)")] = None,
          backend: Annotated[Optional[str], typer.Option(
              help="local (in-process) or openai (any OpenAI-compatible endpoint: eval.openai.*)")] = None,
          base_url: Annotated[Optional[str], typer.Option(help="openai backend: endpoint up to /v1")] = None,
          served: Annotated[Optional[list[str]], typer.Option(
              help="openai backend: MODEL=NAME, the served name of base or tuned, e.g. --served tuned=ticket")] = None,
          ) -> None:
    """Evaluate the base and tuned models on the same items; writes results.json and a report."""
    from lorakit.eval.report import headline_table, report, robustness_table
    from lorakit.eval.runner import evaluate, evaluate_robustness

    if suite not in (None, "robustness"):
        _fail(LorakitError(f"unknown suite {suite!r}; the one suite is: robustness"))
    try:
        extra = [f"eval.decoding=[{','.join(decoding)}]"] if decoding else []
        extra += [f"eval.backend={backend}"] if backend else []
        extra += [f"eval.openai.base_url={base_url}"] if base_url else []
        extra += [f"eval.openai.models.{s}" for s in served or []]
        cfg = _config(config, (set_ or []) + extra)
        if suite == "robustness":
            results = evaluate_robustness(cfg)
            if RunDir(cfg.output_dir).results_path.is_file():
                report(cfg.output_dir)  # the report gains its robustness section
            typer.echo(robustness_table(results))
            return
        results = evaluate(cfg)
        path = report(cfg.output_dir)
    except LorakitError as e:
        _fail(e)
    typer.echo(headline_table(results))
    typer.echo(f"report: {path}")


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="a run folder holding results.json")]) -> None:
    """Rebuild the Markdown report of a run from its results.json."""
    from lorakit.eval.report import report as run_report

    try:
        path = run_report(run_dir)
    except LorakitError as e:
        _fail(e)
    typer.echo(path.read_text(encoding="utf-8"))


@app.command()
def run(config: ConfigArg = None, set_: SetOpt = None,
        resume: Annotated[bool, typer.Option(help="continue training from the last checkpoint")] = False) -> None:
    """Generate data if needed, train, evaluate base vs tuned, and report: the whole pipeline."""
    from lorakit.pipeline import run as run_pipeline

    try:
        path = run_pipeline(_config(config, set_), resume=resume)
    except LorakitError as e:
        _fail(e)
    typer.echo(path.read_text(encoding="utf-8"))
    typer.echo(f"report: {path}")


@app.command()
def export(
    run_dir: Annotated[Path, typer.Argument(help="a run folder holding a trained adapter")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="peft, merged, gguf or ollama")] = "merged",
    out: Annotated[Optional[Path], typer.Option(help="output folder (default RUN_DIR/export/FORMAT)")] = None,
    quant: Annotated[str, typer.Option(help="GGUF weights: f16 or q8_0")] = "f16",
    check: Annotated[bool, typer.Option(help="re-answer eval items with the export; fail if any answer differs")] = False,
    check_items: Annotated[int, typer.Option(help="eval items the check re-answers")] = 16,
) -> None:
    """Export the adapter: PEFT folder, merged HF model, GGUF, or GGUF + Ollama Modelfile."""
    from lorakit.export import export as run_export

    try:
        rec = run_export(run_dir, fmt, out, quant=quant, check=check, check_items=check_items)
    except LorakitError as e:
        _fail(e)
    typer.echo(f"{fmt} export -> {rec['path']}")
    if "check" in rec:
        typer.echo(f"parity check passed: {rec['check']['summary']}")


@app.command()
def predict(
    run_dir: Annotated[Path, typer.Argument(help="a trained run folder")],
    input_file: Annotated[Optional[Path], typer.Option("--input", "-i", help="input lines (default: stdin)")] = None,
    constrained: Annotated[bool, typer.Option(help="decode within the task's JSON Schema")] = False,
    batch_size: Annotated[int, typer.Option(help="lines answered together")] = 16,
) -> None:
    """Answer messages (one per line, or JSON lines with "messages"/"input") with the tuned model; JSON out."""
    from lorakit.predict import predict as run_predict

    try:
        lines = input_file.open(encoding="utf-8") if input_file else sys.stdin
        for out in run_predict(run_dir, lines, constrained=constrained, batch_size=batch_size):
            typer.echo(out)
    except (LorakitError, OSError) as e:
        _fail(LorakitError(str(e)))


@app.command()
def serve(
    runs: Annotated[Optional[list[str]], typer.Argument(help="run folders to serve, as NAME=RUN_DIR or RUN_DIR")] = None,
    adapters: Annotated[Optional[Path], typer.Option(help="a folder of adapters (or run folders), loaded by name "
                                                          "on first request")] = None,
    base_model: Annotated[Optional[str], typer.Option(help="base model (default: the runs' base)")] = None,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    max_batch: Annotated[int, typer.Option(help="requests answered by one generate call (1: no batching)")] = 16,
    batch_wait_ms: Annotated[float, typer.Option(help="how long the first request waits for company")] = 10.0,
    max_tokens: Annotated[int, typer.Option(help="largest max_tokens a request may ask for")] = 1024,
    max_body_bytes: Annotated[int, typer.Option(help="largest request body")] = 1_000_000,
    max_messages: Annotated[int, typer.Option(help="most messages per request")] = 64,
    api_key_env: Annotated[str, typer.Option(help="environment variable holding the API key (unset: no key)")]
    = "LORAKIT_API_KEY",
    precision: Annotated[str, typer.Option(help="auto, bf16 or fp32")] = "auto",
) -> None:
    """Serve base + adapters over an OpenAI-compatible API (chat completions, streaming, JSON schema)."""
    from lorakit.serve.app import Limits
    from lorakit.serve.server import serve as run_serve

    try:
        run_serve(runs or [], host=host, port=port, base_model=base_model, adapter_dir=adapters, max_batch=max_batch,
                  batch_wait_ms=batch_wait_ms, precision=precision, api_key_env=api_key_env,
                  limits=Limits(max_body_bytes=max_body_bytes, max_messages=max_messages, max_tokens=max_tokens))
    except LorakitError as e:
        _fail(e)


def _console_logging() -> None:
    """The library logs every decision the user did not make (a skipped checkpoint, a check not run) to
    ``logging.getLogger("lorakit")``; the CLI shows INFO and above on stderr."""
    import logging

    logger = logging.getLogger("lorakit")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("lorakit: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def main() -> None:
    _console_logging()
    app(prog_name="lorakit")


if __name__ == "__main__":
    sys.exit(main())
