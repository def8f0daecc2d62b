"""Isolation keys: the ContextVar, the middleware, trusted headers and API keys."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from hosting.core import (
    ApiKeyAuthenticator,
    ConfigurationError,
    Host,
    IsolationKeys,
    MemoryStore,
    RunContext,
    agent,
    get_current_isolation_keys,
)
from hosting.core._isolation import reset_current_isolation_keys, set_current_isolation_keys
from hosting.core.channels import isolation_scope

from .conftest import InvokeChannel

seen: list[IsolationKeys] = []


@agent
async def who(context: RunContext) -> AsyncIterator[str]:
    seen.append(context.isolation)
    if context.input_text == "raise":
        raise RuntimeError("agent failure")
    yield f"{context.isolation.user}/{context.isolation.chat}"


def client_for(host: Host) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=host), base_url="http://t")


def test_contextvar_getter_setter_and_scope() -> None:
    assert get_current_isolation_keys() is None
    token = set_current_isolation_keys(IsolationKeys("u1"))
    assert get_current_isolation_keys() == IsolationKeys("u1")
    with isolation_scope(IsolationKeys("u2", "c")):
        assert get_current_isolation_keys() == IsolationKeys("u2", "c")
    assert get_current_isolation_keys() == IsolationKeys("u1")
    reset_current_isolation_keys(token)
    assert get_current_isolation_keys() is None


async def test_headers_are_ignored_unless_trusted() -> None:
    spoofed = {"x-agent-user-isolation-key": "mallory", "x-agent-chat-isolation-key": "room"}
    untrusting = Host(who, channels=[InvokeChannel()], store=MemoryStore())
    async with client_for(untrusting) as client:
        answer = await client.post("/invoke", json={"text": "x"}, headers=spoofed)
        assert answer.json()["text"] == "anonymous/None"
    trusting = Host(who, channels=[InvokeChannel()], store=MemoryStore(), trust_isolation_headers=True)
    async with client_for(trusting) as client:
        answer = await client.post("/invoke", json={"text": "x"}, headers=spoofed)
        assert answer.json()["text"] == "mallory/room"
    await untrusting.shutdown()
    await trusting.shutdown()


async def test_contextvar_is_reset_after_each_request_also_when_the_agent_raises() -> None:
    host = Host(who, channels=[InvokeChannel()], store=MemoryStore(), trust_isolation_headers=True)
    headers = {"x-agent-user-isolation-key": "alice"}
    async with client_for(host) as client:
        ok = await client.post("/invoke", json={"text": "x"}, headers=headers)
        assert ok.json()["text"] == "alice/None"
        assert get_current_isolation_keys() is None  # the ASGI transport runs the app in this task
        failed = await client.post("/invoke", json={"text": "raise"}, headers=headers)
        assert failed.json()["status"] == "failed"
        assert get_current_isolation_keys() is None
    await host.shutdown()


async def test_api_keys_map_to_users_and_bad_keys_get_401_in_the_envelope() -> None:
    authenticator = ApiKeyAuthenticator({"key-a": "alice", "key-b": "bob"})
    host = Host(who, channels=[InvokeChannel()], store=MemoryStore(), authenticator=authenticator)
    async with client_for(host) as client:
        alice = await client.post("/invoke", json={"text": "x"}, headers={"Authorization": "Bearer key-a"})
        assert alice.json()["text"] == "alice/None"
        bob = await client.post("/invoke", json={"text": "x"}, headers={"api-key": "key-b"})
        assert bob.json()["text"] == "bob/None"
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic key-a"}):
            refused = await client.post("/invoke", json={"text": "x"}, headers=headers)
            assert refused.status_code == 401
            error = refused.json()["error"]
            assert set(error) == {"message", "code"}
            assert error["code"] in ("missing_api_key", "invalid_api_key")
        assert (await client.get("/healthz")).status_code == 200  # health checks need no key
    await host.shutdown()


async def test_a_user_cannot_continue_another_users_conversation() -> None:
    authenticator = ApiKeyAuthenticator({"key-a": "alice", "key-b": "bob"})
    host = Host(who, channels=[InvokeChannel()], store=MemoryStore(), authenticator=authenticator)
    async with client_for(host) as client:
        opened = await client.post(
            "/invoke", json={"text": "x", "session": "s"}, headers={"api-key": "key-a"}
        )
        conversation = opened.json()["conversation"]
        stolen = await client.post(
            "/invoke", json={"text": "x", "conversation": conversation}, headers={"api-key": "key-b"}
        )
        assert stolen.status_code == 404
    await host.shutdown()


def test_api_key_authenticator_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTING_API_KEYS", "k1:alice, k2")
    authenticator = ApiKeyAuthenticator.from_env()
    assert authenticator._keys == [(b"k1", "alice"), (b"k2", "default")]
    monkeypatch.setenv("HOSTING_API_KEYS", " , ")
    with pytest.raises(ConfigurationError):
        ApiKeyAuthenticator.from_env()
    with pytest.raises(ConfigurationError):
        ApiKeyAuthenticator({})
