"""``lorakit report``: ``report.md`` and a self-contained ``report.html``, built only from ``results.json``
(and ``robustness.json`` when the robustness suite ran).

Re-running ``report`` reproduces both files. The HTML embeds its plots (matplotlib, PNG as
base64) so it opens offline and can be mailed as one file.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from lorakit.errors import EvalError
from lorakit.eval.general import general_lines
from lorakit.io import atomic_write_text
from lorakit.rundir import RunDir

# names of the metrics lorakit itself adds; a task's scorer names its own (``results["labels"]``)
LABELS = {"judge_score": "LLM judge score (0-10, as %)", "exact_match": "exact match"}


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _ci(arm: dict, metric: str) -> str:
    lo, hi = arm.get("intervals", {}).get(metric, (None, None))
    return "" if lo is None else f" ({100 * lo:.1f}-{100 * hi:.1f})"


def metric_names(overall: dict) -> list[str]:
    return [k for k in overall if k != "n"]


def label(metric: str, labels: dict[str, str] | None = None) -> str:
    """The report's name for ``metric``: the task scorer's own label (``results["labels"]``) first."""
    if labels and metric in labels:
        return labels[metric]
    return LABELS.get(metric, metric.replace("field:", "") + " accuracy")


def _intro(results: dict) -> str:
    scope = f" {results['scope']}" if results.get("scope") else ""  # the task scorer's own words
    return (f"{results['n_items']} items from `{results['eval_file']}`{_source(results.get('eval_source'))}; every "
            f"metric is over all items{scope}. In brackets: 95% bootstrap interval.")


def _source(src: dict | None) -> str:
    """Where the items came from: the user's eval file (rows read, bad rows, duplicates kept), or a split."""
    if not src:
        return ""
    if "split_from" in src:
        return f" (split off `{src['split_from']}`)"
    parts = [f"{src['rows_read']} rows read from `{src['file']}`"]
    if src.get("bad_rows"):
        parts.append(f"{src['bad_rows']} bad rows skipped (data.skip_bad)")
    if src.get("duplicates"):
        parts.append(f"{src['duplicates']} duplicate rows kept and scored as given")
    return f" ({', '.join(parts)})"


def focus_metrics(results: dict) -> list[str]:
    """The metrics shown by category: the scorer's choice, else exact match and the first field."""
    if results.get("focus"):
        return results["focus"]
    first = _first_field(results)
    return ["exact_match"] + ([first] if first else [])


def _comparison(results: dict, a: str, b: str) -> dict | None:
    return next((c for c in results.get("comparisons", []) if c["a"] == a and c["b"] == b), None)


def _first_field(results: dict) -> str | None:
    overall = next(iter(results["models"].values()))["overall"]
    return next((m for m in metric_names(overall) if m.startswith("field:")), None)


def headline_rows(results: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the headline table: every arm with its 95% interval, then tuned - base."""
    arms = list(results["models"])
    delta = _comparison(results, "base", "tuned")
    head = ["metric"] + arms + (["Δ tuned - base (paired test p)"] if delta else [])
    rows = []
    for m in metric_names(results["models"][arms[0]]["overall"]):
        row = [label(m, results.get("labels"))]
        row += [_pct(results["models"][k]["overall"].get(m)) + _ci(results["models"][k], m) for k in arms]
        if delta:
            d = delta["metrics"][m]
            row.append(f"{100 * d['delta']:+.1f} (p={d['p_value']:.2g}{'' if d['significant'] else ', within noise'})")
        rows.append(row)
    return head, rows


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def headline_table(results: dict) -> str:
    return _md_table(*headline_rows(results))


def category_rows(results: dict, metric: str) -> tuple[list[str], list[list[str]]]:
    arms = list(results["models"])
    cats = list(results["models"][arms[0]]["by_category"])
    head = ["category", "n"] + arms
    rows = [[c, str(results["models"][arms[0]]["by_category"][c]["n"])]
            + [_pct(results["models"][k]["by_category"][c].get(metric)) for k in arms] for c in cats]
    return head, rows


def category_table(results: dict, metric: str) -> str:
    return _md_table(*category_rows(results, metric))


def comparison_lines(results: dict) -> list[str]:
    out, labels = [], results.get("labels")
    for c in results.get("comparisons", []):
        sig = [label(m, labels) for m, d in c["metrics"].items() if d["significant"]]
        noise = [label(m, labels) for m, d in c["metrics"].items() if not d["significant"]]
        out.append(f"- **{c['b']} vs {c['a']}**: significant (paired test p < 0.05: McNemar, or permutation for "
                   f"F1-type scores and refusal-precision-type ratios) on {', '.join(sig) or 'nothing'}; "
                   f"within noise on {', '.join(noise) or 'nothing'}.")
        for m, fl in c["flips"].items():
            out.append(f"  - {label(m, labels)}: fixed {len(fl['fixed'])}, broken {len(fl['broken'])}"
                       + (f" (broken: {', '.join(fl['broken'][:20])})" if fl["broken"] else ""))
    return out


def field_rows(results: dict) -> tuple[list[str], list[list[str]]]:
    """Per field and arm, the diagnostics its schema type calls for (see metrics.field_details)."""
    head = ["field", "arm", "kind", "accuracy", "normalised match", "invented (null expected)",
            "missed (value expected)", "set F1"]
    rows = []
    arms = list(results["models"])
    for name, d0 in results["models"][arms[0]].get("fields", {}).items():
        if d0["kind"] in ("labels", "refusals"):
            continue
        for arm in arms:
            d = results["models"][arm]["fields"][name]
            acc = results["models"][arm]["overall"].get(f"field:{name}")
            rows.append([name, arm, d["kind"] + (", nullable" if d["nullable"] else ""), _pct(acc),
                         _pct(d.get("normalised")), _pct(d.get("invented")), _pct(d.get("missed")), _pct(d.get("f1"))])
    return head, rows


def label_set_rows(results: dict) -> tuple[list[str], list[list[str]]]:
    """Per detected label set (classification items) and arm: accuracy and macro-F1."""
    head = ["label set", "arm", "items", "labels", "accuracy", "macro-F1"]
    rows = []
    for arm, res in results["models"].items():
        for name, d in res.get("fields", {}).items():
            if d["kind"] == "labels":
                rows.append([name.removeprefix("labels:"), arm, str(d["n"]), str(d["n_labels"]), _pct(d["accuracy"]),
                             _pct(d["macro_f1"])])
    return head, rows


def top_confusions(confusion: dict, k: int = 10) -> list[str]:
    pairs = [(n, e, g) for e, row in confusion.items() for g, n in row.items() if g != e]
    return [f"{e} -> {g}: {n}" for n, e, g in sorted(pairs, key=lambda t: (-t[0], t[1], t[2]))[:k]]


def _label_sets(results: dict) -> dict[str, dict[str, dict]]:
    """``{arm: {label set: details}}`` of the text task's classification items."""
    return {arm: {n: d for n, d in res.get("fields", {}).items() if d["kind"] == "labels"}
            for arm, res in results["models"].items()}


def training_line(tr: dict) -> str:
    """How the adapter was trained, in one line (DPO: from where, and its reward margin at the end)."""
    method = (tr.get("method") or "sft").upper() + (", classification head" if tr.get("head") == "classification"
                                                     else "")
    start = f" from {tr['init_from']}" if tr.get("init_from") else ""
    rows = "preference pairs" if method == "DPO" else "examples"
    line = (f"Training ({method}{start}): {tr['examples']} {rows}, {tr['steps']} steps, {tr['tokens']} tokens in "
            f"{tr['seconds']} s ({tr['tokens_per_second']} tok/s, {tr['precision']} on {tr['device']}, "
            f"{tr['threads']} threads), final loss {tr['final_loss']}.")
    if tr.get("reward_curve"):
        _, margin, accuracy = tr["reward_curve"][-1]
        line += f" Last logged step: reward margin {margin:.3f}, chosen preferred on {100 * accuracy:.0f}% of pairs."
    if tr.get("sample_reward_curve"):
        (s0, r0, _), (s1, r1, share) = tr["sample_reward_curve"][0], tr["sample_reward_curve"][-1]
        trained = "" if share is None else (f" ({100 * share:.0f}% of the last step's answers came from groups whose "
                                            "rewards differed: the rest carry no gradient)")
        line += f" Mean reward of the sampled answers: {r0:.3f} at step {s0}, {r1:.3f} at step {s1}{trained}."
    if tr.get("kl_curve"):
        step, kl = tr["kl_curve"][-1]
        line += f" KL to the starting model at step {step}: {kl:.4g} per answer token."
    return line


def retrieval_line(r: dict) -> str:
    recall = "-" if r.get("recall_at_k") is None else f"{100 * r['recall_at_k']:.1f}%"
    left = "".join(f"; {n} {cat} item(s) left out (their answer depends on the excerpt they were shown with)"
                   for cat, n in r.get("skipped", {}).items())
    return (f"Excerpts retrieved at question time (`eval.context: retrieved`): BM25 over the run's {r['chunks']} "
            f"chunks, top {r['k']} per question; recall@{r['k']} (the item's own excerpt among them) {recall} over "
            f"{r['n_with_excerpt']} items{left}.")


def divergence_line(d: dict) -> str:
    return (f"Behavioural divergence: KL(tuned || base) of the next-token distributions over the expected answers of "
            f"{d['items']} items ({d['positions']} positions): mean {d['kl_mean']:.3f} nats per token, "
            f"{d['kl_first_token']:.3f} at the first answer token.")


def confusion_rows(confusion: dict) -> tuple[list[str], list[list[str]]]:
    """Rows = expected value, columns = answered value (``(invalid)`` when no parseable answer)."""
    expected = sorted(confusion)
    got = sorted({g for row in confusion.values() for g in row}, key=lambda g: (g == '"(invalid)"', g))
    head = ["expected \\ got"] + [g.strip('"') for g in got]
    rows = [[e.strip('"')] + [str(confusion[e].get(g, 0)) for g in got] for e in expected]
    return head, rows


def force_closed_line(results: dict) -> str:
    """Which constrained arms had answers closed by the decoder (the token budget, not the model, ended them)."""
    arms = {k: v["force_closed"] for k, v in results["models"].items() if "force_closed" in v}
    if not arms:
        return ""
    counts = ", ".join(f"{k}: {n} of {results['n_items']}" for k, n in arms.items())
    return (f"Answers the constrained decoder closed itself because max_new_tokens was running out: {counts} "
            "(valid by construction, but shaped by the budget rather than by the model).")


def cut_line(results: dict) -> str:
    """Which constrained arms of an endpoint (openai backend) had answers stopped by max_new_tokens, unclosed."""
    arms = {k: v["cut_at_budget"] for k, v in results["models"].items()
            if v.get("cut_at_budget") and v.get("decoding") == "constrained"}
    if not arms:
        return ""
    counts = ", ".join(f"{k}: {n} of {results['n_items']}" for k, n in arms.items())
    return (f"Constrained answers the endpoint cut at max_new_tokens (its grammar does not keep an answer closable "
            f"within the budget, so they are scored as the unfinished JSON they are): {counts}.")


def render_markdown(results: dict, rob: dict | None = None) -> str:
    parts = [f"# lorakit report: {results['task']}", "", _intro(results), "", headline_table(results), ""]
    timing = ", ".join(f"{k}: {v['seconds']} s" for k, v in results["models"].items())
    parts += [f"Generation time: {timing}.", ""]
    for line in (force_closed_line(results), cut_line(results)):
        if line:
            parts += [line, ""]
    tr = results.get("training")
    if tr:
        parts += [training_line(tr), ""]
    if results.get("retrieval"):
        parts += [retrieval_line(results["retrieval"]), ""]
    first = _first_field(results)
    for metric in focus_metrics(results):
        parts += [f"## By category: {label(metric, results.get('labels'))}", "",
                  category_table(results, metric), ""]
    if results.get("comparisons"):
        parts += ["## Paired comparisons", ""] + comparison_lines(results) + [""]
    if results.get("divergence"):
        parts += [divergence_line(results["divergence"]), ""]
    if results.get("general"):
        parts += ["## What tuning cost: general prompts", "", *general_lines(results["general"]), ""]
    if field_rows(results)[1]:
        parts += ["## Field details", "", _md_table(*field_rows(results)), ""]
    if label_set_rows(results)[1]:
        parts += ["## Classification items (detected label sets)", "", _md_table(*label_set_rows(results)), ""]
        for arm, sets in _label_sets(results).items():
            for name, d in sets.items():
                if d["n_labels"] <= 12:
                    parts += [f"### {name} confusion: {arm}", "", _md_table(*confusion_rows(d["confusion"])), ""]
                else:
                    parts += [f"### {name}, most frequent confusions: {arm}", ""]
                    parts += [f"- {c}" for c in top_confusions(d["confusion"])] + [""]
    if first:
        name = first.removeprefix("field:")
        for arm, res in results["models"].items():
            conf = res.get("fields", {}).get(name, {}).get("confusion")
            if conf:
                parts += [f"## {name} confusion: {arm}", "", _md_table(*confusion_rows(conf)), ""]
    if rob:
        parts += ["## Robustness suite", "",
                  f"{rob['n_clean']} items x {len(rob['models'][next(iter(rob['models']))]['by_category']) - 1} "
                  f"variants ({rob['n_variants']} attacked messages). 'changed': of the items a model answered exactly "
                  "right when clean, the share whose answer the attack changed ('none' = the clean items).", "",
                  robustness_table(rob), ""]
    parts.append("Item-level predictions: `eval/<model>/predictions.jsonl` beside this report.")
    return "\n".join(parts) + "\n"


def robustness_rows(rob: dict) -> tuple[list[str], list[list[str]]]:
    """Per attack: each arm's attack success rate (clean-correct answers the attack changed) and exact match."""
    arms = list(rob["models"])
    attacks = list(next(iter(rob["models"].values()))["by_category"])
    head = ["attack"] + [f"{a} changed" for a in arms] + [f"{a} exact match" for a in arms]
    rows = []
    for attack in attacks:
        row = [attack]
        for a in arms:
            d = rob["models"][a]["attack_success"].get(attack)
            row.append(f"{_pct(d['rate'])} of {d['n']}" if d else "-")
        row += [_pct(rob["models"][a]["by_category"][attack].get("exact_match")) for a in arms]
        rows.append(row)
    rows.append(["all attacks"] + [_pct(rob["models"][a]["attack_success_overall"]) for a in arms] + [""] * len(arms))
    return head, rows


def robustness_table(rob: dict) -> str:
    return _md_table(*robustness_rows(rob))


def _robustness(run: RunDir) -> dict | None:
    rob = run.robustness()
    return rob.model_dump() if rob is not None else None


# --- HTML ---------------------------------------------------------------------------------------

def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display here, and a report must not need one
    import matplotlib.pyplot as plt

    return plt


def heatmap_png(results: dict, metric: str) -> str:
    plt = _pyplot()
    arms = list(results["models"])
    cats = list(results["models"][arms[0]]["by_category"])
    grid = [[results["models"][a]["by_category"][c].get(metric) or 0.0 for a in arms] for c in cats]
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(arms), 0.9 + 0.35 * len(cats)))
    ax.imshow(grid, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(arms)), arms, rotation=20, ha="right")
    ax.set_yticks(range(len(cats)), cats)
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            ax.text(j, i, f"{100 * v:.0f}", ha="center", va="center", fontsize=8)
    ax.set_title(f"{label(metric, results.get('labels'))} by category (%)")
    return _png(fig)


def confusion_png(confusion: dict, title: str) -> str:
    plt = _pyplot()
    head, rows = confusion_rows(confusion)
    grid = [[int(x) for x in r[1:]] for r in rows]
    fig, ax = plt.subplots(figsize=(1.5 + 0.8 * len(head), 1.2 + 0.45 * len(rows)))
    ax.imshow(grid, cmap="Blues", aspect="auto")
    ax.set_xticks(range(len(head) - 1), head[1:], rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.set_xlabel("answered")
    ax.set_ylabel("expected")
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            if v:
                ax.text(j, i, str(v), ha="center", va="center", fontsize=8)
    ax.set_title(title)
    return _png(fig)


def loss_png(curve: list[list[float]], ylabel: str = "answer-token loss") -> str:
    """A training curve; the loss on a log scale, anything else (a reward margin can be negative) linear."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 2.8))
    ax.plot([s for s, _ in curve], [v for _, v in curve])
    if ylabel == "answer-token loss":
        ax.set_yscale("log")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return _png(fig)


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;font-size:14px}
th{background:#f3f3f3}pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f8f8f8;padding:6px;margin:0;font-size:12px}
.fail td{vertical-align:top;width:33%}"""


def render_html(results: dict, rob: dict | None = None) -> str:
    first = _first_field(results)
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>lorakit report: {e(results['task'])}</title>",
             f"<style>{CSS}</style></head><body>",
             f"<h1>lorakit report: {e(results['task'])}</h1>",
             f"<p>{e(_intro(results))}</p>",
             _html_table(*headline_rows(results))]
    if results.get("comparisons"):
        parts.append("<h2>Paired comparisons</h2><ul>" + "".join(
            f"<li>{e(line.strip().lstrip('- '))}</li>" for line in comparison_lines(results)) + "</ul>")
    if results.get("divergence"):
        parts.append(f"<p>{e(divergence_line(results['divergence']))}</p>")
    for line in (force_closed_line(results), cut_line(results)):
        if line:
            parts.append(f"<p>{e(line)}</p>")
    parts.append("<h2>By category</h2>")
    parts += [f"<img alt='category heat map {e(m)}' src='{heatmap_png(results, m)}'>" for m in focus_metrics(results)]
    if first:
        name = first.removeprefix("field:")
        confs = [(arm, res["fields"][name]["confusion"]) for arm, res in results["models"].items()
                 if res.get("fields", {}).get(name, {}).get("confusion")]
        if confs:
            parts.append(f"<h2>{e(name)} confusion</h2>")
            parts += [f"<img alt='confusion {e(arm)}' src='{confusion_png(conf, arm)}'>" for arm, conf in confs]
    if field_rows(results)[1]:
        parts += ["<h2>Field details</h2>", _html_table(*field_rows(results))]
    if label_set_rows(results)[1]:
        parts += ["<h2>Classification items (detected label sets)</h2>", _html_table(*label_set_rows(results))]
        for arm, sets in _label_sets(results).items():
            for name, d in sets.items():
                if d["n_labels"] <= 30:
                    parts.append(f"<img alt='confusion {e(name)} {e(arm)}' src='{confusion_png(d['confusion'], arm)}'>")
                else:
                    parts.append(f"<p>{e(name)}, most frequent confusions ({e(arm)}): "
                                 f"{e('; '.join(top_confusions(d['confusion'])))}</p>")
    tr = results.get("training")
    if tr and tr.get("loss_curve"):
        parts += ["<h2>Training loss</h2>", f"<img alt='training loss' src='{loss_png(tr['loss_curve'])}'>",
                  f"<p>{e(training_line(tr))}</p>"]
        if tr.get("reward_curve"):
            margin = [[s, m] for s, m, _ in tr["reward_curve"]]
            parts.append(f"<img alt='DPO reward margin' src='{loss_png(margin, 'reward margin (chosen - rejected)')}'>")
        if tr.get("sample_reward_curve"):
            reward = [[s, r] for s, r, _ in tr["sample_reward_curve"]]
            parts.append(f"<img alt='GRPO sampled reward' src='{loss_png(reward, 'mean reward of sampled answers')}'>")
        if tr.get("kl_curve"):
            parts.append(f"<img alt='GRPO KL to the starting model' "
                         f"src='{loss_png(tr['kl_curve'], 'KL to the starting model (per answer token)')}'>")
    if results.get("general"):
        g = results["general"]
        parts += ["<h2>What tuning cost: general prompts</h2>", f"<p>{e(general_lines(g)[0])}</p>",
                  "<table class='fail'><tr><th>prompt</th><th>base</th><th>tuned</th></tr>"]
        parts += [f"<tr><td>{e(a['prompt'])}</td><td><pre>{e(a['base'])}</pre></td><td><pre>{e(a['tuned'])}</pre></td>"
                  "</tr>" for a in g["answers"]] + ["</table>"]
    if rob:
        parts += ["<h2>Robustness suite</h2>", f"<p>{rob['n_clean']} clean items, {rob['n_variants']} attacked "
                  "variants. 'changed': of the items answered exactly right when clean, the share whose answer the "
                  "attack changed.</p>", _html_table(*robustness_rows(rob))]
    for arm, res in results["models"].items():
        fails = res.get("failures") or []
        if not fails:
            continue
        parts.append(f"<h2>Worst failures: {e(arm)}</h2><table class='fail'><tr><th>input</th><th>expected</th>"
                     "<th>got</th></tr>")
        for f in fails:
            parts.append(f"<tr><td><b>{e(f['id'])}</b> ({e(str(f['category']))})<pre>{e(f['input'])}</pre></td>"
                         f"<td><pre>{e(f['expected'])}</pre></td><td><pre>{e(f['got'])}</pre>"
                         f"wrong: {e(', '.join(f['wrong_fields']))}</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def report(run_dir: str | Path) -> Path:
    """Write ``report.md`` and ``report.html`` from ``run_dir/results.json``; returns the Markdown path."""
    run = RunDir(run_dir)
    if not run.results_path.is_file():
        raise EvalError(f"{run.results_path} not found; run `lorakit eval` on this run first")
    results, rob = run.results().model_dump(exclude_unset=True), _robustness(run)
    atomic_write_text(run.report_md, render_markdown(results, rob))
    atomic_write_text(run.report_html, render_html(results, rob))
    return run.report_md
