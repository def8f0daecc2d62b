"""Who may do what over MCP: callers are the host's authenticated users, each sees only their own
conversations, a session belongs to the caller who opened it, and a caller without a key gets a
JSON-RPC error before anything runs. Driven by the official `mcp` client, and by plain HTTP where
the test must set headers the client would not send."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
import httpx
import pytest
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, TextContent
from openai import AsyncOpenAI, NotFoundError

from hosting.core import ApiKeyAuthenticator, Host, MemoryStore
from hosting.mcp import MCPChannel
from hosting.responses import ResponsesChannel
from hosting.testing import Delay, ScriptedAgent, serving

KEYS = {"key-alice": "alice", "key-bob": "bob"}

# The fixtures of conftest.py that speak MCP.
MCPClient = Callable[..., contextlib.AbstractAsyncContextManager[ClientSession]]
JSONRPCMessage = Callable[[httpx.Response], dict[str, Any]]
OpenMCPSession = Callable[[httpx.AsyncClient, str, Mapping[str, str]], Awaitable[dict[str, str]]]


def echo_of_history(context: Any) -> str:
    """A step that answers with every user text the run saw, history included."""
    return " | ".join(item.text for item in context.messages if getattr(item, "role", None) == "user")


def make_host(agent: ScriptedAgent) -> Host:
    return Host(
        {agent.name: agent},
        channels=[ResponsesChannel(), MCPChannel()],
        store=MemoryStore(),
        authenticator=ApiKeyAuthenticator(KEYS),
    )


def text_of(result: CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, TextContent))


def conversation_of(result: CallToolResult) -> str:
    assert isinstance(result.structured_content, dict)
    conversation = result.structured_content["conversation"]
    assert isinstance(conversation, str)
    return conversation


async def test_users_do_not_see_each_others_conversations(mcp_client: MCPClient) -> None:
    agent = ScriptedAgent([echo_of_history], name="memory")
    host = make_host(agent)
    async with serving(host) as url:
        async with mcp_client(url, "key-alice") as alice:
            mine = await alice.call_tool("memory", {"input": "alice's secret"})
        conversation = conversation_of(mine)
        before = await host.store.list_conversation_items("alice", conversation)
        async with mcp_client(url, "key-bob") as bob:
            theirs = await bob.call_tool("memory", {"input": "let me in", "conversation": conversation})
            nobody = await bob.call_tool("memory", {"input": "let me in", "conversation": "conv_" + "0" * 48})
            own = await bob.call_tool("memory", {"input": "bob's own"})
        async with AsyncOpenAI(base_url=f"{url}/v1", api_key="key-bob", max_retries=0) as openai:
            with pytest.raises(NotFoundError):
                await openai.conversations.items.list(conversation)
    # Another user's conversation reads exactly like one that does not exist.
    assert theirs.is_error and nobody.is_error
    assert text_of(theirs).replace(conversation, "ID") == text_of(nobody).replace("conv_" + "0" * 48, "ID")
    assert "not found" in text_of(theirs)
    assert "alice's secret" not in text_of(theirs)
    # Bob's own conversation holds only what he said; Alice's is as it was.
    assert text_of(own) == "bob's own"
    assert conversation_of(own) != conversation
    assert await host.store.list_conversation_items("alice", conversation) == before
    assert await host.store.get_conversation("bob", conversation) is None
    assert [run.isolation.user for run in agent.runs] == ["alice", "bob"]


async def test_concurrent_calls_each_run_as_their_caller(mcp_client: MCPClient) -> None:
    agent = ScriptedAgent([Delay(0.05), echo_of_history], name="memory")
    host = make_host(agent)
    results: dict[str, list[CallToolResult]] = {"alice": [], "bob": []}

    async def calls(url: str, key: str, user: str) -> None:
        async with mcp_client(url, key) as session, anyio.create_task_group() as group:
            for number in range(4):

                async def one(number: int = number) -> None:
                    result = await session.call_tool("memory", {"input": f"{user} {number}"})
                    results[user].append(result)

                group.start_soon(one)

    async with serving(host) as url, anyio.create_task_group() as group:
        group.start_soon(calls, url, "key-alice", "alice")
        group.start_soon(calls, url, "key-bob", "bob")
    assert len(agent.runs) == 8
    for run in agent.runs:
        assert run.input_text.split()[0] == run.isolation.user
    for user, answers in results.items():
        assert len(answers) == 4
        for answer in answers:
            assert text_of(answer).startswith(f"{user} ")
            assert await host.store.get_conversation(user, conversation_of(answer)) is not None


HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def _in_session(key: str, session: Mapping[str, str]) -> dict[str, str]:
    return {**HEADERS, "authorization": f"Bearer {key}", **session}


async def test_a_session_cannot_be_used_by_another_user(
    jsonrpc_message: JSONRPCMessage, open_mcp_session: OpenMCPSession
) -> None:
    agent = ScriptedAgent(["ran"], name="agent")
    host = make_host(agent)
    call = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": "agent", "arguments": {"input": "x"}},
    }
    async with serving(host) as url, httpx.AsyncClient(timeout=30) as http:
        session = await open_mcp_session(http, url, {**HEADERS, "authorization": "Bearer key-alice"})
        hijack = await http.post(f"{url}/mcp", json=call, headers=_in_session("key-bob", session))
        unknown = await http.post(
            f"{url}/mcp", json=call, headers=_in_session("key-bob", {**session, "mcp-session-id": "f" * 32})
        )
        assert agent.runs == []
        assert (await host.store.list_responses("bob")).records == ()
        assert (await host.store.list_responses("alice")).records == ()
        # Refused exactly as a session that does not exist.
        assert hijack.status_code == unknown.status_code == 404
        assert jsonrpc_message(hijack) == jsonrpc_message(unknown)
        assert jsonrpc_message(hijack)["error"]["code"] == -32600
        # Bob cannot end it either; its owner still uses it.
        ended = await http.delete(f"{url}/mcp", headers=_in_session("key-bob", session))
        assert ended.status_code == 404
        own = await http.post(f"{url}/mcp", json=call, headers=_in_session("key-alice", session))
        assert own.status_code == 200
        answer = jsonrpc_message(own)
    assert answer["id"] == 7
    assert answer["result"]["content"] == [{"type": "text", "text": "ran"}]
    assert [run.isolation.user for run in agent.runs] == ["alice"]


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-key", "Basic a2V5LWFsaWNlOg=="])
async def test_without_a_valid_key_the_answer_is_a_jsonrpc_error(authorization: str | None) -> None:
    agent = ScriptedAgent(["ran"], name="agent")
    host = make_host(agent)
    headers = dict(HEADERS)
    if authorization is not None:
        headers["authorization"] = authorization
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    async with serving(host) as url, httpx.AsyncClient(timeout=30) as http:
        response = await http.post(f"{url}/mcp", json=call, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert body["jsonrpc"] == "2.0" and body["id"] is None
    assert body["error"]["code"] == -32600
    assert "API key" in body["error"]["message"]
    assert agent.runs == []


async def test_the_official_client_reports_a_wrong_key(mcp_client: MCPClient) -> None:
    host = make_host(ScriptedAgent(["ran"], name="agent"))
    async with serving(host) as url:
        with pytest.raises(BaseException) as caught:  # the client's task groups wrap it
            async with mcp_client(url, "wrong-key"):
                pass
    errors = caught.value.exceptions if isinstance(caught.value, BaseExceptionGroup) else (caught.value,)
    while any(isinstance(error, BaseExceptionGroup) for error in errors):
        errors = tuple(
            inner
            for error in errors
            for inner in (error.exceptions if isinstance(error, BaseExceptionGroup) else (error,))
        )
    assert [type(error) for error in errors] == [MCPError]
    assert "API key" in str(errors[0])


async def test_a_session_belongs_to_its_chat_too(open_mcp_session: OpenMCPSession) -> None:
    # Behind a gateway that sets the isolation headers: one user, two chats.
    agent = ScriptedAgent(["ran"], name="agent")
    host = Host({"agent": agent}, channels=[MCPChannel()], store=MemoryStore(), trust_isolation_headers=True)
    chat_one = {**HEADERS, "x-agent-user-isolation-key": "alice", "x-agent-chat-isolation-key": "one"}
    chat_two = {**chat_one, "x-agent-chat-isolation-key": "two"}
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "agent", "arguments": {"input": "x"}},
    }
    async with serving(host) as url, httpx.AsyncClient(timeout=30) as http:
        session = await open_mcp_session(http, url, chat_one)
        other_chat = await http.post(f"{url}/mcp", json=call, headers=chat_two | session)
        own_chat = await http.post(f"{url}/mcp", json=call, headers=chat_one | session)
    assert other_chat.status_code == 404
    assert own_chat.status_code == 200
    assert [(run.isolation.user, run.isolation.chat) for run in agent.runs] == [("alice", "one")]
