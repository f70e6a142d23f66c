"""Schemathesis fuzzes the live server from its own OpenAPI schema (bounded): no request may get a 5xx."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402


@pytest.fixture
def openapi(server):
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("openapi")


@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case, api_key):
    response = case.call(headers={"Authorization": f"Bearer {api_key}"}, timeout=120)
    assert response.status_code < 500, (case.body, response.text[:500])
    if response.status_code >= 400:
        assert "error" in response.json()  # OpenAI's error shape, always
