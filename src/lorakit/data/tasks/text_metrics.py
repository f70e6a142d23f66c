"""Metrics for free-text answers, and classification hidden in instruction data.

Free text: SQuAD-style exact match and token F1 (lower-case, no punctuation or articles, single
spaces), and ROUGE-L F-measure from Google's ``rouge-score`` package.

Classification in disguise: much instruction data maps queries to a small closed set of
responses (intent ids "0".."76", sentiment words). :func:`detect_labels` finds such label sets,
per category tag when rows have tags; those items are then scored as classification
(accuracy, macro-F1, a confusion table per label set) and constrained decoding can restrict
their answers to the labels. The remaining items keep the free-text metrics.
"""

from __future__ import annotations

import re
import string
from collections import Counter, defaultdict
from functools import lru_cache

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)
MAX_LABEL_CHARS = 40
MAX_LABELS = 200
MIN_COVERAGE = 0.8


def normalize_answer(s: str) -> str:
    s = "".join(c for c in s.lower() if c not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", s).split())


def exact_match(pred: str, ref: str) -> bool:
    return normalize_answer(pred) == normalize_answer(ref)


def token_f1(pred: str, ref: str) -> float:
    p, r = normalize_answer(pred).split(), normalize_answer(ref).split()
    if not p or not r:
        return float(p == r)
    common = sum((Counter(p) & Counter(r)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(r)
    return 2 * precision * recall / (precision + recall)


@lru_cache(maxsize=1)
def _rouge():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def rouge_l(pred: str, ref: str) -> float:
    return _rouge().score(ref, pred)["rougeL"].fmeasure


def detect_labels(answers: list[str], groups: list[str]) -> dict[str, list[str]]:
    """Label sets of the groups whose answers come from a small closed set.

    A group (a category tag; ``all`` for untagged rows) is classification when the short answers
    that repeat (<= 40 characters, seen at least twice) cover at least 80% of its rows and number
    between 2 and 200. A few free-text rows mixed in do not hide it; their answers are simply not
    labels. Returns ``{group: sorted labels}``.
    """
    by_group: dict[str, list[str]] = defaultdict(list)
    for a, g in zip(answers, groups):
        by_group[g].append(a.strip())
    out = {}
    for g, values in by_group.items():
        counts = Counter(values)
        labels = [v for v, c in counts.items() if c >= 2 and 0 < len(v) <= MAX_LABEL_CHARS and "\n" not in v]
        covered = sum(counts[v] for v in labels)
        if 2 <= len(labels) <= MAX_LABELS and covered >= MIN_COVERAGE * len(values):
            out[g] = sorted(labels, key=lambda v: (len(v), v) if v.isdigit() else (1 << 30, v))
    return out


def macro_f1(expected: list[str], got: list[str]) -> float:
    """Mean F1 over the labels that occur in ``expected`` (a wrong label counts against both)."""
    labels = sorted(set(expected))
    if not labels:
        return 0.0
    f1s = []
    for lab in labels:
        tp = sum(e == lab and g == lab for e, g in zip(expected, got))
        fp = sum(e != lab and g == lab for e, g in zip(expected, got))
        fn = sum(e == lab and g != lab for e, g in zip(expected, got))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(f1s) / len(f1s)


@lru_cache(maxsize=32)
def lark_choice(labels: tuple[str, ...]) -> str:
    """An llguidance grammar whose only sentences are the labels (compiled once per label set)."""
    import json

    import llguidance

    return llguidance.LLMatcher.grammar_from_lark("start: " + " | ".join(json.dumps(lab) for lab in labels))


class TextScorer:
    """Free-text metrics for every item; classification metrics for items in a detected label set."""

    output = "text"
    scope = "(a metric that applies only to some items, such as label accuracy, is over those items)"
    labels = {"exact_match": "exact match (normalised)", "token_f1": "token F1", "rouge_l": "ROUGE-L F",
                     "label_accuracy": "label accuracy (classification items)"}

    def __init__(self, label_sets: dict[str, list[str]] | None = None):
        self.label_sets = label_sets or {}  # category -> its labels (see detect_labels)
        self.focus = ["exact_match", "token_f1"] + (["label_accuracy"] if self.label_sets else [])

    def label_set(self, category: str, expected: str) -> list[str] | None:
        labels = self.label_sets.get(category) or self.label_sets.get("all")
        return labels if labels and expected.strip() in labels else None

    def score(self, raw: str, expected: str, category: str = "all") -> dict:
        pred = raw.strip()
        scores: dict = {"exact_match": exact_match(pred, expected), "token_f1": token_f1(pred, expected),
                        "rouge_l": rouge_l(pred, expected)}
        labels = self.label_set(category, expected)
        scores["label_accuracy"] = (pred == expected.strip()) if labels else None
        return {"prediction": pred, "scores": scores, "label_group": category if labels else None,
                "exact_match": scores["exact_match"]}

    @staticmethod
    def reward(verdict: dict, weights: dict[str, float] | None = None) -> float:
        """In [0, 1]: the label's accuracy for a classification item, else token F1 against the reference."""
        s = verdict["scores"]
        return float(s["label_accuracy"]) if s["label_accuracy"] is not None else float(s["token_f1"])

    def grammars(self, items_categories: list[str], expected: list[str]) -> list[str | None]:
        """Per item: a grammar over its label set (classification items), or None (free text)."""
        out = []
        for c, e in zip(items_categories, expected):
            labels = self.label_set(c, e)
            out.append(lark_choice(tuple(labels)) if labels else None)
        return out

    def details(self, verdicts: list[dict], expected: list[str]) -> dict:
        """Per label set: accuracy, macro-F1 and a confusion table (expected -> got -> count)."""
        groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for v, e in zip(verdicts, expected):
            if v["label_group"] is not None:
                groups[v["label_group"]].append((e.strip(), v["prediction"]))
        out = {}
        for g, pairs in groups.items():
            labels = set(self.label_sets.get(g) or self.label_sets.get("all") or [])
            exp = [e for e, _ in pairs]
            got = [p if p in labels else "(not a label)" for _, p in pairs]
            table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            for e, p in zip(exp, got):
                table[e][p] += 1
            out[f"labels:{g}"] = {"kind": "labels", "n": len(pairs), "n_labels": len(labels),
                                  "accuracy": sum(e == p for e, p in zip(exp, got)) / len(pairs),
                                  "macro_f1": macro_f1(exp, got),
                                  "confusion": {k: dict(v) for k, v in table.items()}}
        return out
