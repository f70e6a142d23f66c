"""``lorakit data prepare``: your instruction data -> deduplicated, decontaminated train/eval chat JSONL.

Reads any format of :mod:`lorakit.data.formats`, removes exact and near duplicates, splits off
an eval set with a fixed seed when none is given, drops train rows that leak eval prompts
(:mod:`lorakit.data.dedup`), and writes ``train.jsonl``, ``eval.jsonl``, ``dropped.jsonl`` (every
removed row with its reason) and ``prepare_record.json`` (the counts).
"""

from __future__ import annotations

import random
from pathlib import Path

from lorakit.data.chat import ChatExample
from lorakit.data.dedup import contaminated, dedup
from lorakit.data.formats import load_examples
from lorakit.errors import DataError
from lorakit.io import sha256_file, write_json, write_jsonl


def _row(ex: ChatExample) -> dict:
    return {"messages": ex.messages, "category": ex.category, **ex.extra}


def _text(ex: ChatExample) -> str:
    return ex.user + "\n" + ex.answer


def prepare(train_file: str | Path, out_dir: str | Path, *, eval_file: str | Path | None = None,
            eval_fraction: float = 0.1, fmt: str = "auto", skip_bad: bool = False, system: str | None = None,
            columns: dict[str, str] | None = None, seed: int = 0, dedupe: bool = True) -> dict:
    """Prepare ``train_file`` (and ``eval_file``, else a seeded ``eval_fraction`` split); returns the record."""
    out_dir = Path(out_dir)
    loaded = {"train": load_examples(train_file, fmt, skip_bad=skip_bad, system=system, columns=columns)}
    if eval_file:
        loaded["eval"] = load_examples(eval_file, fmt, skip_bad=skip_bad, system=system, columns=columns)
    dropped: list[dict] = []
    kept: dict[str, list[ChatExample]] = {}
    for split, ld in loaded.items():
        dropped += [{"split": split, "reason": "bad row", "detail": b} for b in ld.bad]
        exs = ld.examples
        if dedupe:
            keep, drops = dedup([_text(e) for e in exs])
            dropped += [{"split": split, "line": exs[d["index"]].line, "reason": d["reason"],
                         "duplicate_of_line": exs[d["of"]].line, "input": exs[d["index"]].user[:200]} for d in drops]
            exs = [exs[i] for i in keep]
        kept[split] = exs
    if "eval" not in kept:
        exs = kept.pop("train")
        order = list(range(len(exs)))
        random.Random(seed).shuffle(order)
        n_eval = max(1, round(eval_fraction * len(exs)))
        if n_eval >= len(exs):
            raise DataError(f"{len(exs)} usable rows cannot be split into train and eval (eval_fraction "
                            f"{eval_fraction}); add data or give data.eval_file", path=str(train_file))
        kept["eval"] = [exs[i] for i in sorted(order[:n_eval])]
        kept["train"] = [exs[i] for i in sorted(order[n_eval:])]
    if dedupe:
        leaks = contaminated([e.user for e in kept["train"]], [e.user for e in kept["eval"]])
        dropped += [{"split": "train", "line": kept["train"][i].line, "reason": f"eval contamination: {why}",
                     "input": kept["train"][i].user[:200]} for i, why in sorted(leaks.items())]
        kept["train"] = [e for i, e in enumerate(kept["train"]) if i not in leaks]
    if not kept["train"]:
        raise DataError("no train rows left after deduplication and decontamination", path=str(train_file))
    record = {"format": loaded["train"].format, "sources": sources(train_file, eval_file),
              "settings": settings(fmt, eval_fraction, seed, dedupe, skip_bad, system, columns),
              "rows_read": {k: v.rows for k, v in loaded.items()},
              "bad_rows": sum(v.skipped for v in loaded.values()),
              "dropped": _count(dropped), "files": {}}
    for split in ("train", "eval"):
        path = out_dir / f"{split}.jsonl"
        write_jsonl(path, (_row(e) for e in kept[split]))
        record["files"][split] = {"path": str(path), "rows": len(kept[split]), "sha256": sha256_file(path)}
    write_jsonl(out_dir / "dropped.jsonl", dropped)
    write_json(out_dir / "prepare_record.json", record)
    return record


def sources(train_file, eval_file) -> dict:
    """The input files with their hashes: a prepared folder is stale when these change."""
    out = {}
    for k, p in (("train", train_file), ("eval", eval_file)):
        if p is None:
            continue
        if not Path(p).is_file():
            raise DataError("file not found; check data.train_file / data.eval_file", path=str(p))
        out[k] = {"path": str(p), "sha256": sha256_file(p)}
    return out


def settings(fmt, eval_fraction, seed, dedupe, skip_bad, system, columns) -> dict:
    """The options a prepared folder was made with: it is stale when these change."""
    return {"format": fmt, "eval_fraction": eval_fraction, "seed": seed, "dedup": dedupe, "skip_bad": skip_bad,
            "system": system, "columns": columns}


def _count(dropped: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in dropped:
        key = d["reason"].split(" (")[0].split(":")[0]
        out[key] = out.get(key, 0) + 1
    return out
