"""``lorakit compare``: is one recipe better than another beyond the noise of a training seed?

An arm is one or more evaluated runs of one recipe (usually ``train.seed`` 0, 1, 2, ...), all scored on the same
eval file. On a small model one run's metric moves by several points with the seed alone (two seeds of the FHS
recipe: 29 of 90 predictions changed, answer F1 55.0 against 52.1%), so one run per arm says little, and a
difference smaller than that spread says nothing. Per metric this module reports:

- each arm's value: the mean over its runs of each run's own ``overall`` value, and every run's value beside it;
- the difference with a 95% interval resampled at two levels (each arm's runs, then the items:
  :func:`~lorakit.eval.stats.runs_bootstrap_diff`), so the seed's noise is inside the interval;
- the items where the candidate scores higher / lower (which way is better is the metric's: over-refusal should
  fall), each item's score averaged over its arm's runs, and the paired permutation test over those items
  (:func:`~lorakit.eval.stats.permutation_test`).

The folders are read as they are: results.json and ``eval/<model>/predictions.jsonl`` of a run or an eval
output folder. Nothing is written.
"""

from __future__ import annotations

import glob
import logging
from dataclasses import dataclass, field
from pathlib import Path

from lorakit.errors import EvalError
from lorakit.io import iter_jsonl
from lorakit.rundir import RunDir

logger = logging.getLogger(__name__)

FEW_RUNS = 3  # below this many runs per arm the interval's seed level rests on too few draws (said)


@dataclass
class Arm:
    """The runs of one recipe: their folders, results and per-item scores (item id -> metric -> value)."""

    name: str
    dirs: list[Path]
    results: list[dict] = field(default_factory=list)
    scores: list[dict[str, dict]] = field(default_factory=list)


def expand(spec: str) -> list[Path]:
    """The folders a comma-separated ``spec`` names, each entry a folder or a glob (``runs/fhs_s*``), in order."""
    out: list[Path] = []
    for entry in (e.strip() for e in spec.split(",")):
        if not entry:
            continue
        hits = sorted(glob.glob(entry)) if glob.has_magic(entry) else [entry]
        if not hits:
            raise EvalError(f"{entry!r} matches no folder; name run or eval folders that hold results.json")
        out += [Path(h) for h in hits]
    if not out:
        raise EvalError(f"{spec!r} names no folder; give one or more run folders, comma-separated")
    return out


def _model(results: dict, wanted: str | None, where: Path) -> str:
    models = list(results["models"])
    if wanted is None:
        wanted = "tuned" if "tuned" in models else models[-1]
    if wanted not in models:
        raise EvalError(f"{where} has no arm {wanted!r} (it has {', '.join(models)}); pick one with --model")
    return wanted


def load_arm(name: str, dirs: list[Path], model: str | None = None) -> tuple[Arm, str]:
    """Every run of ``dirs``: results.json and the chosen model's per-item scores (``model``: tuned if there)."""
    arm = Arm(name, dirs)
    chosen = None
    for d in dirs:
        run = RunDir(d)
        try:
            results = run.results().model_dump()
        except FileNotFoundError:
            raise EvalError(f"{d} holds no results.json; evaluate it first (`lorakit eval` or `lorakit run`)") from None
        chosen = _model(results, model, d)
        path = run.predictions(chosen)
        if not path.is_file():
            raise EvalError(f"{path} is missing: per-item scores are what a comparison needs; re-run `lorakit eval`")
        rows = [row for _, row in iter_jsonl(path)]
        scores = {row["id"]: row["scores"] for row in rows}
        if len(scores) < len(rows):
            raise EvalError(f"{path} names some items twice (by the eval file's `id` column); give every row of "
                            "the eval file its own id, then evaluate again")
        arm.results.append(results)
        arm.scores.append(scores)
    return arm, chosen


def _source(results: dict) -> tuple[str, str | None]:
    """The file a run was scored on and its hash: the user's own file where `lorakit eval --data` or data.eval_file
    named one (``eval_source``; the run keeps a converted copy, whose bytes differ), else the eval file itself."""
    src = results.get("eval_source") or {}
    if src.get("sha256"):
        return src.get("file", results["eval_file"]), src["sha256"]
    return results["eval_file"], results.get("eval_sha256")


def _same_items(a: Arm, b: Arm) -> list[str]:
    """The item ids every run scored, after checking that every run scored the same eval file."""
    runs = [(d, r, s) for arm in (a, b) for d, r, s in zip(arm.dirs, arm.results, arm.scores)]
    seen = [d.resolve() for d, _, _ in runs]
    twice = sorted({str(d) for d in seen if seen.count(d) > 1})
    if twice:
        raise EvalError(f"{', '.join(twice)} named more than once: each run counts once, in one arm")
    first_dir, first, first_scores = runs[0]
    for d, r, s in runs[1:]:
        if _source(r)[1] and _source(first)[1] and _source(r)[1] != _source(first)[1]:
            raise EvalError(f"{d} and {first_dir} were scored on different eval files ({_source(r)[0]} against "
                            f"{_source(first)[0]}); compare runs evaluated on the same file")
        if set(s) != set(first_scores):
            raise EvalError(f"{d} and {first_dir} scored different items ({len(s)} against {len(first_scores)}); "
                            "compare runs evaluated on the same file with the same eval.limit")
    if any(not _source(r)[1] for _, r, _ in runs):
        logger.warning("some results.json hold no eval_sha256 (older lorakit): only the item ids were checked "
                       "to be the same")
    return list(first_scores)


def _metrics(a: Arm, wanted: list[str] | None, items: list[str]) -> list[str]:
    """``wanted``, else the metrics the report shows by category (the scorer's focus; else exact match and the first
    field): each must have per-item values."""
    from lorakit.eval.report import focus_metrics

    metrics = wanted or list(focus_metrics(a.results[0]))
    some = a.scores[0][items[0]] if items else {}
    missing = [m for m in metrics if m not in some]
    if missing:
        raise EvalError(f"no per-item values of {', '.join(missing)} in {a.dirs[0]}; its items have "
                        f"{', '.join(sorted(some))}")
    return metrics


def _mean(values: list) -> float | None:
    kept = [float(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def compare(a: Arm, b: Arm, metrics: list[str] | None = None, *, n_boot: int = 2000) -> dict:
    """Per metric: both arms' values (mean over runs, and each run's), the difference's two-level interval,
    items higher / lower on the run-averaged scores and the permutation test's p (see the module's docstring)."""
    from lorakit.eval.stats import permutation_test, runs_bootstrap_diff

    items = _same_items(a, b)
    out = {"a": {"name": a.name, "runs": [str(d) for d in a.dirs]},
           "b": {"name": b.name, "runs": [str(d) for d in b.dirs]}, "n_items": len(items), "metrics": {}}
    for m in _metrics(a, metrics, items):
        a_runs = [[s[i].get(m) for i in items] for s in a.scores]
        b_runs = [[s[i].get(m) for i in items] for s in b.scores]
        a_vals, b_vals = [_mean(r) for r in a_runs], [_mean(r) for r in b_runs]
        a_value, b_value = _mean(a_vals), _mean(b_vals)
        per_item_a = [_mean([r[k] for r in a_runs]) for k in range(len(items))]
        per_item_b = [_mean([r[k] for r in b_runs]) for k in range(len(items))]
        test = permutation_test(per_item_a, per_item_b)
        out["metrics"][m] = {
            "a": a_value, "b": b_value, "a_runs": a_vals, "b_runs": b_vals,
            "diff": None if a_value is None or b_value is None else b_value - a_value,
            "interval": runs_bootstrap_diff(a_runs, b_runs, n_boot=n_boot),
            "n_applicable": sum(x is not None and y is not None for x, y in zip(per_item_a, per_item_b)),
            "b_higher": test["b_only"], "b_lower": test["a_only"], "p_value": test["p_value"]}
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _runs(arm: dict) -> str:
    return f"{len(arm['runs'])} run" + ("s" if len(arm["runs"]) != 1 else "")


def render(result: dict, labels: dict[str, str] | None = None) -> str:
    """The comparison as Markdown: one row per metric (points, %), then the runs of each arm."""
    from lorakit.eval.report import label

    a, b = result["a"], result["b"]
    lines = [f"{b['name']} ({_runs(b)}) against {a['name']} ({_runs(a)}), "
             f"{result['n_items']} items; values in %, the difference in points, its 95% interval resampled over "
             "runs and items:", "",
             f"| metric | {a['name']} | {b['name']} | difference | 95% interval | items higher / lower | p | "
             f"{a['name']}: each run | {b['name']}: each run |", "|---|---|---|---|---|---|---|---|---|"]
    for m, r in result["metrics"].items():
        lo, hi = r["interval"]
        diff = "-" if r["diff"] is None else f"{100 * r['diff']:+.1f}"
        lines.append(f"| {label(m, labels)} | {_pct(r['a'])} | {_pct(r['b'])} | {diff} | [{100 * lo:+.1f}, "
                     f"{100 * hi:+.1f}] | {r['b_higher']} / {r['b_lower']} | {r['p_value']:.3g} | "
                     f"{' / '.join(_pct(v) for v in r['a_runs'])} | {' / '.join(_pct(v) for v in r['b_runs'])} |")
    lines += ["", f"{a['name']}: {', '.join(a['runs'])}", f"{b['name']}: {', '.join(b['runs'])}"]
    return "\n".join(lines)


def compare_runs(baseline: str, candidate: str, *, model: str | None = None,
                 metrics: list[str] | None = None) -> str:
    """``lorakit compare``: load both arms (comma-separated folders or globs), compare, render."""
    a, model_a = load_arm("baseline", expand(baseline), model)
    b, model_b = load_arm("candidate", expand(candidate), model)
    if model_a != model_b:
        logger.info("comparing the baseline's %r arm with the candidate's %r arm", model_a, model_b)
    few = min(len(a.dirs), len(b.dirs))
    if few < FEW_RUNS:
        logger.warning("%d run(s) in the smaller arm: the interval holds too little of the training seed's noise "
                       "(none with one run); train %d or more seeds per arm (train.seed) before calling a difference "
                       "real", few, FEW_RUNS)
    result = compare(a, b, metrics)
    return render(result, a.results[0].get("labels"))
