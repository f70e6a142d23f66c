"""Policy QA on real documents, scored on hand-written questions, with the excerpt given and retrieved.

    .venv/bin/python benchmarks/policy_qa_real.py [--k 3] [--skip-handbook] [--set KEY=VALUE ...] [--tag NAME]
        [--seeds 0 1 2] [--against OTHER_TAG [--compare-only]] [--runs runs]

1. ``lorakit run examples/fhs-qa.yaml``: the Filesystem Hierarchy Standard 3.0 (a 50-page PDF Debian ships,
   lorakit did not write it), trained on questions synthesized from it, scored on the 90 hand-written
   questions of ``examples/data/fhs_questions.jsonl`` with the excerpt each was written with (``given``);
2. the same adapter on the same questions with the excerpts retrieved by BM25 (``eval.context: retrieved``,
   top ``--k``), recall@k beside the answer metrics; wrong-excerpt items are left out there (said);
3. the shipped handbook run (``examples/policy-qa.yaml``) on its 47 hand-written questions
   (``examples/data/policy_natural_questions.jsonl``), given and retrieved.

``--set`` overrides both runs' configs (an arm: ``--set data.options.retrieval_share=0.5 --tag retrieval``,
its control ``--set data.options.retrieval_share=0.5 --set data.options.retrieval_negatives=random --tag random``);
``--tag`` keeps each arm's runs apart (``runs/fhs_qa_<tag>``). Prints one Markdown table (base and tuned per arm),
the synthesis counts of each document (questions made, duplicates and other drops, answerable share) and the wall
time of each step, measured in this run.

``--seeds 0 1 2`` trains each document once per ``train.seed`` (``runs/fhs_qa_<tag>_s<seed>``): on these 47-90
questions two seeds of one recipe differ by 3-9 points of answer F1, so an arm is several runs. ``--against TAG``
then compares this arm with the runs of arm ``TAG`` of the same seeds (trained before, by this script with
``--tag TAG``; from another checkout too, with the same ``--runs`` folder), per document and excerpt, as
``lorakit compare`` does: the difference with an interval resampled over runs and items.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

METRICS = ["answer_f1", "answer_em", "over_refusal", "refusal_recall", "hallucination", "refusal_precision"]


def _eval(config: str, out: Path, sets: list[str]) -> tuple[dict, float]:
    from lorakit.config import load_config
    from lorakit.eval.runner import evaluate

    t0 = time.perf_counter()
    evaluate(load_config(config, sets + [f"output_dir={out}"]))
    return json.loads((out / "results.json").read_text()), time.perf_counter() - t0


def tuned_on_questions(config: str, run_dir: Path, questions: str, context: str, k: int,
                       sets: list[str] = ()) -> tuple[str, dict]:
    """A run's tuned adapter on hand-written ``questions`` with the excerpt ``given`` or ``retrieved`` (top ``k``),
    evaluated into ``run_dir/evals/questions_<context>``: the Markdown cells (items, METRICS, recall@k) and the
    results. ``sets``: the run's own config overrides (its model, say)."""
    extra = [*sets, f"data.eval_file={questions}", f"eval.run_dir={run_dir}", f"eval.context={context}",
             f"eval.retrieve_k={k}", "eval.kl_items=0", "eval.general_prompts=0", "eval.models=[tuned]"]
    res, _ = _eval(config, run_dir / "evals" / f"questions_{context}", extra)
    o = res["models"]["tuned"]["overall"]
    recall = (res.get("retrieval") or {}).get("recall_at_k")
    cells = [str(res["n_items"])] + ["-" if o.get(m) is None else f"{100 * o[m]:.1f}%" for m in METRICS]
    return " | ".join(cells + ["-" if recall is None else f"{100 * recall:.1f}%"]), res


def _rows(doc: str, context: str, res: dict, wall: float) -> list[str]:
    r = res.get("retrieval") or {}
    recall = "-" if r.get("recall_at_k") is None else f"{100 * r['recall_at_k']:.1f}%"
    out = []
    for arm in ("base", "tuned"):
        o = res["models"][arm]["overall"]
        cells = ["-" if o.get(m) is None else f"{100 * o[m]:.1f}%" for m in METRICS]
        out.append(f"| {doc} | {context} | {res['n_items']} | {arm} | " + " | ".join(cells) + f" | {recall} | "
                   f"{wall / 60:.1f} min |")
    return out


def _synthesis(run_dir: Path) -> str:
    rec = json.loads((run_dir / "data" / "policy_record.json").read_text())
    rows = [json.loads(line) for line in (run_dir / "data" / "qa.jsonl").read_text().splitlines() if line.strip()]
    g = rec["gate"]
    kept_answerable = sum(1 for line in (run_dir / "data" / "gated" / "kept.jsonl").read_text().splitlines()
                          if line.strip() and json.loads(line).get("answerable"))
    return (f"{rec['chunks']} chunks, {rec['questions']} questions synthesized ({sum(r['answerable'] for r in rows)} "
            f"answerable); gate kept {g['kept']} ({kept_answerable} answerable, "
            f"{100 * kept_answerable / max(g['kept'], 1):.0f}%), dropped {g['reasons']}")


def _folder(runs: Path, name: str, tag: str, seed: int | None) -> Path:
    return runs / (f"{name}{tag}" + ("" if seed is None else f"_s{seed}"))


def _against(runs: Path, docs: list, tag: str, other: str, seeds: list[int | None]) -> list[str]:
    """This arm (``tag``) against arm ``other`` over the same seeds, per document and excerpt."""
    from lorakit.eval.compare import compare, load_arm, render

    out = []
    for doc, _, name, _ in docs:
        for context in ("given", "retrieved"):
            sub = Path("evals") / f"questions_{context}"
            a, _ = load_arm(other.lstrip("_") or "(no tag)", [_folder(runs, name, other, s) / sub for s in seeds])
            b, _ = load_arm(tag.lstrip("_") or "(no tag)", [_folder(runs, name, tag, s) / sub for s in seeds])
            out += ["", f"### {doc}, excerpt {context}", "", render(compare(a, b), b.results[0].get("labels"))]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--seeds", type=int, nargs="+", default=None,
                    help="one run per train.seed per document (folders <name>_s<seed>)")
    ap.add_argument("--against", default=None, metavar="TAG",
                    help="compare with the runs of arm TAG (its --tag; '' for none) of the same seeds")
    ap.add_argument("--runs", type=Path, default=Path("runs"), help="the folder of the run folders")
    ap.add_argument("--compare-only", action="store_true", help="train and evaluate nothing: only --against")
    ap.add_argument("--skip-handbook", action="store_true")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="a config override for both documents' runs (repeatable)")
    ap.add_argument("--tag", default="", help="suffix of the run folders, one per arm")
    args = ap.parse_args()
    tag = f"_{args.tag}" if args.tag else ""
    seeds = args.seeds or [None]

    from lorakit.config import load_config
    from lorakit.pipeline import run

    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    lines = [f"machine: {machine}; retrieval: BM25 top {args.k}"]
    if not args.compare_only:
        lines += ["", "| document | excerpt | items | arm | " + " | ".join(METRICS) + f" | recall@{args.k} | wall |",
                  "|" + "---|" * (len(METRICS) + 6)]
    notes = []
    # the FHS run's eval split is the hand-written questions; the handbook's are a file of their own
    docs = [("FHS 3.0 (90 hand-written)", "examples/fhs-qa.yaml", "fhs_qa", None)]
    if not args.skip_handbook:
        docs.append(("handbook (47 hand-written)", "examples/policy-qa.yaml", "policy_qa",
                     "examples/data/policy_natural_questions.jsonl"))
    for doc, config, name, questions in [] if args.compare_only else docs:
        for seed in seeds:
            run_dir = _folder(args.runs, name, tag, seed)
            seed_set = [] if seed is None else [f"train.seed={seed}"]
            label = doc if seed is None else f"{doc}, seed {seed}"
            t0 = time.perf_counter()
            # a current adapter is reused
            run(load_config(config, [*args.sets, *seed_set, f"output_dir={run_dir}", "eval.general_prompts=0"]))
            notes.append(f"- {label}: `lorakit run` (PDF to report) {(time.perf_counter() - t0) / 60:.1f} min; "
                         + _synthesis(run_dir))
            for context in ("given", "retrieved"):
                sets = [*args.sets, *seed_set, f"data.eval_file={questions or run_dir / 'data' / 'eval.jsonl'}",
                        f"eval.run_dir={run_dir}", f"eval.context={context}", f"eval.retrieve_k={args.k}",
                        "eval.kl_items=0", "eval.general_prompts=0"]
                res, wall = _eval(config, run_dir / "evals" / f"questions_{context}", sets)
                lines += _rows(label, context, res, wall)
    if args.against is not None:
        lines += _against(args.runs, docs, tag, f"_{args.against}" if args.against else "", seeds)
    print("\n".join(lines + [""] + notes))


if __name__ == "__main__":
    main()
