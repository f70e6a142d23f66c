"""The ``openai`` eval backend: the same prompts and metrics, answered by any OpenAI-compatible endpoint.

lorakit's own ``serve``, vLLM (``--enable-lora``), Ollama or a hosted API: each item is one
``POST {base_url}/chat/completions`` at temperature 0, a few in flight at once, retried with
backoff on 429 / 5xx / connection errors. The ``constrained`` arm sends the task's schema as
``response_format: json_schema`` (OpenAI, vLLM, llama.cpp's ``llama-server``, lorakit). Servers
that know only ``json_object`` with a ``schema`` beside it (llama-cpp-python's ``llama_cpp.server``,
Anyscale-style) refuse that; with ``response_format: auto`` the client then sends the schema that
way, says so once in the log, and keeps doing so for that endpoint. llama-cpp-python 0.3.36 refuses
with a 500 whose body names ``response_format`` (a validation error it does not map to 422): that
answer is taken as the refusal at once, not retried as a server failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import logging

from lorakit.errors import EvalError

logger = logging.getLogger(__name__)
RETRIES = 4


def response_format(schema: dict, style: str) -> dict:
    """The ``response_format`` of a request for ``schema``: OpenAI's ``json_schema``, or ``json_object`` +
    ``schema`` (the form llama-cpp-python's server reads)."""
    if style == "json_object":
        return {"type": "json_object", "schema": schema}
    return {"type": "json_schema", "json_schema": {"name": "lorakit_task", "schema": schema, "strict": True}}


def _names_response_format(response) -> bool:
    """A 5xx that is the server refusing the response_format (llama-cpp-python 0.3.36), not a failure to retry."""
    return "response_format" in response.text


@dataclass
class RemoteModel:
    base_url: str
    model: str
    api_key: str | None
    concurrency: int = 8
    timeout_s: float = 120.0
    schema_style: str = "auto"  # auto (json_schema, then json_object + schema if refused), json_schema, json_object
    extra_body: dict | None = None  # a server's own request fields (llama.cpp: repeat_penalty)

    def complete(self, client, messages: list[dict], max_tokens: int, schema: dict | None) -> str:
        return self.reply(client, messages, max_tokens, schema)[0]

    def reply(self, client, messages: list[dict], max_tokens: int, schema: dict | None) -> tuple[str, str | None]:
        """The reply's text and its ``finish_reason`` ("length": the server stopped it at ``max_tokens``)."""
        body = {"model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": 0,
                **(self.extra_body or {})}
        if schema is None:
            return self._post(client, body)
        style = "json_schema" if self.schema_style == "auto" else self.schema_style
        probing = self.schema_style == "auto"
        try:
            return self._post(client, {**body, "response_format": response_format(schema, style)},
                              refused=_names_response_format if probing else None)
        except EvalError as e:
            if self.schema_style != "auto" or "response_format" not in str(e):
                raise
            logger.warning("%s refused response_format json_schema; sending the schema as json_object + schema "
                           "(the llama-cpp-python server's form) from now on", self.base_url)
            self.schema_style = "json_object"
            return self._post(client, {**body, "response_format": response_format(schema, "json_object")})

    def _post(self, client, body: dict, refused=None) -> tuple[str, str | None]:
        """The reply's text and finish_reason; retried on 408 / 429 / 5xx / connection errors, unless
        ``refused(response)`` says the answer refuses the request itself (then retrying cannot help)."""
        import httpx

        delay = 0.5
        for attempt in range(RETRIES):
            try:
                r = client.post(f"{self.base_url.rstrip('/')}/chat/completions", json=body)
            except httpx.TransportError as e:
                err = f"cannot reach {self.base_url}: {e}"
            else:
                if r.status_code == 200:
                    choice = r.json()["choices"][0]
                    return choice["message"]["content"] or "", choice.get("finish_reason")
                err = f"{self.base_url} answered {r.status_code}: {r.text[:300]}"
                if (r.status_code not in (408, 429) and r.status_code < 500) or (refused and refused(r)):
                    raise EvalError(err)  # the request is wrong: retrying cannot help
            if attempt < RETRIES - 1:
                time.sleep(delay)
                delay *= 2
        raise EvalError(err + f" (after {RETRIES} attempts)")

    def generate(self, conversations: list[list[dict]], *, max_new_tokens: int, schema: dict | None = None,
                 on_item=None, on_reply=None, cut: set[int] | None = None) -> list[str]:
        """The replies, in order. ``on_item(1)`` after each (progress); ``on_reply(i, text)`` with each as it comes,
        so a caller can keep what was paid for before a later request fails or the process is killed. ``cut``
        receives the index of every reply the server stopped at ``max_new_tokens`` (finish_reason "length")."""
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        with httpx.Client(headers=headers, timeout=self.timeout_s) as client, \
                ThreadPoolExecutor(self.concurrency) as pool:
            def one(i, conv):
                out, finish = self.reply(client, conv, max_new_tokens, schema)
                if finish == "length" and cut is not None:
                    cut.add(i)
                if on_reply:
                    on_reply(i, out)
                if on_item:
                    on_item(1)
                return out

            return list(pool.map(one, range(len(conversations)), conversations))


def remote_model(cfg, which: str) -> RemoteModel:
    """The endpoint's model for ``which`` (base / tuned): ``eval.openai.models[which]``, else the same name."""
    o = cfg.eval.openai
    return RemoteModel(o.base_url, o.models.get(which, which), os.environ.get(o.api_key_env) or None, o.concurrency,
                       o.timeout_s, o.response_format, o.extra_body)


def endpoint_model(ep) -> RemoteModel:
    """The :class:`RemoteModel` of an :class:`~lorakit.config.EndpointConfig` (teacher, judge)."""
    return RemoteModel(ep.base_url, ep.model, os.environ.get(ep.api_key_env) or None, ep.concurrency, ep.timeout_s)


def parse_json(text: str, schema: dict) -> dict | None:
    """``text`` as JSON, or None when it is not JSON or does not follow ``schema``."""
    from jsonschema import ValidationError, validate

    try:
        reply = json.loads(text)
        validate(reply, schema)
    except (json.JSONDecodeError, ValidationError):
        return None
    return reply


class CachedJSON:
    """Prompts -> JSON replies that validate against ``schema``, cached on disk.

    The schema is sent as ``response_format`` and every reply is validated again (an endpoint may
    ignore response_format); a reply that does not validate comes back as None and is cached as
    such, so a re-run asks the endpoint nothing new. The cache is append-only JSONL keyed by the
    hash of (model, prompt): a killed run loses nothing it already paid for.
    """

    def __init__(self, model: RemoteModel, cache_file: str | Path, schema: dict, max_tokens: int = 256):
        self.model, self.cache_file, self.schema, self.max_tokens = model, Path(cache_file), schema, max_tokens
        self.cache: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.asked = 0  # prompts sent to the endpoint by this object (the rest came from the cache)
        if self.cache_file.is_file():
            for line in self.cache_file.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:  # the line a killed run was writing: asked again
                    continue
                self.cache[entry["key"]] = entry["reply"]

    def _key(self, prompt: str) -> str:
        return hashlib.sha256(f"{self.model.model}\n{prompt}".encode()).hexdigest()

    def ask(self, prompts: list[str]) -> list[dict | None]:
        todo = [p for p in dict.fromkeys(prompts) if self._key(p) not in self.cache]
        if todo:
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)

            def keep(i: int, text: str) -> None:  # each reply on disk as it comes: a kill loses only those pending
                parsed = parse_json(text, self.schema)
                entry = {"key": self._key(todo[i]),
                         "reply": {"ok": parsed} if parsed is not None else {"invalid": text[:300]}}
                with self.lock, self.cache_file.open("a", encoding="utf-8") as f:
                    self.cache[entry["key"]] = entry["reply"]
                    self.asked += 1
                    f.write(json.dumps(entry, ensure_ascii=False) + "\n")

            self.model.generate([[{"role": "user", "content": p}] for p in todo], max_new_tokens=self.max_tokens,
                                schema=self.schema, on_reply=keep)
        return [self.cache[self._key(p)].get("ok") for p in prompts]
