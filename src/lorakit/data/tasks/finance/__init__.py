"""Third reference task: financial reasoning with computed answers, checked exactly.

Responses are step lines ``Name = expression = value`` and a final ``Answer: <number>``.
Metrics (per problem type through the category tag):

- ``format``: the last line is ``Answer: <number>``;
- ``numeric_accuracy``: the answer is within 0.5% of the reference's: the ``Answer:`` number, or for
  a response without one the last number it writes (so format and arithmetic are measured apart);
- ``steps_consistent``: there is at least one step and every step's value is its expression
  recomputed (within 0.5%): the model's arithmetic is honest;
- ``answer_from_steps``: the model's steps executed by a calculator (see
  :func:`~lorakit.data.tasks.finance.calc.recompute`) give the right answer: the method is
  right even where a 135M model cannot multiply in its head;
- token F1 against the reference text, for comparability with other free-text tasks.
"""

from __future__ import annotations

from lorakit.data.tasks.base import Task
from lorakit.data.tasks.finance.calculator import CalculatorLogitsProcessor
from lorakit.data.tasks.finance.calc import close, final_answer, last_number, recompute
from lorakit.data.tasks.finance.generator import generate_split
from lorakit.data.tasks.text_metrics import token_f1

TRAIN_PROMPT = "Solve the finance problem step by step."

FULL_PROMPT = """You solve financial calculation problems. Write each calculation step on its own line as
Name = arithmetic expression = value
using only numbers and + - * / ^ ( ) in the expression (rates as decimals, 5% is 0.05), then end with one final line
Answer: <number rounded to 2 decimals, no units>
Example:
Question: A price went from $200 to $250. What is the percent change?
Percent change = (250 - 200) / 200 * 100 = 25
Answer: 25.00"""


class FinanceScorer:
    output = "text"
    rel_tol = 0.005
    focus = ["numeric_accuracy", "answer_from_steps", "format", "steps_consistent"]
    scope = ""
    labels = {"format": "format adherence (Answer: line)",
              "numeric_accuracy": "numeric accuracy (final number, 0.5% tolerance)",
              "steps_consistent": "steps consistent (every step recomputes)",
              "answer_from_steps": "answer from the steps (recomputed by calculator)"}

    def score(self, raw: str, expected: str, category: str = "all") -> dict:
        truth = final_answer(expected)
        stated = last_number(raw)
        consistent, from_steps = recompute(raw)
        scores = {
            "format": final_answer(raw) is not None,
            "numeric_accuracy": close(stated, truth, self.rel_tol),
            "steps_consistent": consistent,
            "answer_from_steps": close(from_steps, truth, self.rel_tol),
            "token_f1": token_f1(raw, expected),
        }
        return {"prediction": raw.strip(), "stated_answer": stated, "steps_answer": from_steps,
                "reference_answer": truth, "scores": scores, "exact_match": scores["numeric_accuracy"]}

    @staticmethod
    def reward(verdict: dict, weights: dict[str, float] | None = None) -> float:
        """In [0, 1]: numeric correctness 0.6, steps that recompute 0.2, the final-answer format 0.1, the
        steps' own result right 0.1 (``weights`` may name these metrics with other weights)."""
        w = {"numeric_accuracy": 0.6, "steps_consistent": 0.2, "format": 0.1, "answer_from_steps": 0.1,
             **(weights or {})}
        s = verdict["scores"]
        return sum(v * float(bool(s.get(m))) for m, v in w.items()) / sum(w.values())

    def grammars(self, categories: list[str], expected: list[str]) -> list[None]:
        return [None] * len(expected)

    def details(self, verdicts: list[dict], expected: list[str]) -> dict:
        return {}


TASK = Task(
    name="finance",
    schema={},
    train_prompt=TRAIN_PROMPT,
    full_prompt=FULL_PROMPT,
    generate=lambda n, split, seed: generate_split(n, split, seed),
    output="text",
    make_scorer=lambda answers, groups: FinanceScorer(),
    decoders={"calculator": CalculatorLogitsProcessor},
)
