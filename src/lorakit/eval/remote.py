"""The ``openai`` eval backend: the same prompts and metrics, answered by any OpenAI-compatible endpoint.

lorakit's own ``serve``, vLLM (``--enable-lora``), Ollama or a hosted API: each item is one
``POST {base_url}/chat/completions`` at temperature 0, a few in flight at once, retried with
backoff on 429 / 5xx / connection errors. The ``constrained`` arm sends the task's schema as
``response_format: json_schema``.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from lorakit.errors import EvalError

RETRIES = 4


@dataclass
class RemoteModel:
    base_url: str
    model: str
    api_key: str | None
    concurrency: int = 8
    timeout_s: float = 120.0

    def complete(self, client, messages: list[dict], max_tokens: int, schema: dict | None) -> str:
        import httpx

        body = {"model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": 0}
        if schema is not None:
            body["response_format"] = {"type": "json_schema",
                                       "json_schema": {"name": "lorakit_task", "schema": schema, "strict": True}}
        delay = 0.5
        for attempt in range(RETRIES):
            try:
                r = client.post(f"{self.base_url.rstrip('/')}/chat/completions", json=body)
            except httpx.TransportError as e:
                err = f"cannot reach {self.base_url}: {e}"
            else:
                if r.status_code == 200:
                    return r.json()["choices"][0]["message"]["content"] or ""
                err = f"{self.base_url} answered {r.status_code}: {r.text[:300]}"
                if r.status_code not in (408, 429) and r.status_code < 500:
                    raise EvalError(err)  # the request is wrong: retrying cannot help
            if attempt < RETRIES - 1:
                time.sleep(delay)
                delay *= 2
        raise EvalError(err + f" (after {RETRIES} attempts)")

    def generate(self, conversations: list[list[dict]], *, max_new_tokens: int, schema: dict | None = None,
                 on_item=None) -> list[str]:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        with httpx.Client(headers=headers, timeout=self.timeout_s) as client, \
                ThreadPoolExecutor(self.concurrency) as pool:
            def one(conv):
                out = self.complete(client, conv, max_new_tokens, schema)
                if on_item:
                    on_item(1)
                return out

            return list(pool.map(one, conversations))


def remote_model(cfg, which: str) -> RemoteModel:
    """The endpoint's model for ``which`` (base / tuned): ``eval.openai.models[which]``, else the same name."""
    o = cfg.eval.openai
    return RemoteModel(o.base_url, o.models.get(which, which), os.environ.get(o.api_key_env) or None, o.concurrency,
                       o.timeout_s)
