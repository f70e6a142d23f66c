"""The real server over HTTP on loopback (uvicorn in a thread), the tiny model behind it."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def client(server, api_key):
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {api_key}"}, timeout=120) as c:
        yield c


def chat(client, **body):
    body.setdefault("model", "ticket")
    body.setdefault("messages", [{"role": "user", "content": "my order ORD-12345 never arrived"}])
    return client.post("/v1/chat/completions", json=body)


def test_health_models_and_a_plain_completion(client):
    assert client.get("/health").json()["status"] == "ok"
    ids = [m["id"] for m in client.get("/v1/models").json()["data"]]
    assert {"base", "ticket", "other"} <= set(ids)
    r = chat(client, max_tokens=8)
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "chat.completion" and body["choices"][0]["message"]["role"] == "assistant"
    assert body["usage"]["completion_tokens"] <= 8 and body["choices"][0]["finish_reason"] in ("stop", "length")


def test_json_schema_responses_always_validate(client):
    from jsonschema import validate

    from lorakit.data.tasks import get_task

    schema = get_task("support_ticket").schema
    for i, model in enumerate(["ticket", "base", "other"]):
        fmt = {"type": "json_schema", "json_schema": {"name": "support_ticket"}} if i % 2 else \
            {"type": "json_schema", "json_schema": {"name": "t", "schema": schema, "strict": True}}
        r = chat(client, model=model, max_tokens=512, response_format=fmt)
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["finish_reason"] == "stop"  # the grammar ended it, not the token limit
        content = r.json()["choices"][0]["message"]["content"]
        validate(json.loads(content), schema)
    r = chat(client, max_tokens=512, response_format={"type": "json_object"})
    choice = r.json()["choices"][0]
    assert choice["message"]["content"].startswith("{")
    if choice["finish_reason"] == "stop":  # the random tiny model may ramble inside a key until the limit
        assert isinstance(json.loads(choice["message"]["content"]), dict)


def test_a_small_budget_still_gets_valid_json_and_a_too_small_one_a_400(client):
    """Unbounded strings and arrays: the decoder closes the answer inside max_tokens."""
    from jsonschema import validate

    schema = {"type": "object", "required": ["note", "tags"], "properties": {
        "note": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}}}
    fmt = {"type": "json_schema", "json_schema": {"name": "s", "schema": schema}}
    for model in ("base", "ticket"):
        r = chat(client, model=model, max_tokens=12, response_format=fmt)
        assert r.status_code == 200, r.text
        validate(json.loads(r.json()["choices"][0]["message"]["content"]), schema)
        assert r.json()["usage"]["completion_tokens"] <= 12
    r = chat(client, max_tokens=3, response_format=fmt)
    assert r.status_code == 400 and r.json()["error"]["param"] == "max_tokens"
    assert "max_tokens >= " in r.json()["error"]["message"]


def test_96_concurrent_requests_from_16_clients_all_answer_their_own_question(server, api_key):
    """Each request's schema admits exactly one answer, unique to it: a batching mix-up cannot pass."""
    batches_before = server.engine.batches

    def one(i: int) -> tuple[int, int, str]:
        schema = {"type": "object", "properties": {"id": {"const": f"req-{i}"}}, "required": ["id"],
                  "additionalProperties": False}
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {api_key}"}, timeout=300) as c:
            r = chat(c, model=["ticket", "other", "base"][i % 3], max_tokens=24,
                     messages=[{"role": "user", "content": f"request {i}"}],
                     response_format={"type": "json_schema", "json_schema": {"name": "r", "schema": schema}})
        return i, r.status_code, r.text

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(96)))
    assert all(code == 200 for _, code, _ in results), [t for _, c, t in results if c != 200][:3]
    for i, _, text in results:
        assert json.loads(json.loads(text)["choices"][0]["message"]["content"]) == {"id": f"req-{i}"}
    assert server.engine.batches - batches_before < 96  # requests were batched together


def test_streaming_yields_the_same_text_as_a_plain_request(client):
    plain = chat(client, max_tokens=16).json()["choices"][0]["message"]["content"]
    deltas, finish = [], None
    with client.stream("POST", "/v1/chat/completions", json={
            "model": "ticket", "max_tokens": 16, "stream": True,
            "messages": [{"role": "user", "content": "my order ORD-12345 never arrived"}]}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        lines = [ln for ln in r.iter_lines() if ln.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    for ln in lines[:-1]:
        choice = json.loads(ln[6:])["choices"][0]
        deltas.append(choice["delta"].get("content", ""))
        finish = choice["finish_reason"] or finish
    assert "".join(deltas) == plain and finish in ("stop", "length")


def test_stop_sequences_cut_the_answer(client):
    full = chat(client, max_tokens=16).json()["choices"][0]["message"]["content"]
    if len(full) < 4:
        pytest.skip("the tiny model answered too little to cut")
    stop = full[2:4]
    cut = chat(client, max_tokens=16, stop=[stop]).json()["choices"][0]
    assert cut["message"]["content"] == full[:full.find(stop)] and cut["finish_reason"] == "stop"


def test_the_api_key_is_required_when_set(server):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic test-key-123"}):
        r = httpx.post(f"{server.url}/v1/chat/completions", headers=headers,
                       json={"model": "base", "messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert httpx.get(f"{server.url}/v1/models").status_code == 401
    assert httpx.get(f"{server.url}/health").status_code == 200


@pytest.mark.parametrize("name", ["../other", "..", "other/../../x", "/etc/passwd", "%2e%2e", ".hidden", "a" * 200,
                                  "other/adapter"])
def test_adapter_names_cannot_reach_outside_the_folder(client, name):
    r = chat(client, model=name)
    assert r.status_code in (400, 404) and "error" in r.json()


@pytest.mark.parametrize("body,status,param", [
    ({"model": "base", "messages": []}, 400, "messages"),
    ({"model": "base", "messages": [{"role": "user", "content": "x"}] * 9}, 400, "messages"),
    ({"model": "base", "messages": [{"role": "user", "content": "x"}], "max_tokens": 513}, 400, "max_tokens"),
    ({"model": "base", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, 400, "max_tokens"),
    ({"model": "base", "messages": [{"role": "robot", "content": "x"}]}, 400, "messages.0.role"),
    ({"model": "base", "messages": [{"role": "user", "content": "x"}], "n": 2}, 400, "n"),
    ({"model": "base", "messages": [{"role": "user", "content": "x"}], "temperature": 3}, 400, "temperature"),
    ({"model": "nope", "messages": [{"role": "user", "content": "x"}]}, 404, "model"),
    ({"model": "base", "messages": [{"role": "user", "content": "x"}],
      "response_format": {"type": "json_schema", "json_schema": {"name": "unknown_task"}}}, 400, "response_format"),
    ({"model": "base", "messages": [{"role": "user", "content": "x"}],
      "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {"type": "wat"}}}},
     400, "response_format"),
    ({"model": "base", "messages": [{"role": "user", "content": "x"}], "max_tokens": 5,
      "response_format": {"type": "json_schema", "json_schema": {"name": "support_ticket"}}}, 400, "max_tokens"),
])
def test_bad_requests_get_openai_shaped_4xx(client, body, status, param):
    r = client.post("/v1/chat/completions", json=body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["message"] and err["type"] and (err["param"] or "").startswith(param)


def test_malformed_and_oversized_bodies(client):
    r = client.post("/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "error" in r.json()
    r = client.post("/v1/chat/completions", json={"model": "base", "messages": [{"role": "user", "content": "x" * 30_000}]})
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"

    def chunks():
        for _ in range(30):
            yield b" " * 1000
    r = client.post("/v1/chat/completions", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert client.get("/v1/nothing").status_code == 404 and "error" in client.get("/v1/nothing").json()
    assert client.get("/health").status_code == 200  # the worker survived all of it


def test_a_damaged_adapter_in_the_folder_is_a_4xx_and_the_server_goes_on(server, client, trained_run):
    import shutil

    run_dir, _ = trained_run
    broken = server.engine.adapter_dir / "broken"
    shutil.copytree(run_dir / "adapter", broken)
    weights = broken / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    r = chat(client, model="broken", max_tokens=4)
    assert r.status_code == 400 and r.json()["error"]["code"] == "model_unavailable"
    assert "adapter_model.safetensors is damaged" in r.json()["error"]["message"]
    assert chat(client, model="other", max_tokens=4).status_code == 200
    shutil.rmtree(broken)
