"""PDFs -> train/eval chat JSONL for a task that learns from documents (its ``build_data``, run by ``lorakit run``).

PDF -> chunks (:mod:`~lorakit.data.pdf.parse`) -> questions (offline :mod:`~lorakit.data.pdf.qa`,
plus a teacher LLM when configured) -> quality gate with the section split
(:mod:`lorakit.data.pdf.gate`) -> chat rows:

- grounded mode: the user message is the excerpt (its heading path and text) and the question.
  Besides the synthesized unanswerable questions, answerable questions are also paired with another
  chunk's excerpt that lacks the answer (category ``wrong_excerpt``, answer: the refusal), so the
  model learns that refusing depends on the excerpt, not on how a question is worded. Train rows
  vary the question's lead-in, put a distractor chunk beside the right one and add a loose keyword
  form of each question (:func:`loose`); eval rows use the plain form.
- closed-book mode: the user message is the question alone (the reference's set-up).

Train rows may also ask a near miss of an answerable question with its own excerpt (category ``near_miss``,
``data.options.near_miss_share``): one condition changed so that the excerpt no longer answers it.

Train rows may also be shaped the way retrieval shows a question at question time (``lorakit ask``,
``eval.context: retrieved``; ``data.options.retrieval_share``): the question with ``k`` excerpts, its own
among them (answered), and, as often as the other train rows refuse, the question with ``k`` excerpts that
all lack the answer (refused, category ``wrong_excerpt``). The other excerpts are BM25's top hits for the
question over the train chunks (the right topic without the fact, as a reader's retrieval finds them) or,
for a control arm, random chunks.

Categories: ``answerable``, ``unanswerable``, ``wrong_excerpt``, ``near_miss``. The whole build is cached by a
record of the PDFs' hashes, the settings and this code's fingerprint.
"""

from __future__ import annotations

import logging
import random
import re
from pathlib import Path

from lorakit.data.pdf.qa import REFUSAL
from lorakit.data.tasks.text_metrics import normalize_answer

logger = logging.getLogger("lorakit")

# how a reader might open a question; train variants get one, the first form of every question has none
LEAD_INS = ["According to the document, ", "Per the excerpt, ", "Based on the text: ", "Quick question: "]
WH = re.compile(r"\b(?:how many (?:[a-z-]+ )*?[a-z-]+s|how much|what percentage|(?:by|after) what (?:time|date)|"
                r"which system|whom|who|where|what (?:does|do|is|are))\b", re.IGNORECASE)
STOPWORDS = set("a an the of to in on for and or is are be been must may can per with by at as their its which who "
                "that this these those it they there".split())


def excerpt(chunk: dict) -> str:
    return f"[{' > '.join(chunk['headings'])}]\n{chunk['text']}"


def user_message(question: str, chunks: list[dict] | None) -> str:
    """Grounded: the excerpt(s) then the question; closed-book (``chunks`` None): the question alone."""
    if chunks is None:
        return question
    return "Policy excerpt:\n" + "\n\n".join(excerpt(c) for c in chunks) + f"\n\nQuestion: {question}"


def _lead_in(question: str, lead: str) -> str:
    """``question`` opened by ``lead``: "Per the excerpt, how many ...?", "Based on the text: How many ...?"."""
    return lead + (question[0].upper() + question[1:] if not lead or lead.endswith(": ") else _lower(question))


def _lower(question: str) -> str:
    first = question.split()[0]
    return question if len(first) > 1 and any(c.isupper() for c in first[1:]) else question[0].lower() + question[1:]


def loose(question: str) -> str | None:
    """The question as a user might type it: the question phrase first, then the content words of the
    rest ("Fire drills are held every how many months?" -> "How many months fire drills held every?"),
    so the model learns to find the fact by meaning rather than by the policy's exact sentence."""
    core = question.rstrip("?")
    m = WH.search(core)
    if m is None:
        return None
    rest = [w for w in re.findall(r"[\w'-]+", core[:m.start()] + " " + core[m.end():]) if w.lower() not in STOPWORDS]
    wh = m.group(0)
    return f"{wh[0].upper()}{wh[1:]} {' '.join(rest)}?"


def _lacks(chunk: dict, answer: str) -> bool:
    """True when ``chunk`` cannot answer: the answer's normalised text does not occur in it."""
    return normalize_answer(answer) not in normalize_answer(chunk["text"])


def _wrong_excerpts(own: dict, answer: str, pool: list[dict], k: int, rng: random.Random,
                    near_share: float = 0.5) -> list[dict]:
    """``k`` chunks that lack ``answer``: each, with probability ``near_share``, from ``own``'s section where one
    is left (the right topic without the fact: what a reader's unanswerable question looks like), else from
    anywhere."""
    lacking = [c for c in pool if c["id"] != own["id"] and _lacks(c, answer)]
    near = [c for c in lacking if c["section"] == own["section"]]
    out: list[dict] = []
    for _ in range(min(k, len(lacking))):
        side = [c for c in (near if near and rng.random() < near_share else lacking) if c not in out]
        if side:
            out.append(rng.choice(side))
    return out


def _near_miss_rows(rows: list[dict], chunks: dict[str, dict], share: float) -> list[tuple[str, str, str]]:
    """Per answerable row, ``share`` near misses of its question (:func:`~lorakit.data.pdf.qa.near_misses`: one
    condition changed so that its own excerpt no longer answers it), shown with that excerpt, answered with the
    refusal. Drawn from their own generator (seeded by the question) so that the other rows stay as they were."""
    from lorakit.data.pdf.qa import near_misses

    out = []
    for r in rows:
        if not r["answerable"]:
            continue
        own = chunks[r["chunk_id"]]
        candidates = near_misses(r["question"], r["answer"], own["text"])
        rng = random.Random(r["question"])
        k = int(share) + (rng.random() < share % 1)
        out += [(user_message(q, [own]), REFUSAL, "near_miss") for q in rng.sample(candidates, min(k, len(candidates)))]
    return out


class _Neighbours:
    """The other excerpts of a retrieval-shaped train row: BM25's top hits for the question over ``pool``
    (``negatives`` "bm25": the right topic, what ``eval.context: retrieved`` shows), or random chunks of
    ``pool`` ("random", the control arm)."""

    def __init__(self, pool: list[dict], negatives: str):
        from lorakit.data.pdf.retrieve import DocumentIndex

        self.pool = pool
        self.index = DocumentIndex(pool) if negatives == "bm25" else None

    def ranking(self, question: str) -> list[dict] | None:
        """The whole pool in BM25's order for ``question``, searched once per question (None: random negatives)."""
        return self.index.search(question, len(self.pool)) if self.index else None

    def others(self, own: dict, ranking: list[dict] | None, k: int, rng: random.Random,
               lacking: str | None = None) -> list[dict]:
        """Up to ``k`` chunks other than ``own``, the first of ``ranking`` or random ones; with ``lacking``, only
        ones whose text lacks that answer."""
        ok = [c for c in ranking or self.pool if c["id"] != own["id"] and (lacking is None or _lacks(c, lacking))]
        return ok[:k] if ranking else rng.sample(ok, min(k, len(ok)))


def _retrieval_rows(rows: list[dict], chunks: dict[str, dict], share: float, k: int, negatives: str,
                    refusal_rate: float) -> list[tuple[str, str, str]]:
    """Per answerable row, ``share`` rows shaped as retrieval shows the question at question time: its own excerpt
    among ``k - 1`` others (answered), each followed with probability ``refusal_rate`` by ``k`` excerpts that all
    lack the answer (the refusal, category ``wrong_excerpt``). The others are :class:`_Neighbours` over this
    split's chunks. Where BM25 ranks the own excerpt among the first ``k`` it keeps its rank, else it takes a
    random place. Drawn from their own generator (seeded by the question) so that the other rows stay as they
    were."""
    pool = [chunks[c] for c in sorted({r["chunk_id"] for r in rows})]
    if len(pool) < 2:
        return []
    near = _Neighbours(pool, negatives)
    out = []
    for r in rows:
        if not r["answerable"]:
            continue
        own, q = chunks[r["chunk_id"]], r["question"]
        rng, ranking = random.Random(f"retrieval-{q}"), near.ranking(q)
        top = [c["id"] for c in (ranking or [])[:k]]
        for _ in range(int(share) + (rng.random() < share % 1)):
            ctx = near.others(own, ranking, k - 1, rng)
            ctx.insert(top.index(own["id"]) if own["id"] in top else rng.randrange(len(ctx) + 1), own)
            out.append((user_message(q, ctx), r["answer"], "answerable"))
            lack = near.others(own, ranking, k, rng, lacking=r["answer"])
            if lack and rng.random() < refusal_rate:
                out.append((user_message(q, lack), REFUSAL, "wrong_excerpt"))
    return out


def split_rows(rows: list[dict], chunks: dict[str, dict], *, mode: str, train: bool, rng: random.Random,
               wrong_excerpt_share: float, variants: int, near_share: float = 0.5,
               near_miss_share: float = 0.0, retrieval_share: float = 0.0, retrieval_k: int = 3,
               retrieval_negatives: str = "bm25") -> list[tuple[str, str, str]]:
    """``(user message, answer, category)`` triples for one split's gated Q/A ``rows``."""
    grounded = mode == "grounded"
    pool = sorted({r["chunk_id"] for r in rows})
    out = []
    for r in rows:
        own = chunks[r["chunk_id"]]
        cat = "answerable" if r["answerable"] else "unanswerable"
        if not train:
            out.append((user_message(r["question"], [own] if grounded else None), r["answer"], cat))
        else:
            others = [chunks[c] for c in pool if c != own["id"]]
            for v in range(variants if r["answerable"] else 1):
                q = _lead_in(r["question"], rng.choice(LEAD_INS)) if v else r["question"]
                ctx = [own]
                if grounded and v % 2 == 1 and others:  # the right excerpt beside a distractor, in either order
                    ctx = [own, rng.choice(others)]
                    rng.shuffle(ctx)
                out.append((user_message(q, ctx if grounded else None), r["answer"], cat))
        lq = loose(r["question"]) if train and r["answerable"] else None
        if lq:
            out.append((user_message(lq, [own] if grounded else None), r["answer"], cat))
        if grounded and r["answerable"]:
            k = int(wrong_excerpt_share) + (rng.random() < wrong_excerpt_share % 1)
            for i, other in enumerate(_wrong_excerpts(own, r["answer"], [chunks[c] for c in pool], k, rng,
                                                      near_share)):
                q = lq if lq and (i + len(out)) % 2 else r["question"]  # refusal depends on the excerpt, in either wording
                out.append((user_message(q, [other]), REFUSAL, "wrong_excerpt"))
    if train:
        rng.shuffle(out)
        if grounded and near_miss_share:  # placed by a generator of their own: the other rows keep their order
            place = random.Random(f"near-miss-{len(out)}")
            extra = _near_miss_rows(rows, chunks, near_miss_share)
            asked = sum(r["answerable"] for r in rows)
            if extra:
                logger.info("near_miss_share %g: %d near-miss refusal rows from %d answerable questions",
                            near_miss_share, len(extra), asked)
            else:  # the user asked for them and got none: say so, or the setting looks like it did nothing
                logger.warning("near_miss_share %g: none of the %d answerable questions has a comparator to turn or "
                               "a listed item to swap, so no near-miss rows were made (the train rows are as without "
                               "it)", near_miss_share, asked)
            for row in extra:
                out.insert(place.randrange(len(out) + 1), row)
        if grounded and retrieval_share:  # likewise
            place = random.Random(f"retrieval-{len(out)}")
            refused = sum(t[1] == REFUSAL for t in out)
            rate = refused / max(1, len(out) - refused)  # the k-excerpt form gets no refusal prior of its own
            extra = _retrieval_rows(rows, chunks, retrieval_share, retrieval_k, retrieval_negatives, rate)
            logger.info("retrieval_share %g: %d train rows shaped as retrieval shows a question (%d excerpts, %s "
                        "negatives), %d of them refused: %.2f refusals per answer, as in the other train rows",
                        retrieval_share, len(extra), retrieval_k, retrieval_negatives,
                        sum(t[1] == REFUSAL for t in extra), rate)
            for row in extra:
                out.insert(place.randrange(len(out) + 1), row)
    return out


def _chunks(pdfs: list[Path], data_dir: Path, model: str, max_tokens: int, backend: str) -> list[dict]:
    """Every PDF's chunks; with several PDFs, ids and sections are prefixed by the file's stem."""
    from lorakit.data.pdf.parse import pdf_to_chunks
    from lorakit.io import iter_jsonl

    out = []
    for pdf in pdfs:
        folder = data_dir / "pdf" / pdf.stem
        pdf_to_chunks(pdf, folder, model=model, max_tokens=max_tokens, backend=backend)
        for _, c in iter_jsonl(folder / "chunks.jsonl"):
            if len(pdfs) > 1:
                c = {**c, "id": f"{pdf.stem}/{c['id']}", "section": f"{pdf.stem}:{c['section']}"}
            out.append(c)
    return out


def build_policy_data(cfg, data_dir: str | Path, pol, system_prompt: str) -> tuple[Path, Path]:
    """Build (or reuse) ``train.jsonl`` and ``eval.jsonl`` from the PDFs of ``pol`` (a :class:`PdfQAOptions`);
    every row is trained with ``system_prompt`` (the task's), which is part of what the cache is keyed by."""
    from lorakit.data.chat import to_row
    from lorakit.data.pdf.gate import gate
    from lorakit.data.pdf.qa import synthesize
    from lorakit.errors import ConfigError
    from lorakit.io import fingerprint_files, iter_jsonl, read_json, sha256_file, write_json, write_jsonl

    data_dir = Path(data_dir)
    for pdf in pol.pdf:
        if not Path(pdf).is_file():
            raise ConfigError(f"data.options.pdf: {pdf} not found (build the sample with "
                              "`python examples/sample_pdfs.py --handbook`)")
    if pol.questions is not None and not Path(pol.questions).is_file():
        raise ConfigError(f"data.options.questions: {pol.questions} not found")
    wanted = {"pdfs": {str(p): sha256_file(p) for p in pol.pdf}, "options": pol.model_dump(mode="json"),
              "questions": sha256_file(pol.questions) if pol.questions else None,
              "system_prompt": system_prompt,
              "model": cfg.model.name, "seed": cfg.data.seed,
              "code": fingerprint_files(sorted(Path(__file__).parent.glob("*.py")))}  # the gate's rules included
    record_path = data_dir / "policy_record.json"
    train_path, eval_path = data_dir / "train.jsonl", data_dir / "eval.jsonl"
    if record_path.is_file() and read_json(record_path).get("inputs") == wanted and eval_path.is_file():
        return train_path, eval_path

    chunks = _chunks([Path(p) for p in pol.pdf], data_dir, cfg.model.name, pol.chunk_tokens, pol.pdf_backend)
    rows = synthesize(chunks, seed=cfg.data.seed, unanswerable_share=pol.unanswerable_share)
    teacher = None
    if pol.teacher is not None:
        from lorakit.data.pdf.teacher import teacher_rows

        extra, teacher = teacher_rows(chunks, pol.teacher, data_dir / "teacher_cache.jsonl")
        rows += extra
    write_jsonl(data_dir / "qa.jsonl", rows)
    summary = gate(rows, data_dir / "gated", eval_share=pol.eval_share, seed=cfg.data.seed, judge=pol.judge)
    kept = [r for _, r in iter_jsonl(data_dir / "gated" / "kept.jsonl")]
    by_id = {c["id"]: c for c in chunks}
    rng = random.Random(cfg.data.seed)
    files = {}
    for split, path in (("train", train_path), ("eval", eval_path)):
        part = [r for r in kept if r["split"] == split]
        triples = split_rows(part, by_id, mode=pol.mode, train=split == "train", rng=rng,
                             wrong_excerpt_share=pol.wrong_excerpt_share, variants=pol.train_variants,
                             near_share=pol.wrong_excerpt_near, near_miss_share=pol.near_miss_share,
                             retrieval_share=pol.retrieval_share, retrieval_k=pol.retrieval_k,
                             retrieval_negatives=pol.retrieval_negatives)
        if split == "eval" and pol.questions is not None:  # the user's own questions are the eval split
            from lorakit.data.pdf.questions import question_rows

            triples = question_rows(pol.questions, chunks, grounded=pol.mode == "grounded")
            logger.info("eval split: the %d questions of %s (data.options.questions) instead of %d synthesized ones",
                        len(triples), pol.questions, len(part))
        write_jsonl(path, (to_row(system_prompt, u, a, cat) for u, a, cat in triples))
        files[split] = {"rows": len(triples), "categories": {c: sum(t[2] == c for t in triples)
                                                             for c in ("answerable", "unanswerable", "wrong_excerpt", "near_miss")}}
    write_json(record_path, {"inputs": wanted, "chunks": len(chunks), "questions": len(rows), "gate": summary,
                             "teacher": teacher, "files": files})
    return train_path, eval_path
