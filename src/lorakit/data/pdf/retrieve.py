"""Retrieval at question time: BM25 over a run's own chunks finds the excerpt a grounded model answers from.

A grounded model is trained on ``excerpt + question``; a user has only the question. :class:`DocumentIndex`
ranks the run's chunks (heading path and text, as parsed and chunked for training) with BM25 from
``bm25s`` (a maintained library: sparse-matrix scoring, English stopwords), and puts the top ``k`` in the
prompt in the training format. ``lorakit ask`` uses it, and ``eval.context: retrieved`` re-grounds every
eval item on retrieved excerpts instead of the one it was written with, reporting recall@k: the share of
items whose own excerpt is among the ``k`` retrieved.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from lorakit.data.pdf.dataset import excerpt, user_message
from lorakit.errors import ConfigError, DataError

logger = logging.getLogger("lorakit")

EXCERPT_HEAD, QUESTION_HEAD = "Policy excerpt:\n", "\n\nQuestion: "


def run_chunks(data_dir: str | Path) -> list[dict]:
    """The chunks a run trained from (``data/pdf/<stem>/chunks.jsonl``), ids prefixed as in training."""
    from lorakit.io import iter_jsonl

    files = sorted(Path(data_dir).glob("pdf/*/chunks.jsonl"))
    if not files:
        raise ConfigError(f"no parsed document chunks under {Path(data_dir) / 'pdf'}: retrieval needs a run whose "
                          "data was built from PDFs (data.options.pdf); run `lorakit run` or `lorakit train` first")
    out = []
    for f in files:
        for _, c in iter_jsonl(f):
            out.append({**c, "id": f"{f.parent.name}/{c['id']}"} if len(files) > 1 else c)
    return out


def split_message(message: str) -> tuple[str, list[str]]:
    """A grounded user message's question and the excerpts it was given (closed-book: the question alone)."""
    if not message.startswith(EXCERPT_HEAD) or QUESTION_HEAD not in message:
        return message, []
    body, question = message[len(EXCERPT_HEAD):].rsplit(QUESTION_HEAD, 1)
    return question, [e for e in body.split("\n\n[") if e]


def _key(text: str) -> str:
    """An excerpt compared by its words only (the message joins excerpts with blank lines)."""
    return " ".join(text.lstrip("[").split())


class DocumentIndex:
    """BM25 over chunks; :meth:`search` gives the top ``k`` for a question."""

    def __init__(self, chunks: list[dict]):
        import bm25s

        if not chunks:
            raise DataError("no chunks to index")
        self.chunks = chunks
        self.keys = [_key(excerpt(c)) for c in chunks]
        self.bm25 = bm25s.BM25()
        self.bm25.index(bm25s.tokenize([excerpt(c) for c in chunks], stopwords="en", show_progress=False),
                        show_progress=False)

    @classmethod
    def from_dir(cls, data_dir: str | Path) -> "DocumentIndex":
        """The index of a run's chunks, built once per process and folder (``lorakit ask`` asks it per question);
        rebuilt when the chunk files change."""
        files = sorted(Path(data_dir).glob("pdf/*/chunks.jsonl"))
        return _index(str(Path(data_dir).resolve()), tuple((str(f), f.stat().st_mtime_ns) for f in files))

    def search(self, question: str, k: int) -> list[dict]:
        import bm25s

        k = min(k, len(self.chunks))
        ids, _ = self.bm25.retrieve(bm25s.tokenize([question], stopwords="en", show_progress=False), k=k,
                                    show_progress=False)
        return [self.chunks[int(i)] for i in ids[0]]

    def ground(self, question: str, k: int) -> tuple[str, list[dict]]:
        """The user message for ``question`` with the top ``k`` excerpts, in the training format, and those chunks."""
        found = self.search(question, k)
        return user_message(question, found), found

    def reground(self, message: str, k: int) -> tuple[str, bool | None]:
        """``message``'s question with retrieved excerpts instead of its own; whether its own excerpt is among
        them (None: it came without one)."""
        question, given = split_message(message)
        new, found = self.ground(question, k)
        if not given:
            return new, None
        got = {self.keys[self.chunks.index(c)] for c in found}
        return new, any(_key(g) in got for g in given)


def retrieved_eval(data_dir: str | Path, items: list, k: int, skip_categories: tuple[str, ...] = (),
                   measure: tuple[str, ...] = ()):
    """``eval.context: retrieved``: ``(indices kept, items re-grounded on the top-k retrieved excerpts, record)``.

    Items of ``skip_categories`` (whose expected answer depends on the excerpt they were shown with, such as
    a refusal for a deliberately wrong excerpt) are left out, counted in the record and logged. Recall@k is
    over the items of ``measure`` (all, when empty) that came with an excerpt.
    """
    from lorakit.data.chat import ChatExample

    index = DocumentIndex.from_dir(data_dir)
    kept, out, hits = [], [], []
    skipped = {c: 0 for c in skip_categories}
    for i, ex in enumerate(items):
        if ex.category in skip_categories:
            skipped[ex.category] += 1
            continue
        message, hit = index.reground(ex.user, k)
        msgs = [m if m["role"] != "user" or m["content"] != ex.user else {**m, "content": message}
                for m in ex.messages]
        kept.append(i)
        out.append(ChatExample(msgs, ex.category, ex.line, ex.extra))
        if hit is not None and (not measure or ex.category in measure):
            hits.append(hit)
    for cat, n in skipped.items():
        if n:
            logger.warning("eval.context=retrieved: %d %s item(s) left out (their expected answer depends on the "
                           "excerpt they were shown with)", n, cat)
    record = {"k": k, "chunks": len(index.chunks), "recall_at_k": sum(hits) / len(hits) if hits else None,
              "n_with_excerpt": len(hits), "skipped": {c: n for c, n in skipped.items() if n}}
    logger.info("eval.context=retrieved: BM25 over %d chunks, recall@%d %s over %d items", len(index.chunks),
                k, "-" if record["recall_at_k"] is None else f"{100 * record['recall_at_k']:.1f}%", len(hits))
    return kept, out, record


@functools.lru_cache(maxsize=4)
def _index(data_dir: str, stamp: tuple) -> DocumentIndex:
    return DocumentIndex(run_chunks(data_dir))

