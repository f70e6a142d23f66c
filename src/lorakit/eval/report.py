"""``lorakit report``: a Markdown report built only from ``results.json`` (re-running reproduces it)."""

from __future__ import annotations

from pathlib import Path

from lorakit.errors import EvalError
from lorakit.io import atomic_write_text, read_json

LABELS = {"valid_json": "valid JSON", "schema_valid": "schema compliance", "key_order": "key order",
          "exact_match": "exact match (all fields)"}


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def metric_names(overall: dict) -> list[str]:
    return [k for k in overall if k != "n"]


def label(metric: str) -> str:
    return LABELS.get(metric, metric.replace("field:", "") + " accuracy")


def headline_table(results: dict) -> str:
    models = list(results["models"])
    first = results["models"][models[0]]["overall"]
    head = "| metric | " + " | ".join(models) + (" | Δ (tuned - base) |" if {"base", "tuned"} <= set(models) else " |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for m in metric_names(first):
        vals = [results["models"][k]["overall"].get(m) for k in models]
        row = f"| {label(m)} | " + " | ".join(_pct(v) for v in vals) + " |"
        if {"base", "tuned"} <= set(models):
            d = results["models"]["tuned"]["overall"][m] - results["models"]["base"]["overall"][m]
            row += f" {100 * d:+.1f} |"
        rows.append(row)
    return "\n".join(rows)


def category_table(results: dict, metric: str) -> str:
    models = list(results["models"])
    cats = list(results["models"][models[0]]["by_category"])
    head = "| category | n | " + " | ".join(f"{k} {label(metric)}" for k in models) + " |"
    rows = [head, "|" + "---|" * (len(models) + 2)]
    for c in cats:
        n = results["models"][models[0]]["by_category"][c]["n"]
        vals = [results["models"][k]["by_category"][c].get(metric) for k in models]
        rows.append(f"| {c} | {n} | " + " | ".join(_pct(v) for v in vals) + " |")
    return "\n".join(rows)


def render_markdown(results: dict) -> str:
    parts = [f"# lorakit report: {results['task']}", "",
             f"{results['n_items']} items from `{results['eval_file']}`; every metric is over all items "
             "(an answer that is not JSON is wrong on every field).", "", headline_table(results), ""]
    timing = ", ".join(f"{k}: {v['seconds']} s" for k, v in results["models"].items())
    parts += [f"Generation time: {timing}.", ""]
    tr = results.get("training")
    if tr:
        parts += [f"Training: {tr['examples']} examples, {tr['steps']} steps, {tr['tokens']} tokens in "
                  f"{tr['seconds']} s ({tr['tokens_per_second']} tok/s, {tr['precision']} on {tr['device']}, "
                  f"{tr['threads']} threads), final loss {tr['final_loss']}.", ""]
    firsts = [m for m in metric_names(next(iter(results["models"].values()))["overall"]) if m.startswith("field:")]
    for metric in ["exact_match"] + firsts[:1]:
        parts += [f"## By category: {label(metric)}", "", category_table(results, metric), ""]
    for name, fl in results.get("flips", {}).items():
        parts += [f"## Flips on {label(name)}", "",
                  f"- fixed by tuning (base wrong, tuned right): {len(fl['fixed'])}",
                  f"- broken by tuning (base right, tuned wrong): {len(fl['broken'])}"]
        if fl["broken"]:
            parts.append(f"- broken items: {', '.join(fl['broken'][:30])}")
        parts.append("")
    parts.append("Item-level predictions: `eval/<model>/predictions.jsonl` beside this report.")
    return "\n".join(parts) + "\n"


def report(run_dir: str | Path) -> Path:
    """Write ``report.md`` from ``run_dir/results.json``; returns its path."""
    run_dir = Path(run_dir)
    if not (run_dir / "results.json").is_file():
        raise EvalError(f"{run_dir}/results.json not found; run `lorakit eval` on this run first")
    out = run_dir / "report.md"
    atomic_write_text(out, render_markdown(read_json(run_dir / "results.json")))
    return out
