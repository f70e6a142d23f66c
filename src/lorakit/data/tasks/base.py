"""What a task is: its prompts, its output schema and its data generator.

Support-ticket JSON, policy QA and finance are tasks on one engine; evaluation derives
its field metrics from the task's JSON Schema, so a new task needs no new metric code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any, Literal, Protocol


class Generator(Protocol):
    def __call__(self, n: int, split: str, seed: int) -> list[tuple[str, Any, str]]:
        """``n`` rows of ``(user_message, expected_output, category)``."""


@dataclass(frozen=True)
class Task:
    name: str
    schema: dict
    train_prompt: str  # short system prompt the adapter is trained with
    full_prompt: str  # full instruction for a model with no adapter
    generate: Generator
    empty_answer: Any = None  # the expected output for an empty message (robustness suite); None: not tested
    output: Literal["json", "text"] = "json"  # json: scored against ``schema``; text: by ``make_scorer``
    # text tasks: (all expected answers, their category tags) -> a scorer (see lorakit.data.tasks.text_metrics)
    make_scorer: Callable[[list[str], list[str]], Any] | None = None
    # extra decoding modes: name -> (tokenizer, prompt length) -> a transformers logits processor
    decoders: dict[str, Callable[[Any, int], Any]] | None = None
    # a task that makes its own data (not rows from ``generate``): (RunConfig, run data folder) ->
    # (train file, eval file); policy QA builds them from PDFs. None: generated, or the user's files.
    build_data: Callable[[Any, Any], tuple[Any, Any]] | None = None
    # robustness suite: attack name -> (message -> attacked message); None: the generic attacks for JSON tasks
    # (lorakit.data.tasks.attacks); a task adds the ones that name its fields or paste its format
    attacks: dict[str, Callable[[str], str]] | None = None
    # the task's own options (``data.options``): a pydantic model, unknown keys rejected; None: it takes none
    options_model: type | None = None
    # a task that answers from documents: ``eval.context: retrieved``, (RunConfig, run data folder, items, k) ->
    # (indices kept, those items on retrieved excerpts, a record with recall@k and what was left out)
    retrieve_eval: Callable[..., tuple[list[int], list, dict]] | None = None
    # ``lorakit ask`` and ``lorakit serve``: (RunConfig, run data folder, question, k) -> (user message, its sources);
    # a message that already carries its excerpts comes back as it is, with sources None
    ground: Callable[..., tuple[str, list[str] | None]] | None = None

    @property
    def response_schema(self) -> dict | None:
        """The JSON Schema every answer must follow (constrained decoding, ``response_format``, the token
        budget check, stopping early on non-JSON); None for a free-text task."""
        return self.schema if self.output == "json" else None

    def render_output(self, obj: Any) -> str:
        """The assistant text for an expected output: compact JSON, keys in schema order (text: as is)."""
        if self.response_schema is None:
            return str(obj)
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))

    def parse_expected(self, answer: str) -> Any:
        """A row's expected output from its assistant message; ValueError when this task cannot score it."""
        if self.response_schema is None:
            return answer
        try:
            return json.loads(answer)
        except json.JSONDecodeError:
            raise ValueError("the assistant message is not the expected JSON") from None

    @property
    def scorer_reads_train(self) -> bool:
        """Whether :meth:`scorer` wants the train split's answers too (a text scorer detects label sets on them)."""
        return self.make_scorer is not None

    def scorer(self, answers: list[str], groups: list[str]):
        """This task's scorer: its own ``make_scorer``, else the JSON Schema scorer.

        ``answers`` and ``groups``: every known expected answer (as text) and its category (eval items, then
        train rows when :attr:`scorer_reads_train`).
        """
        if self.make_scorer is not None:
            return self.make_scorer(answers, groups)
        from lorakit.data.tasks.json_metrics import Scorer

        return Scorer(self.schema)

    def grammars(self, scorer, categories: list[str], expected: list) -> str | list[str | None]:
        """What constrained decoding holds answers to: the JSON Schema, else the scorer's grammar per item."""
        if self.response_schema is not None:
            from lorakit.generation.constrained import compile_schema

            return compile_schema(self.response_schema)
        return scorer.grammars(categories, expected)

    def format_prediction(self, answer: str) -> dict:
        """One ``lorakit predict`` output: the parsed JSON object (or the error and raw text), or ``{"answer"}``."""
        if self.response_schema is None:
            return {"answer": answer}
        from lorakit.data.tasks.json_metrics import parse_output

        obj, err = parse_output(answer)
        return obj if err is None else {"error": err, "raw": answer}

    def prompt(self, ex, which: str, mode: str = "auto", tuned_system: str | None = None) -> list[dict]:
        """The messages model ``which`` ('base' or 'tuned') is asked ``ex`` (a ChatExample) with.

        ``mode`` 'auto': the base model gets the full instruction, the tuned one the system prompt it
        was trained with (``tuned_system``, else the task's); 'file' (or a task without prompts, such
        as free text): the row's own system message for both.
        """
        if mode == "file" or not (self.train_prompt or self.full_prompt):
            return ex.prompt_messages(ex.system)
        return ex.prompt_messages(self.full_prompt if which == "base" else (tuned_system or self.train_prompt))

    def decodings(self, local: bool = True) -> list[str]:
        """The decoding modes this task offers: free, constrained and its own (those need local weights)."""
        return ["free", "constrained"] + (list(self.decoders or {}) if local else [])

    def check_decodings(self, wanted: list[str], local: bool = True) -> None:
        """A ConfigError naming every decoding mode in ``wanted`` this task does not offer (before anything runs)."""
        from lorakit.errors import ConfigError

        offered = self.decodings(local)
        bad = [d for d in wanted if d not in offered]
        if bad:
            where = "" if local else " with eval.backend=openai (task decoders need local weights)"
            raise ConfigError(f"eval.decoding: {', '.join(map(repr, bad))} not offered by task {self.name}{where}; "
                              f"choose from {', '.join(offered)}")

    def options(self, raw: dict | None) -> Any:
        """``data.options`` validated by :attr:`options_model`; a ConfigError listing every bad key at once."""
        from pydantic import ValidationError

        from lorakit.config import format_errors
        from lorakit.errors import ConfigError

        if self.options_model is None:
            if raw:
                raise ConfigError(f"data.options: task {self.name} takes no options (got {', '.join(map(str, raw))}); "
                                  "remove them")
            return None
        try:
            return self.options_model.model_validate(raw or {})
        except ValidationError as e:
            raise ConfigError(format_errors(e, f"data.options of task {self.name}", prefix="data.options")) from None

    def check(self, cfg) -> None:
        """Everything about ``cfg`` (a RunConfig) this task can refuse, before anything runs: its options and
        the decoding modes asked of it."""
        self.options(cfg.data.options)
        self.check_decodings(cfg.eval.decoding, local=cfg.eval.backend == "local")
        self.check_context(cfg.eval.context)

    def check_context(self, context: str) -> None:
        """A ConfigError for ``eval.context: retrieved`` on a task that does not answer from documents."""
        from lorakit.errors import ConfigError

        if context == "retrieved" and self.retrieve_eval is None:
            raise ConfigError(f"eval.context: retrieved needs a task that answers from documents; task {self.name} "
                              "has no retrieval (Task.retrieve_eval); use eval.context: given")

    def robustness_attacks(self) -> dict[str, Callable[[str], str]]:
        """The task's attacks; unset: the generic ones for a JSON task, none for free text (no suite)."""
        from lorakit.data.tasks.attacks import GENERIC_ATTACKS

        if self.attacks is not None:
            return self.attacks
        return GENERIC_ATTACKS if self.response_schema is not None else {}
