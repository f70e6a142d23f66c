"""The ``lorakit`` command line. Heavy libraries are imported inside the verbs, so ``--help`` is instant."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from lorakit.errors import LorakitError

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
              help="robustness: adversarial variants of the eval items (writes robustness.json)")] = None) -> None:
    """Evaluate the base and tuned models on the same items; writes results.json and a report."""
    from lorakit.eval.report import headline_table, report, robustness_table
    from lorakit.eval.runner import evaluate, evaluate_robustness

    if suite not in (None, "robustness"):
        _fail(LorakitError(f"unknown suite {suite!r}; the one suite is: robustness"))
    try:
        cfg = _config(config, (set_ or []) + ([f"eval.decoding=[{','.join(decoding)}]"] if decoding else []))
        if suite == "robustness":
            results = evaluate_robustness(cfg)
            if (cfg.output_dir / "results.json").is_file():
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


def main() -> None:
    app(prog_name="lorakit")


if __name__ == "__main__":
    sys.exit(main())
