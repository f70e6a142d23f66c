"""``eval.backend: openai`` against lorakit's own server on loopback gives the in-process metrics."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration


def test_openai_backend_matches_in_process_eval(trained_run, server, api_key, monkeypatch, tmp_path):
    from lorakit.eval.runner import evaluate

    run_dir, cfg = trained_run
    local = cfg.model_copy(deep=True)
    local.eval.limit = 4
    local.eval.decoding = ["free", "constrained"]
    local.eval.max_new_tokens = 48
    local.eval.stop_when_not_json = False  # an endpoint answers in full: compare like with like, item by item
    remote = local.model_copy(deep=True)
    remote.eval.backend = "openai"
    remote.eval.openai.base_url = f"{server.url}/v1"
    remote.eval.openai.models = {"base": "base", "tuned": "ticket"}
    remote.eval.openai.concurrency = 1  # one request per generate call, like eval.batch_size=1 in-process
    remote.eval.openai.api_key_env = "LORAKIT_TEST_CLIENT_KEY"
    monkeypatch.setenv("LORAKIT_TEST_CLIENT_KEY", api_key)

    def answers():
        return {arm: [json.loads(x)["raw_output"] for x in (run_dir / "eval" / arm / "predictions.jsonl")
                      .read_text().splitlines()] for arm in ("base", "base+constrained", "tuned", "tuned+constrained")}

    want = evaluate(local)
    want_answers = answers()
    got = evaluate(remote)
    assert answers() == want_answers  # item by item, not only on average
    assert got["backend"].startswith("openai") and "divergence" not in got
    assert set(got["models"]) == set(want["models"]) == {"base", "base+constrained", "tuned", "tuned+constrained"}
    for arm in want["models"]:
        assert got["models"][arm]["overall"] == want["models"][arm]["overall"], arm


def test_openai_backend_errors_are_clear(trained_run, server):
    from lorakit.errors import EvalError
    from lorakit.eval.runner import evaluate

    _, cfg = trained_run
    bad = cfg.model_copy(deep=True)
    bad.eval.limit = 1
    bad.eval.models = ["base"]
    bad.eval.backend = "openai"
    bad.eval.openai.base_url = f"{server.url}/v1"
    bad.eval.openai.api_key_env = "LORAKIT_NO_SUCH_KEY"
    with pytest.raises(EvalError, match="401"):
        evaluate(bad)


def test_cached_json_answers_from_disk_and_survives_a_torn_last_line(tmp_path):
    import json

    from lorakit.clients.openai_compat import CachedJSON, RemoteModel

    schema = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
    nowhere = RemoteModel("http://127.0.0.1:9/v1", "m", None, timeout_s=1)  # nothing listens on port 9
    calls = CachedJSON(nowhere, tmp_path / "c.jsonl", schema)
    lines = [json.dumps({"key": calls._key("a"), "reply": {"ok": {"x": 1}}}),
             json.dumps({"key": calls._key("b"), "reply": {"invalid": "7/10"}}),
             '{"key": "torn', ""]
    (tmp_path / "c.jsonl").write_text("\n".join(lines))
    again = CachedJSON(nowhere, tmp_path / "c.jsonl", schema)
    assert again.ask(["a", "b", "a"]) == [{"x": 1}, None, {"x": 1}] and again.asked == 0


def test_cached_json_keeps_every_reply_that_came_before_a_failure(tmp_path):
    """The cache is written reply by reply: when the endpoint fails (or the process is killed) half-way, the replies
    already paid for are on disk, and the next run asks only for the rest. (It was written once all had come.)"""
    from dataclasses import dataclass

    from lorakit.clients.openai_compat import CachedJSON, RemoteModel
    from lorakit.errors import EvalError

    @dataclass
    class Flaky(RemoteModel):
        fail_on: str = ""
        seen: tuple = ()

        def reply(self, client, messages, max_tokens, schema):
            prompt = messages[0]["content"]
            self.seen += (prompt,)
            if prompt == self.fail_on:
                raise EvalError("endpoint gone")
            return json.dumps({"x": len(prompt)}), "stop"

    schema = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
    flaky = Flaky("http://x/v1", "m", None, concurrency=1, fail_on="ccc")
    with pytest.raises(EvalError, match="endpoint gone"):
        CachedJSON(flaky, tmp_path / "c.jsonl", schema).ask(["a", "bb", "ccc", "dddd"])
    # every reply that came is on disk: a and bb before ccc failed, and dddd, already submitted to the pool
    assert len((tmp_path / "c.jsonl").read_text().splitlines()) == 3

    fixed = Flaky("http://x/v1", "m", None, concurrency=1)
    again = CachedJSON(fixed, tmp_path / "c.jsonl", schema)
    assert again.ask(["a", "bb", "ccc", "dddd"]) == [{"x": 1}, {"x": 2}, {"x": 3}, {"x": 4}]
    assert fixed.seen == ("ccc",) and again.asked == 1


def test_a_server_that_refuses_json_schema_gets_the_schema_as_json_object(caplog):
    """llama-cpp-python's server reads only {"type": "json_object", "schema": ...}; extra_body reaches it."""
    import httpx

    from lorakit.clients.openai_compat import RemoteModel

    seen = []

    def handler(request):
        body = json.loads(request.content)
        seen.append(body)
        if body.get("response_format", {}).get("type") == "json_schema":
            return httpx.Response(422, json={"detail": "response_format.type: Input should be 'text' or 'json_object'"})
        return httpx.Response(200, json={"choices": [{"message": {"content": "{}"}}]})

    model = RemoteModel("http://x/v1", "m", None, extra_body={"repeat_penalty": 1.0})
    schema = {"type": "object"}
    with httpx.Client(transport=httpx.MockTransport(handler)) as client, caplog.at_level("WARNING"):
        assert model.complete(client, [{"role": "user", "content": "hi"}], 8, schema) == "{}"
        assert model.complete(client, [{"role": "user", "content": "hi"}], 8, schema) == "{}"
    assert [b["response_format"]["type"] for b in seen] == ["json_schema", "json_object", "json_object"]
    assert seen[1]["response_format"]["schema"] == schema and all(b["repeat_penalty"] == 1.0 for b in seen)
    assert caplog.text.count("refused response_format json_schema") == 1
    strict = RemoteModel("http://x/v1", "m", None, schema_style="json_schema")
    with httpx.Client(transport=httpx.MockTransport(handler)) as client, pytest.raises(Exception, match="422"):
        strict.complete(client, [{"role": "user", "content": "hi"}], 8, schema)


def test_a_500_naming_response_format_is_a_refusal_not_retried(monkeypatch):
    """llama-cpp-python 0.3.36 refuses json_schema with a 500 (its validation error, body as measured): the client
    falls back at once; a 500 about something else is still retried."""
    import httpx

    from lorakit.clients.openai_compat import RemoteModel

    seen, flaky = [], {"left": 1}

    def handler(request):
        body = json.loads(request.content)
        seen.append(body.get("response_format", {}).get("type"))
        if body.get("response_format", {}).get("type") == "json_schema":
            return httpx.Response(500, json={"error": {"message": "1 validation error: {'loc': ('body', "
                                                      "'response_format', 'type'), 'msg': \"Input should be 'text' "
                                                      "or 'json_object'\"}", "type": "internal_server_error"}})
        if flaky["left"]:
            flaky["left"] -= 1
            return httpx.Response(500, json={"error": {"message": "out of memory"}})
        return httpx.Response(200, json={"choices": [{"message": {"content": "{}"}}]})

    slept = []
    monkeypatch.setattr("lorakit.clients.openai_compat.time.sleep", slept.append)
    model = RemoteModel("http://x/v1", "m", None)
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        assert model.complete(client, [{"role": "user", "content": "hi"}], 8, {"type": "object"}) == "{}"
    assert seen == ["json_schema", "json_object", "json_object"]  # one probe; the other 500 retried once
    assert slept == [0.5]


def test_replies_stopped_at_max_tokens_are_reported_as_cut(monkeypatch):
    """finish_reason "length" (the server's budget ended the reply) reaches the caller per index."""
    import httpx

    from lorakit.clients.openai_compat import RemoteModel

    def handler(request):
        text = json.loads(request.content)["messages"][-1]["content"]
        reason = "length" if text.startswith("long") else "stop"
        return httpx.Response(200, json={"choices": [{"message": {"content": text}, "finish_reason": reason}]})

    class Mocked(httpx.Client):
        def __init__(self, **kw):
            super().__init__(transport=httpx.MockTransport(handler), **kw)

    monkeypatch.setattr(httpx, "Client", Mocked)
    cut: set[int] = set()
    out = RemoteModel("http://x/v1", "m", None, concurrency=2).generate(
        [[{"role": "user", "content": t}] for t in ("a", "long b", "c", "long d")], max_new_tokens=4, cut=cut)
    assert out == ["a", "long b", "c", "long d"] and cut == {1, 3}
