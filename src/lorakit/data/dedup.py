"""Exact and near-duplicate removal, and train/eval decontamination.

- exact: the same normalised (prompt, answer) text twice;
- near: MinHash over word 5-grams with LSH at Jaccard 0.7 (datasketch), the first row kept;
- decontamination: a train row whose prompt equals an eval prompt (normalised) or shares any
  word 13-gram with one is dropped, so the eval measures generalisation, not recall.

Every drop is reported with its reason and the row it duplicates.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+")
NEAR_NGRAM = 5
NEAR_THRESHOLD = 0.7
CONTAM_NGRAM = 13
NUM_PERM = 128


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def ngrams(text: str, n: int) -> set[str]:
    """Word ``n``-grams; a text shorter than ``n`` words is one gram of all its words."""
    w = words(text)
    if len(w) < n:
        return {" ".join(w)} if w else set()
    return {" ".join(w[i:i + n]) for i in range(len(w) - n + 1)}


def _minhash(grams: set[str]):
    from datasketch import MinHash

    m = MinHash(num_perm=NUM_PERM, seed=1)
    m.update_batch([g.encode("utf-8") for g in grams])
    return m


def dedup(texts: list[str], threshold: float = NEAR_THRESHOLD) -> tuple[list[int], list[dict]]:
    """Indices to keep (first occurrence wins) and a drop record per removed text."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    exact: dict[str, int] = {}
    keep, dropped = [], []
    for i, text in enumerate(texts):
        key = " ".join(words(text))
        if key in exact:
            dropped.append({"index": i, "reason": "exact duplicate", "of": exact[key]})
            continue
        exact[key] = i
        grams = ngrams(text, NEAR_NGRAM)
        m = _minhash(grams)
        hits = lsh.query(m) if grams else []
        if hits:
            dropped.append({"index": i, "reason": f"near duplicate (MinHash Jaccard >= {threshold})", "of": min(hits)})
            continue
        if grams:
            lsh.insert(i, m)
        keep.append(i)
    return keep, dropped


def contaminated(train_prompts: list[str], eval_prompts: list[str], n: int = CONTAM_NGRAM) -> dict[int, str]:
    """Train indices that leak an eval prompt: ``{index: reason}``."""
    eval_exact = {" ".join(words(p)) for p in eval_prompts}
    eval_grams = set().union(*(g for p in eval_prompts if len(g := ngrams(p, n)) and len(words(p)) >= n)) \
        if eval_prompts else set()
    out = {}
    for i, p in enumerate(train_prompts):
        if " ".join(words(p)) in eval_exact:
            out[i] = "same prompt as an eval row"
        elif len(words(p)) >= n and ngrams(p, n) & eval_grams:
            out[i] = f"shares a {n}-gram with an eval prompt"
    return out
