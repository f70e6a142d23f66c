"""An optional LLM judge through any OpenAI-compatible endpoint (``eval.judge``).

Each answer is graded 0-10 against the reference by the judge model, which must reply with JSON
``{"score": 0..10, "reason": "..."}`` (requested as a ``response_format`` JSON schema, then
validated; a reply that does not validate counts as no score). Replies are cached on disk by the
hash of (judge model, prompt), so re-running an evaluation asks the judge nothing new. The score
joins the other metrics as ``judge_score`` (score / 10, averaged over the items that got one).
"""

from __future__ import annotations

from pathlib import Path

from lorakit.clients.openai_compat import CachedJSON, RemoteModel, endpoint_model, parse_json
from lorakit.rundir import RunDir

SCHEMA = {"type": "object", "properties": {"score": {"type": "integer", "minimum": 0, "maximum": 10},
                                           "reason": {"type": "string", "maxLength": 300}},
          "required": ["score", "reason"], "additionalProperties": False}

PROMPT = """You grade an answer against a reference answer. Score 10 when the answer is correct and says what the
reference says (wording may differ), 0 when it is wrong, unsupported or off-topic, and in between for partly
right answers. Reply with JSON only: {{"score": <0-10>, "reason": "<one sentence>"}}.

Question:
{question}

Reference answer:
{reference}

Answer to grade:
{answer}"""


class Judge:
    def __init__(self, model: RemoteModel, cache_file: str | Path):
        self.calls = CachedJSON(model, cache_file, SCHEMA)

    @staticmethod
    def parse(text: str) -> dict | None:
        """The reply as ``{"score", "reason"}``, or None when it does not follow the schema."""
        return parse_json(text, SCHEMA)

    def grade(self, questions: list[str], references: list[str], answers: list[str]) -> list[dict | None]:
        return self.calls.ask([PROMPT.format(question=q, reference=r, answer=a)
                               for q, r, a in zip(questions, references, answers)])


def judge_from_config(cfg) -> Judge | None:
    if cfg.eval.judge is None:
        return None
    return Judge(endpoint_model(cfg.eval.judge), RunDir(cfg.output_dir).judge_cache)
