"""The OpenAI-compatible HTTP API of ``lorakit serve`` (FastAPI).

``POST /v1/chat/completions`` (streaming too), ``GET /v1/models``, ``GET /health``. A model whose run answers
from documents (grounded policy QA) retrieves the excerpts of a question sent without them and returns their
heading paths as ``sources`` beside OpenAI's fields (in the first chunk when streaming). Every bad
request gets a 4xx JSON error in OpenAI's shape ``{"error": {"message", "type", "param", "code"}}``;
an API key (``Authorization: Bearer``) is required when one is configured; bodies, messages and
``max_tokens`` are limited.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal

from fastapi import Request  # module level: the route signatures below are resolved by name
from pydantic import BaseModel, ConfigDict, Field, field_validator

from lorakit.errors import LorakitError
from lorakit.serve.engine import Engine, Job


@dataclass
class Limits:
    max_body_bytes: int = 1_000_000
    max_messages: int = 64
    max_tokens: int = 1024  # the largest max_tokens a request may ask for
    default_max_tokens: int = 256
    max_content_chars: int = 100_000


class TextPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["text"]
    text: str


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant", "developer"]
    content: str | list[TextPart]

    def text(self) -> str:
        return self.content if isinstance(self.content, str) else "".join(p.text for p in self.content)


class JsonSchemaSpec(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field("response", max_length=64)
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None


class ResponseFormat(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaSpec | None = None


class ChatRequest(BaseModel):
    """The fields lorakit honours; other OpenAI fields are accepted and ignored."""

    model_config = ConfigDict(extra="ignore")
    model: str = Field(..., min_length=1, max_length=128)
    messages: list[Message] = Field(..., min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    n: int | None = Field(None, ge=1, le=1)
    stream: bool | None = False
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    response_format: ResponseFormat | None = None

    @field_validator("stop")
    @classmethod
    def _stop(cls, v):
        if isinstance(v, str):
            v = [v]
        if v and any(not s or len(s) > 64 for s in v):
            raise ValueError("each stop sequence must have 1 to 64 characters")
        return v


class APIError(Exception):
    def __init__(self, status: int, message: str, type_: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code


def error_body(message: str, type_: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


_SCALAR = [{"type": "string", "maxLength": 200}, {"type": "number"}, {"type": "boolean"}, {"type": "null"}]
# "any JSON object", bounded so a model cannot ramble until max_tokens: up to 32 keys whose values are
# scalars or lists of scalars (llguidance cannot bound key length: propertyNames is not implemented)
JSON_OBJECT = {"type": "object", "maxProperties": 32, "additionalProperties": {
    "anyOf": _SCALAR + [{"type": "array", "maxItems": 32, "items": {"anyOf": _SCALAR}}]}}


@lru_cache(maxsize=64)
def _grammar(schema_json: str) -> str:
    from lorakit.generation.constrained import compile_schema

    return compile_schema(json.loads(schema_json))


def grammar_for(fmt: ResponseFormat | None) -> str | None:
    """The llguidance grammar a ``response_format`` asks for (None: free text)."""
    from lorakit.errors import LorakitError

    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        schema: dict = JSON_OBJECT
    else:
        spec = fmt.json_schema
        if spec is None:
            raise APIError(400, "response_format json_schema needs a json_schema object", param="response_format")
        schema = spec.schema_ if spec.schema_ is not None else _task_schema(spec.name)
    try:
        return _grammar(json.dumps(schema))  # not sort_keys: property order is the answer's key order
    except (LorakitError, ValueError, TypeError, RecursionError) as e:
        raise APIError(400, f"response_format schema cannot be enforced: {e}", param="response_format") from None


def _check_budget(job: Job, need: int) -> None:
    """A 400 when ``max_tokens`` cannot hold even the shortest answer the response_format allows."""
    if job.max_tokens < need:
        raise APIError(400, f"max_tokens {job.max_tokens} cannot hold the shortest answer this response_format "
                            f"allows ({need} tokens with this model's tokenizer, as the decoder closes it); "
                            f"ask for max_tokens >= {need}",
                       param="max_tokens")


def _task_schema(name: str) -> dict:
    from lorakit.data.tasks import get_task, task_names

    schema = get_task(name).response_schema if name in task_names() else None
    if schema is None:
        raise APIError(400, f"response_format.json_schema has no schema and {name!r} is not a lorakit task with a "
                            "schema; send a schema or name one of: "
                            + ", ".join(n for n in task_names() if get_task(n).response_schema is not None),
                       param="response_format")
    return schema


MIN_TEMPERATURE = 0.01


def _temperature(t: float | None) -> float:
    """0 (greedy) for None and for temperatures so small that softmax(logits / t) overflows to inf/nan."""
    return 0.0 if t is None or t < MIN_TEMPERATURE else t


def _check_limits(req: ChatRequest, limits: Limits) -> int:
    if len(req.messages) > limits.max_messages:
        raise APIError(400, f"too many messages ({len(req.messages)}); the limit is {limits.max_messages}",
                       param="messages")
    for i, m in enumerate(req.messages):
        if len(m.text()) > limits.max_content_chars:
            raise APIError(400, f"messages[{i}] is longer than {limits.max_content_chars} characters",
                           param=f"messages[{i}].content")
    asked = req.max_completion_tokens or req.max_tokens or limits.default_max_tokens
    if asked > limits.max_tokens:
        raise APIError(400, f"max_tokens {asked} exceeds this server's limit of {limits.max_tokens}",
                       param="max_tokens")
    return asked


def create_app(engine: Engine, limits: Limits | None = None, api_key: str | None = None):
    """The FastAPI app over ``engine``; ``api_key`` (if any) is required as a Bearer token on /v1/."""
    from contextlib import asynccontextmanager

    from fastapi import FastAPI
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, StreamingResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    limits = limits or Limits()

    @asynccontextmanager
    async def lifespan(app):
        engine.queue = asyncio.Queue()  # before the first request can arrive
        task = asyncio.create_task(engine.worker())
        yield
        task.cancel()

    app = FastAPI(title="lorakit", version="0.1.0", lifespan=lifespan,
                  description="OpenAI-compatible chat completions over a base model and its LoRA adapters.")
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)

    @app.exception_handler(APIError)
    async def _api_error(request: Request, e: APIError):
        return JSONResponse(error_body(e.message, e.type, e.param, e.code), status_code=e.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'][1:]) or 'body'}: {err['msg']}"
                             for err in e.errors()[:10])
        first = e.errors()[0]["loc"][1:] if e.errors() else ()
        return JSONResponse(error_body(f"invalid request: {problems}", param=".".join(map(str, first)) or None),
                            status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(e.status_code)
        return JSONResponse(error_body(str(e.detail), code=code), status_code=e.status_code)

    @app.exception_handler(Exception)
    async def _crash(request: Request, e: Exception):  # a bug, not the client's fault: still OpenAI-shaped
        return JSONResponse(error_body(f"internal error: {type(e).__name__}", "server_error"), status_code=500)

    def authorize(request: Request) -> None:
        if api_key is None:
            return
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        if not hmac.compare_digest(token.encode(), api_key.encode()):
            raise APIError(401, "missing or invalid API key (send Authorization: Bearer <key>)",
                           "authentication_error", code="invalid_api_key")

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "base_model": engine.base_name, "adapters": sorted([*engine.loaded, *engine.heads])}

    @app.get("/v1/models")
    async def models(request: Request) -> dict:
        authorize(request)
        now = int(time.time())
        return {"object": "list", "data": [{"id": n, "object": "model", "created": now, "owned_by": "lorakit"}
                                           for n in engine.model_names()]}

    @app.post("/v1/chat/completions")
    async def chat(req: ChatRequest, request: Request):
        authorize(request)
        max_tokens = _check_limits(req, limits)
        try:
            adapter = await asyncio.to_thread(engine.resolve, req.model)
        except LorakitError as e:  # a damaged adapter in the folder: this model cannot answer, the server can
            raise APIError(400, f"model {req.model!r} cannot be loaded: {e}", param="model",
                           code="model_unavailable") from None
        if adapter is None:
            raise APIError(404, f"model {req.model!r} not found; GET /v1/models lists what this server has",
                           param="model", code="model_not_found")
        messages = [{"role": "system" if m.role == "developer" else m.role, "content": m.text()} for m in req.messages]
        sources = None
        if adapter in engine.grounding:  # a run that answers from documents finds the excerpts of a bare question
            try:
                messages, sources = await asyncio.to_thread(engine.ground, adapter, messages)
            except LorakitError as e:
                raise APIError(400, f"model {req.model!r} could not retrieve excerpts for this request: {e}",
                               param="messages") from None
        extra = {} if sources is None else {"sources": sources}  # beside OpenAI's fields; clients ignore it
        job = Job(adapter=adapter, messages=messages,
                  max_tokens=max_tokens, temperature=_temperature(req.temperature), top_p=req.top_p or 1.0,
                  stop=req.stop or [], grammar=grammar_for(req.response_format))
        if job.grammar is not None and adapter in engine.heads:
            raise APIError(400, f"model {req.model!r} is a classification head: it answers with one of its "
                           f"{len(engine.heads[adapter].labels)} labels, so response_format cannot apply; send the "
                           "request without it", param="response_format", code="response_format_unsupported")
        if job.grammar is not None:
            try:
                need = await asyncio.to_thread(engine.min_answer_tokens, job.grammar)
            except LorakitError as e:
                raise APIError(400, f"response_format schema cannot be enforced: {e}", param="response_format") from None
            _check_budget(job, need)
        cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        if req.stream:
            job.stream = asyncio.Queue()
            result = asyncio.ensure_future(engine.submit(job))
            return StreamingResponse(_sse(job, result, cid, created, req.model, extra),
                                     media_type="text/event-stream")
        r = await engine.submit(job)
        return {"id": cid, "object": "chat.completion", "created": created, "model": req.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": r["text"]},
                             "finish_reason": r["finish_reason"]}],
                "usage": {"prompt_tokens": r["prompt_tokens"], "completion_tokens": r["completion_tokens"],
                          "total_tokens": r["prompt_tokens"] + r["completion_tokens"]}, **extra}

    return app


async def _sse(job: Job, result: asyncio.Future, cid: str, created: int, model: str, first: dict | None = None):
    """The completion as server-sent events; ``first``: fields of the first chunk beside OpenAI's (its sources)."""
    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(body)}\n\n"

    yield chunk({"role": "assistant", "content": ""}, **(first or {}))
    while (delta := await job.stream.get()) is not None:
        yield chunk({"content": delta})
    try:
        r = await result
        yield chunk({}, r["finish_reason"])
    except Exception as e:  # noqa: BLE001 (reported in-stream: the status line is already sent)
        yield f"data: {json.dumps(error_body(f'generation failed: {type(e).__name__}', 'server_error'))}\n\n"
    yield "data: [DONE]\n\n"


class BodyLimit:
    """ASGI middleware: refuse bodies over ``max_bytes`` (by Content-Length, or while reading a chunked body)."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            return await self._too_large(send)
        seen = 0

        async def limited():
            from starlette.exceptions import HTTPException

            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:  # a chunked body with no Content-Length: counted as it arrives
                raise HTTPException(413, f"request body over {self.max_bytes} bytes")
            return message

        await self.app(scope, limited, send)

    async def _too_large(self, send):
        body = json.dumps(error_body(f"request body over {self.max_bytes} bytes", code="body_too_large")).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
