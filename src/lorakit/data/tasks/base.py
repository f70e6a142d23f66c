"""What a task is: its prompts, its output schema and its data generator.

Support-ticket JSON, policy QA and finance are tasks on one engine; evaluation derives
its field metrics from the task's JSON Schema, so a new task needs no new metric code.
"""

from __future__ import annotations

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
    # robustness suite: attack name -> (message -> attacked message); None: the generic attacks
    # (lorakit.data.tasks.attacks); a task adds the ones that name its fields or paste its format
    attacks: dict[str, Callable[[str], str]] | None = None

    def render_output(self, obj: Any) -> str:
        """The assistant text for an expected output: compact JSON, keys in schema order (text: as is)."""
        import json

        if self.output == "text":
            return str(obj)
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))

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

    def robustness_attacks(self) -> dict[str, Callable[[str], str]]:
        from lorakit.data.tasks.attacks import GENERIC_ATTACKS

        return self.attacks if self.attacks is not None else GENERIC_ATTACKS
