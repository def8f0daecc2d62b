"""The session manager's life beside the host's, and the caller carried from the request to the handler."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from mcp.shared.exceptions import MCPError
from mcp.types import INTERNAL_ERROR
from mcp.types.version import LATEST_HANDSHAKE_VERSION
from starlette.applications import Starlette
from starlette.routing import Mount

from hosting.core import ApiKeyAuthenticator, Host, IsolationKeys, MemoryStore
from hosting.mcp import MCPChannel
from hosting.mcp._sessions import CALLER_SCOPE_KEY, caller_keys
from hosting.testing import ScriptedAgent

HEADERS = {"accept": "application/json, text/event-stream", "authorization": "Bearer key-alice"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": LATEST_HANDSHAKE_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}


def _context(request: Any) -> Any:
    return SimpleNamespace(request=request)


def test_caller_keys_come_from_the_request_that_carried_the_message() -> None:
    keys = IsolationKeys(user="alice", chat="c1")
    request = SimpleNamespace(scope={"type": "http", CALLER_SCOPE_KEY: keys})
    assert caller_keys(_context(request)) is keys


@pytest.mark.parametrize(
    "request_",
    [None, SimpleNamespace(scope={"type": "http"}), SimpleNamespace(scope={CALLER_SCOPE_KEY: "alice"})],
)
def test_without_the_callers_keys_a_handler_refuses(request_: Any) -> None:
    with pytest.raises(MCPError) as caught:
        caller_keys(_context(request_))
    assert caught.value.code == INTERNAL_ERROR


def _host(agent: ScriptedAgent) -> Host:
    return Host(
        {"agent": agent},
        channels=[MCPChannel(json_response=True)],
        store=MemoryStore(),
        authenticator=ApiKeyAuthenticator({"key-alice": "alice"}),
    )


async def _call_tool(client: httpx.AsyncClient) -> dict[str, Any]:
    opened = await client.post("/mcp", json=INITIALIZE, headers=HEADERS)
    assert opened.status_code == 200, opened.text
    session = {
        "mcp-session-id": opened.headers["mcp-session-id"],
        "mcp-protocol-version": LATEST_HANDSHAKE_VERSION,
    }
    notified = await client.post(
        "/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=HEADERS | session
    )
    assert notified.status_code == 202
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "agent", "arguments": {"input": "hi"}},
    }
    answered = await client.post("/mcp", json=call, headers=HEADERS | session)
    assert answered.status_code == 200, answered.text
    result: dict[str, Any] = answered.json()["result"]
    return result


def _session_tasks() -> list[asyncio.Task[Any]]:
    return [task for task in asyncio.all_tasks() if task.get_name() == "hosting-mcp-sessions"]


async def test_the_endpoint_is_a_jsonrpc_503_until_the_host_starts_and_after_it_stops() -> None:
    agent = ScriptedAgent(["hello"])
    host = _host(agent)
    # The route itself, reached without the host's start-up (which a request through the host would do).
    transport = httpx.ASGITransport(app=host.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        before = await client.post("/mcp", json=INITIALIZE, headers=HEADERS)
        await host.startup()
        try:
            result = await _call_tool(client)
        finally:
            await host.shutdown()
        after = await client.post("/mcp", json=INITIALIZE, headers=HEADERS)
    for refused in (before, after):
        assert refused.status_code == 503
        assert refused.json() == {
            "jsonrpc": "2.0",
            "id": None,
            "error": {"code": INTERNAL_ERROR, "message": "The MCP endpoint is not running."},
        }
    assert result["content"] == [{"type": "text", "text": "hello"}]
    assert _session_tasks() == []


async def test_a_host_restarted_serves_again() -> None:
    agent = ScriptedAgent(["hello"])
    host = _host(agent)
    transport = httpx.ASGITransport(app=host)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for _ in range(2):
            await host.startup()
            try:
                assert (await _call_tool(client))["isError"] is False
            finally:
                await host.shutdown()
    assert len(agent.runs) == 2
    assert _session_tasks() == []


async def test_a_host_mounted_elsewhere_starts_on_its_first_request() -> None:
    # No lifespan reaches the host: it starts inside the first request's task, and the session
    # manager must still outlive that request.
    agent = ScriptedAgent(["hello"])
    host = _host(agent)
    parent = Starlette(routes=[Mount("/agents", host)])
    transport = httpx.ASGITransport(app=parent)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver/agents") as client:
        try:
            first = await _call_tool(client)
            second = await _call_tool(client)
        finally:
            await host.shutdown()
    assert first["content"] == second["content"] == [{"type": "text", "text": "hello"}]
    assert [run.isolation.user for run in agent.runs] == ["alice", "alice"]
    assert _session_tasks() == []
