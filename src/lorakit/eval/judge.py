"""An optional LLM judge through any OpenAI-compatible endpoint (``eval.judge``).

Each answer is graded 0-10 against the reference by the judge model, which must reply with JSON
``{"score": 0..10, "reason": "..."}`` (requested as a ``response_format`` JSON schema, then
validated; a reply that does not validate counts as no score). Replies are cached on disk by the
hash of (judge model, prompt), so re-running an evaluation asks the judge nothing new. The score
joins the other metrics as ``judge_score`` (score / 10, averaged over the items that got one).
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

from lorakit.eval.remote import RemoteModel

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
        self.model, self.cache_file = model, Path(cache_file)
        self.cache: dict[str, dict] = {}
        self.lock = threading.Lock()
        if self.cache_file.is_file():
            for line in self.cache_file.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    entry = json.loads(line)
                    self.cache[entry["key"]] = entry["reply"]

    def _key(self, prompt: str) -> str:
        return hashlib.sha256(f"{self.model.model}\n{prompt}".encode()).hexdigest()

    @staticmethod
    def parse(text: str) -> dict | None:
        """The reply as ``{"score", "reason"}``, or None when it does not follow the schema."""
        from jsonschema import ValidationError, validate

        try:
            reply = json.loads(text)
            validate(reply, SCHEMA)
        except (json.JSONDecodeError, ValidationError):
            return None
        return reply

    def grade(self, questions: list[str], references: list[str], answers: list[str]) -> list[dict | None]:
        prompts = [PROMPT.format(question=q, reference=r, answer=a) for q, r, a in zip(questions, references, answers)]
        todo = [p for p in dict.fromkeys(prompts) if self._key(p) not in self.cache]
        if todo:
            replies = self.model.generate([[{"role": "user", "content": p}] for p in todo], max_new_tokens=256,
                                          schema=SCHEMA)
            with self.lock, self.cache_file.open("a", encoding="utf-8") as f:  # append-only: a kill loses nothing
                for p, text in zip(todo, replies):
                    entry = {"key": self._key(p), "reply": self.parse(text) or {"invalid": text[:300]}}
                    self.cache[entry["key"]] = entry["reply"]
                    f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        out = []
        for p in prompts:
            reply = self.cache[self._key(p)]
            out.append(reply if "score" in reply else None)
        return out


def judge_from_config(cfg) -> Judge | None:
    import os

    j = cfg.eval.judge
    if j is None:
        return None
    model = RemoteModel(j.base_url, j.model, os.environ.get(j.api_key_env) or None, j.concurrency, j.timeout_s)
    return Judge(model, Path(cfg.output_dir) / "judge_cache.jsonl")
