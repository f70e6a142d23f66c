"""Second reference task: questions about policy documents, answered from the policy or refused.

The data comes from PDFs (``data.options``, see :mod:`lorakit.data.pdf.dataset`), not from a
generator. Each answer is a short phrase from the policy or exactly :data:`REFUSAL`. Metrics
(each over the items it applies to, so the report's averages are the usual rates):

- ``answer_em`` / ``answer_f1``: SQuAD-normalised exact match and token F1 on answerable items
  (a refusal there scores 0);
- ``refusal_recall``: unanswerable items that were refused; ``hallucination``: unanswerable items
  answered anyway (1 - recall);
- ``refusal_precision``: items the model refused that were unanswerable;
- ``over_refusal``: answerable items refused;
- ``exact_match``: the normalised answer is the expected one (for unanswerable items, the canonical
  refusal sentence).

An answer counts as a refusal when its normalised text says so in any of the usual ways ("not
specified", "does not say", "not mentioned", "no information", ...; :data:`REFUSAL_RE`), so a base
model that refuses in its own words gets credit for refusing (not for an exact match).
"""

from __future__ import annotations

import re

from lorakit.data.pdf.options import PdfQAOptions
from lorakit.data.pdf.qa import REFUSAL
from lorakit.data.tasks.base import Task
from lorakit.data.tasks.text_metrics import exact_match, normalize_answer, token_f1

TRAIN_PROMPT = f"Answer from the policy. If it does not say, reply: {REFUSAL}"

FULL_PROMPT = f"""You answer questions about the company's policies. When the message includes a policy excerpt, use
only that excerpt. Reply with the answer only: a short phrase copied from the policy, such as "25 working days",
"EUR 45" or "line manager", not a sentence. If the policy does not state the answer, reply exactly:
{REFUSAL}"""


REFUSAL_RE = re.compile(r"\bnot (?:specified|mentioned|stated|provided|included|covered|given)\b|"
                        r"\bdoes not (?:specify|say|state|mention|provide|include|cover)\b|\bno information\b|"
                        r"\bcannot (?:answer|find|be determined)\b|\bdoesnt (?:specify|say|state|mention)\b")


def is_refusal(text: str) -> bool:
    return REFUSAL_RE.search(normalize_answer(text)) is not None


class PolicyQAScorer:
    output = "text"
    focus = ["answer_f1", "refusal_recall", "refusal_precision", "over_refusal"]
    scope = ("(a metric that applies only to some items is over those: answer metrics over answerable items, "
             "refusal recall and hallucination over unanswerable ones, refusal precision over refusals)")
    labels = {"exact_match": "exact match (unanswerable: the canonical refusal)", "answer_em": "answerable: exact match", "answer_f1": "answerable: token F1",
              "refusal_recall": "refusal recall (unanswerable refused)",
              "refusal_precision": "refusal precision (refusals that were due)",
              "over_refusal": "over-refusal (answerable refused)",
              "hallucination": "hallucination (unanswerable answered)"}

    def score(self, raw: str, expected: str, category: str = "all") -> dict:
        pred = raw.strip()
        refused, due = is_refusal(pred), expected.strip() == REFUSAL
        em = exact_match(pred, expected)  # for an unanswerable item: the canonical refusal itself
        scores = {
            "exact_match": em,
            "answer_em": None if due else (em and not refused),
            "answer_f1": None if due else (0.0 if refused else token_f1(pred, expected)),
            "refusal_recall": refused if due else None,
            "refusal_precision": due if refused else None,
            "over_refusal": None if due else refused,
            "hallucination": (not refused) if due else None,
        }
        return {"prediction": pred, "refused": refused, "scores": scores, "exact_match": em}

    @staticmethod
    def error_type(verdict: dict) -> str:
        """What a wrong answer got wrong (mined preference pairs are counted by it)."""
        s = verdict["scores"]
        if s["over_refusal"]:
            return "over-refusal"
        return "hallucination" if s["hallucination"] else "wrong answer"

    @staticmethod
    def reward(verdict: dict, weights: dict[str, float] | None = None) -> float:
        """In [0, 1]: an unanswerable item 1 for the refusal, 0 otherwise; an answerable one its answer's
        token F1, 0 when refused (over-refusal and hallucination both cost the whole reward)."""
        s = verdict["scores"]
        if s["refusal_recall"] is not None:
            return float(s["refusal_recall"])
        return float(s["answer_f1"])

    def grammars(self, categories: list[str], expected: list[str]) -> list[None]:
        return [None] * len(expected)

    def details(self, verdicts: list[dict], expected: list[str]) -> dict:
        table = {"answerable": {"answered": 0, "refused": 0}, "unanswerable": {"answered": 0, "refused": 0}}
        for v, e in zip(verdicts, expected):
            table["unanswerable" if e.strip() == REFUSAL else "answerable"]["refused" if v["refused"] else "answered"] += 1
        return {"refusals": {"kind": "refusals", "n": len(verdicts), "table": table}}


def _no_generator(n: int, split: str, seed: int):
    from lorakit.errors import ConfigError

    raise ConfigError("policy_qa data comes from PDFs: set data.options.pdf (see examples/policy-qa.yaml); "
                      "`lorakit run` parses, synthesizes, gates and splits it")


def _build_data(cfg, data_dir):
    """Train and eval files from the PDFs of ``data.options``; ``data.eval_file``: your own questions instead."""
    from pathlib import Path

    from lorakit.data.pdf.dataset import build_policy_data

    train_file, eval_file = build_policy_data(cfg, data_dir, TASK.options(cfg.data.options), TRAIN_PROMPT)
    return train_file, Path(cfg.data.eval_file) if cfg.data.eval_file else eval_file


def _grounded(cfg) -> None:
    from lorakit.errors import ConfigError

    if TASK.options(cfg.data.options).mode != "grounded":
        raise ConfigError("retrieval feeds excerpts to a grounded model; this run is closed_book (data.options.mode), "
                          "its model answers from the question alone: use eval.context: given")


def _retrieve_eval(cfg, data_dir, items, k):
    """Every item's question on the top-k retrieved excerpts; wrong-excerpt items are left out (their refusal is
    due to the excerpt they were shown with); recall@k over the answerable items."""
    from lorakit.data.pdf.retrieve import retrieved_eval

    _grounded(cfg)
    return retrieved_eval(data_dir, items, k, skip_categories=("wrong_excerpt",), measure=("answerable",))


def _ground(cfg, data_dir, question, k):
    """The top-k excerpts of the run's chunks for ``question``, and their heading paths; a message that already
    carries its excerpts (the training format: a client that found them itself) comes back unchanged, with None."""
    from lorakit.data.pdf.retrieve import DocumentIndex, split_message

    _grounded(cfg)
    if split_message(question)[1]:
        return question, None
    message, found = DocumentIndex.from_dir(data_dir).ground(question, k)
    return message, [" > ".join(c["headings"]) for c in found]


TASK = Task(
    name="policy_qa",
    schema={},
    train_prompt=TRAIN_PROMPT,
    full_prompt=FULL_PROMPT,
    generate=_no_generator,
    output="text",
    make_scorer=lambda answers, groups: PolicyQAScorer(),
    build_data=_build_data,
    options_model=PdfQAOptions,
    retrieve_eval=_retrieve_eval,
    ground=_ground,
)
