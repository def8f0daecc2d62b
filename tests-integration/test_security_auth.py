"""Who gets in: API keys (Bearer and ``api-key``), custom authenticators, the anonymous host, and
isolation headers, which change nothing unless the host is told to trust them. Every refusal is
OpenAI's envelope, and a route that does not exist is a 404 in it (after authentication)."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest
from starlette.requests import HTTPConnection

from hosting.core import (
    ApiKeyAuthenticator,
    AuthenticationError,
    Authenticator,
    ConfigurationError,
    Host,
    IsolationKeys,
    MemoryStore,
)
from hosting.core.middleware import RequestIdMiddleware
from hosting.responses import ResponsesChannel
from hosting.testing import EchoAgent, ScriptedAgent

KEYS = {"key-alice": "alice", "key-bob": "bob"}
SPOOF = {"x-agent-user-isolation-key": "alice", "x-agent-chat-isolation-key": "alices-chat"}


def connect(url: str, api_key: str = "unused", **options: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=api_key, max_retries=0, timeout=20, **options)


def envelope(body: object) -> dict[str, Any]:
    assert isinstance(body, dict)
    error: dict[str, Any] = body.get("error", body)
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    return error


# -- API keys --------------------------------------------------------------------------------------


def test_missing_and_wrong_keys_are_401s_in_the_envelope(
    make_host: Callable[..., Host], served: Callable[..., str]
) -> None:
    url = served(make_host())
    with pytest.raises(openai.AuthenticationError) as wrong, connect(url, "key-mallory") as mallory:
        mallory.responses.create(model="echo", input="hi")
    assert wrong.value.status_code == 401
    assert envelope(wrong.value.body)["code"] == "invalid_api_key"
    assert wrong.value.response.headers["x-request-id"]
    assert wrong.value.response.headers["x-should-retry"] == "false"
    with httpx.Client(base_url=url, timeout=10) as http:
        for headers in (
            {},
            {"authorization": "Bearer"},
            {"authorization": "Basic key-alice"},
        ):
            refused = http.post("/v1/responses", json={"input": "hi"}, headers=headers)
            assert refused.status_code == 401, headers
            error = envelope(refused.json())
            assert error["type"] == "authentication_error"
            assert error["code"] == "missing_api_key"
        by_header = http.post("/v1/responses", json={"input": "hi"}, headers={"api-key": "key-bob"})
        assert by_header.status_code == 200
        assert http.get("/healthz").status_code == 200  # health checks need no key


async def test_keys_of_every_length_match_only_themselves() -> None:
    keys = {"k": "short", "a-much-longer-key-" * 8: "long", "key-alice": "alice"}
    authenticator = ApiKeyAuthenticator(keys)
    for key, user in keys.items():
        connection = HTTPConnection(
            {"type": "http", "headers": [(b"authorization", f"Bearer {key}".encode())]}
        )
        assert await authenticator.authenticate(connection) == IsolationKeys(user=user)
    blank = HTTPConnection({"type": "http", "headers": [(b"api-key", b"   ")]})
    with pytest.raises(AuthenticationError) as refused:
        await authenticator.authenticate(blank)
    assert refused.value.code == "missing_api_key"
    for near_miss in ("key-alic", "key-alicee", "KEY-ALICE", "a-much-longer-key-"):
        connection = HTTPConnection({"type": "http", "headers": [(b"api-key", near_miss.encode())]})
        with pytest.raises(AuthenticationError):
            await authenticator.authenticate(connection)


def test_blank_keys_and_users_are_refused_at_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for keys in ({"": "alice"}, {"   ": "alice"}, {"key": ""}, {"key": "  "}):
        with pytest.raises(ConfigurationError):
            ApiKeyAuthenticator(keys)
    monkeypatch.setenv("HOSTING_API_KEYS", ":alice")  # a key missing before the colon
    with pytest.raises(ConfigurationError):
        ApiKeyAuthenticator.from_env()
    monkeypatch.setenv("HOSTING_API_KEYS", " k1 : alice , k2")
    assert ApiKeyAuthenticator.from_env()._keys == [(b"k1", "alice"), (b"k2", "default")]


# -- the anonymous host ----------------------------------------------------------------------------


async def test_a_host_without_authenticator_says_so_at_startup(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hosting")
    warning = "no authenticator configured: serving a single anonymous user"
    anonymous = Host(EchoAgent(), channels=[ResponsesChannel()], store=MemoryStore())
    await anonymous.startup()
    await anonymous.shutdown()
    said = [record for record in caplog.records if record.getMessage() == warning]
    assert [(record.name, record.levelno) for record in said] == [("hosting.core", logging.WARNING)]
    caplog.clear()
    guarded = Host(
        EchoAgent(),
        channels=[ResponsesChannel()],
        store=MemoryStore(),
        authenticator=ApiKeyAuthenticator(KEYS),
    )
    await guarded.startup()
    await guarded.shutdown()
    assert not [record for record in caplog.records if record.getMessage() == warning]


# -- isolation headers -----------------------------------------------------------------------------


def test_spoofed_isolation_headers_change_nothing_on_the_responses_channel(
    make_host: Callable[..., Host], served: Callable[..., str]
) -> None:
    agent = ScriptedAgent(["ok"], name="echo")
    url = served(make_host(agent))
    with connect(url, "key-alice") as alice, connect(url, "key-bob", default_headers=SPOOF) as bob:
        _spoofing_changes_nothing(agent, alice, bob)


def _spoofing_changes_nothing(agent: ScriptedAgent, alice: openai.OpenAI, bob: openai.OpenAI) -> None:
    response = alice.responses.create(model="echo", input="alice's")
    conversation = alice.conversations.create(metadata={"owner": "alice"})
    with pytest.raises(openai.NotFoundError):
        bob.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError):
        bob.conversations.retrieve(conversation.id)
    with pytest.raises(openai.NotFoundError):
        bob.responses.create(model="echo", input="x", previous_response_id=response.id)

    bobs = bob.responses.create(model="echo", input="bob's")
    assert agent.last_run.isolation == IsolationKeys(user="bob")  # not alice, no chat key
    assert bob.responses.retrieve(bobs.id).id == bobs.id
    with pytest.raises(openai.NotFoundError):
        alice.responses.retrieve(bobs.id)


def test_spoofed_headers_on_an_anonymous_host_reach_the_same_anonymous_user(
    served: Callable[..., str],
) -> None:
    agent = ScriptedAgent(["ok"], name="echo")
    url = served(Host(agent, channels=[ResponsesChannel()], store=MemoryStore()))
    with connect(url) as plain, connect(url, default_headers=SPOOF) as spoofing:
        created = spoofing.responses.create(model="echo", input="x")
        assert agent.last_run.isolation == IsolationKeys()
        assert plain.responses.retrieve(created.id).id == created.id


def test_trusted_isolation_headers_are_the_gateways_word(
    make_host: Callable[..., Host], served: Callable[..., str]
) -> None:
    agent = ScriptedAgent(["ok"], name="echo")
    url = served(make_host(agent, authenticator=None, trust_isolation_headers=True))

    def client(user: str, chat: str | None = None) -> openai.OpenAI:
        headers = {"x-agent-user-isolation-key": user}
        if chat is not None:
            headers["x-agent-chat-isolation-key"] = chat
        return connect(url, "gateway", default_headers=headers)

    with client("u1", "room-7") as first, client("u2") as second:
        created = first.responses.create(model="echo", input="x")
        assert agent.last_run.isolation == IsolationKeys(user="u1", chat="room-7")
        with pytest.raises(openai.NotFoundError):
            second.responses.retrieve(created.id)
        assert first.responses.retrieve(created.id).id == created.id


# -- custom authenticators -------------------------------------------------------------------------

GATEWAY_SECRET = b"shared-with-the-gateway"


class SignedUserHeader:
    """A custom authenticator: the gateway sends ``x-user: <user>.<hmac>`` after its own login."""

    async def authenticate(self, connection: HTTPConnection) -> IsolationKeys:
        user, _, signature = connection.headers.get("x-user", "").rpartition(".")
        expected = hmac.new(GATEWAY_SECRET, user.encode(), hashlib.sha256).hexdigest()
        if not user or not hmac.compare_digest(signature, expected):
            raise AuthenticationError("The gateway's user header is missing or forged.", code="invalid_user")
        return IsolationKeys(user=user)


class BrokenAuthenticator:
    async def authenticate(self, connection: HTTPConnection) -> IsolationKeys:
        raise RuntimeError("key server at 10.0.0.7 unreachable")


def signed(user: str) -> str:
    return f"{user}.{hmac.new(GATEWAY_SECRET, user.encode(), hashlib.sha256).hexdigest()}"


def test_a_custom_authenticator_decides_who_calls(
    make_host: Callable[..., Host], served: Callable[..., str]
) -> None:
    assert isinstance(SignedUserHeader(), Authenticator)
    agent = ScriptedAgent(["ok"], name="echo")
    url = served(make_host(agent, authenticator=SignedUserHeader()))
    with connect(url, default_headers={"x-user": signed("carol")}) as carol:
        carol.responses.create(model="echo", input="x")
    assert agent.last_run.isolation == IsolationKeys(user="carol")
    with httpx.Client(base_url=url, timeout=10) as http:
        forged = http.post("/v1/responses", json={"input": "x"}, headers={"x-user": "carol.0000"})
    assert forged.status_code == 401
    assert envelope(forged.json())["code"] == "invalid_user"


def test_a_failing_authenticator_is_a_500_in_the_envelope_without_its_detail(
    make_host: Callable[..., Host], served: Callable[..., str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="hosting.core")
    url = served(make_host(authenticator=BrokenAuthenticator()))
    with httpx.Client(base_url=url, timeout=10) as http:
        answer = http.post("/v1/responses", json={"input": "x"})
    assert answer.status_code == 500
    error = envelope(answer.json())
    assert (error["type"], error["code"]) == ("server_error", "server_error")
    assert "10.0.0.7" not in answer.text and "RuntimeError" not in answer.text
    logged = [record for record in caplog.records if record.getMessage() == "the authenticator failed"]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert getattr(logged[0], "request_id", None) == answer.headers["x-request-id"]


# -- routes that do not exist ----------------------------------------------------------------------


def test_an_unknown_path_is_a_404_in_the_envelope_after_authentication(
    make_host: Callable[..., Host], served: Callable[..., str]
) -> None:
    url = served(make_host())
    with httpx.Client(base_url=url, timeout=10) as http:
        anonymous = http.get("/v1/admin")
        assert anonymous.status_code == 401  # whether a route exists is not told to strangers
        for path in ("/v1/admin", "/v1/responses/resp_1/secrets"):
            unknown = http.get(path, headers={"authorization": "Bearer key-alice"})
            assert unknown.status_code == 404, path
            assert envelope(unknown.json())["code"] == "unknown_path"
            assert unknown.headers["x-request-id"]
        # Outside every channel's prefix the host answers in its own neutral shape.
        elsewhere = http.get("/elsewhere", headers={"authorization": "Bearer key-alice"})
        assert elsewhere.status_code == 404
        assert elsewhere.json() == {
            "error": {"code": "unknown_path", "message": "Unknown path '/elsewhere'."}
        }


async def test_a_request_id_with_a_line_break_is_replaced() -> None:
    seen: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            seen.extend(value for name, value in message["headers"] if name == b"x-request-id")

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    middleware = RequestIdMiddleware(app)
    for raw in (b"gateway-1\n", b"gateway-1\nforged log line", b"gateway-2"):
        await middleware({"type": "http", "headers": [(b"x-request-id", raw)]}, receive, send)
    assert seen[0].startswith(b"req_") and seen[1].startswith(b"req_")
    assert seen[2] == b"gateway-2"
