"""``lorakit data prepare``: your instruction data -> deduplicated, decontaminated train/eval chat JSONL.

Reads any format of :mod:`lorakit.data.formats`. A given eval file is kept **as given**: every row,
in order (duplicates inside it are reported in the log and ``prepare_record.json``, not removed), so
its scores compare with any other tool's on the same file. Train rows are deduplicated (exact and
near); without an eval file a seeded eval split is taken from the deduplicated train rows; train rows
that leak eval prompts are dropped (:mod:`lorakit.data.dedup`). Writes ``train.jsonl``,
``eval.jsonl`` (each row keeps ``source_line``, and ``source_id`` where the row had an ``id``),
``dropped.jsonl`` (every removed row with its reason) and ``prepare_record.json`` (the counts).
Every drop is also said in the log.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path

from lorakit.data.chat import ChatExample
from lorakit.data.dedup import contaminated, dedup
from lorakit.data.formats import Loaded, load_examples
from lorakit.errors import DataError
from lorakit.io import sha256_file, write_json, write_jsonl

logger = logging.getLogger(__name__)


def _row(ex: ChatExample) -> dict:
    return {"messages": ex.messages, "category": ex.category, **ex.extra, "source_line": ex.source_line}


def _text(ex: ChatExample) -> str:
    return ex.user + "\n" + ex.answer


def duplicates_in(exs: list[ChatExample]) -> list[dict]:
    """Exact and near duplicates inside ``exs`` (reported for an eval file, never removed from it)."""
    _, drops = dedup([_text(e) for e in exs])
    return [{"line": exs[d["index"]].line, "reason": d["reason"], "duplicate_of_line": exs[d["of"]].line}
            for d in drops]


def _say_eval_duplicates(path, dups: list[dict], rows: int, record: str) -> None:
    if dups:
        exact = sum(d["reason"] == "exact duplicate" for d in dups)
        logger.warning("%s: %d of %d eval rows duplicate an earlier row (%d exact, %d near); all are kept and scored "
                       "as given (lines in %s: eval_duplicates)", path, len(dups), rows, exact, len(dups) - exact,
                       record)


def _load(path, fmt, skip_bad, system, columns, encoding) -> Loaded:
    return load_examples(path, fmt, skip_bad=skip_bad, system=system, columns=columns, encoding=encoding)


def prepare(train_file: str | Path, out_dir: str | Path, *, eval_file: str | Path | None = None,
            eval_fraction: float = 0.1, fmt: str = "auto", skip_bad: bool = False, system: str | None = None,
            columns: dict[str, str] | None = None, seed: int = 0, dedupe: bool = True,
            encoding: str = "utf-8") -> dict:
    """Prepare ``train_file`` (and ``eval_file``, else a seeded ``eval_fraction`` split); returns the record."""
    out_dir = Path(out_dir)
    loaded = {"train": _load(train_file, fmt, skip_bad, system, columns, encoding)}
    if eval_file:
        loaded["eval"] = _load(eval_file, fmt, skip_bad, system, columns, encoding)
    dropped: list[dict] = []
    for split, ld in loaded.items():
        dropped += [{"split": split, "reason": "bad row", "detail": b} for b in ld.bad]
    train = loaded["train"].examples
    if dedupe:  # the train file only: a given eval file is scored as given
        keep, drops = dedup([_text(e) for e in train])
        dropped += [{"split": "train", "line": train[d["index"]].line, "reason": d["reason"],
                     "duplicate_of_line": train[d["of"]].line, "input": train[d["index"]].user[:200]} for d in drops]
        train = [train[i] for i in keep]
    kept: dict[str, list[ChatExample]] = {"train": train}
    eval_dups: list[dict] = []
    if "eval" in loaded:
        kept["eval"] = loaded["eval"].examples
        eval_dups = duplicates_in(kept["eval"])
        _say_eval_duplicates(eval_file, eval_dups, len(kept["eval"]), "prepare_record.json")
    else:
        order = list(range(len(train)))
        random.Random(seed).shuffle(order)
        n_eval = max(1, round(eval_fraction * len(train)))
        if n_eval >= len(train):
            raise DataError(f"{len(train)} usable rows cannot be split into train and eval (eval_fraction "
                            f"{eval_fraction}); add data or give data.eval_file", path=str(train_file))
        kept["eval"] = [train[i] for i in sorted(order[:n_eval])]
        kept["train"] = [train[i] for i in sorted(order[n_eval:])]
        logger.info("%s: %d rows split off for eval (eval_fraction %s, seed %d)", train_file, n_eval, eval_fraction,
                    seed)
    if dedupe:
        leaks = contaminated([e.user for e in kept["train"]], [e.user for e in kept["eval"]])
        dropped += [{"split": "train", "line": kept["train"][i].line, "reason": f"eval contamination: {why}",
                     "input": kept["train"][i].user[:200]} for i, why in sorted(leaks.items())]
        kept["train"] = [e for i, e in enumerate(kept["train"]) if i not in leaks]
    if not kept["train"]:
        raise DataError("no train rows left after deduplication and decontamination", path=str(train_file))
    record = {"format": loaded["train"].format, "sources": sources(train_file, eval_file),
              "settings": settings(fmt, eval_fraction, seed, dedupe, skip_bad, system, columns, encoding),
              "columns_used": loaded["train"].columns,
              "rows_read": {k: v.rows for k, v in loaded.items()},
              "bad_rows": sum(v.skipped for v in loaded.values()),
              "converted_to_text": {k: v.converted for k, v in loaded.items()},
              "dropped": _count(dropped), "eval_duplicates": eval_dups, "files": {}}
    for reason, n in record["dropped"].items():
        logger.info("%s: %d row(s) dropped (%s); each is listed in %s", train_file, n, reason,
                    out_dir / "dropped.jsonl")
    for split in ("train", "eval"):
        path = out_dir / f"{split}.jsonl"
        write_jsonl(path, (_row(e) for e in kept[split]))
        record["files"][split] = {"path": str(path), "rows": len(kept[split]), "sha256": sha256_file(path)}
    write_jsonl(out_dir / "dropped.jsonl", dropped)
    write_json(out_dir / "prepare_record.json", record)
    return record


def prepare_eval(eval_file: str | Path, out_dir: str | Path, *, fmt: str = "auto", skip_bad: bool = False,
                 system: str | None = None, columns: dict[str, str] | None = None, encoding: str = "utf-8") -> dict:
    """An eval file alone, as given (every row, in order), to ``out_dir/eval.jsonl`` + ``eval_record.json``."""
    out_dir = Path(out_dir)
    ld = _load(eval_file, fmt, skip_bad, system, columns, encoding)
    dups = duplicates_in(ld.examples)
    _say_eval_duplicates(eval_file, dups, len(ld.examples), "eval_record.json")
    path = out_dir / "eval.jsonl"
    write_jsonl(path, (_row(e) for e in ld.examples))
    write_jsonl(out_dir / "dropped.jsonl", [{"split": "eval", "reason": "bad row", "detail": b} for b in ld.bad])
    record = {"format": ld.format, "sources": sources(None, eval_file),
              "settings": settings(fmt, None, None, None, skip_bad, system, columns, encoding),
              "columns_used": ld.columns, "rows_read": {"eval": ld.rows}, "bad_rows": ld.skipped,
              "converted_to_text": {"eval": ld.converted}, "dropped": _count([{"reason": "bad row"}] * ld.skipped),
              "eval_duplicates": dups,
              "files": {"eval": {"path": str(path), "rows": len(ld.examples), "sha256": sha256_file(path)}}}
    write_json(out_dir / "eval_record.json", record)
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


def settings(fmt, eval_fraction, seed, dedupe, skip_bad, system, columns, encoding="utf-8") -> dict:
    """The options a prepared folder was made with: it is stale when these change."""
    return {"format": fmt, "eval_fraction": eval_fraction, "seed": seed, "dedup": dedupe, "skip_bad": skip_bad,
            "system": system, "columns": columns, "encoding": encoding}


def _count(dropped: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in dropped:
        key = d["reason"].split(" (")[0].split(":")[0]
        out[key] = out.get(key, 0) + 1
    return out
