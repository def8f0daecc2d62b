"""CORS: preflights answered before authentication, allowed and refused origins, real cross-origin calls."""

from __future__ import annotations

import httpx
import pytest
from starlette.testclient import TestClient

from hosting.core import ApiKeyAuthenticator, Host, MemoryStore

from .conftest import InvokeChannel, echo_history

ALLOWED = "https://app.example.com"
KEY = {"authorization": "Bearer sk-alice"}


def _host(**options: object) -> Host:
    return Host(
        echo_history,
        channels=[InvokeChannel()],
        store=MemoryStore(),
        authenticator=ApiKeyAuthenticator({"sk-alice": "alice"}),
        **options,  # type: ignore[arg-type]
    )


def _preflight(client: TestClient, origin: str) -> httpx.Response:
    return client.options(
        "/invoke",
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
    )


def test_a_preflight_from_an_allowed_origin_is_answered_without_a_key() -> None:
    with TestClient(_host(cors_origins=[ALLOWED + "/"])) as client:
        response = _preflight(client, ALLOWED)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers
    assert "content-type" in allowed_headers
    assert "POST" in response.headers["access-control-allow-methods"]
    assert response.headers["access-control-max-age"] == "600"


def test_a_preflight_from_another_origin_is_refused() -> None:
    with TestClient(_host(cors_origins=[ALLOWED])) as client:
        response = _preflight(client, "https://evil.example.com")
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_without_origins_a_preflight_gets_no_cors_headers() -> None:
    with TestClient(_host()) as client:
        response = _preflight(client, ALLOWED)
    assert response.status_code == 401  # the authenticator answers: no CORS layer at all
    assert "access-control-allow-origin" not in response.headers


def test_a_cross_origin_call_gets_the_origin_and_the_exposed_headers() -> None:
    with TestClient(_host(cors_origins=[ALLOWED])) as client:
        answered = client.post("/invoke", json={"text": "hi"}, headers={**KEY, "origin": ALLOWED})
        refused = client.post("/invoke", json={"text": "hi"}, headers={"origin": ALLOWED})
        other = client.post(
            "/invoke", json={"text": "hi"}, headers={**KEY, "origin": "https://evil.example.com"}
        )
    assert answered.status_code == 200
    assert answered.json()["text"] == "hi"
    assert answered.headers["access-control-allow-origin"] == ALLOWED
    exposed = answered.headers["access-control-expose-headers"].lower()
    assert "x-request-id" in exposed
    assert "retry-after" in exposed
    # An error still tells the page why (its status is readable across origins).
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == ALLOWED
    # Another origin's call is served (CORS is the browser's check) but the browser may not read it.
    assert other.status_code == 200
    assert "access-control-allow-origin" not in other.headers


def test_any_origin_with_a_star() -> None:
    with TestClient(_host(cors_origins=["*"])) as client:
        response = _preflight(client, "http://localhost:5173")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"


def test_origins_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTING_CORS_ORIGINS", f"{ALLOWED}, http://localhost:5173")
    with TestClient(_host()) as client:
        first = _preflight(client, "http://localhost:5173")
        refused = _preflight(client, "http://localhost:3000")
    assert first.status_code == 200
    assert first.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert refused.status_code == 400
    # An explicit empty list wins over the environment.
    with TestClient(_host(cors_origins=[])) as client:
        assert _preflight(client, ALLOWED).status_code == 401
