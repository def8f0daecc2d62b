"""Bad input over MCP gets MCP's own error shape and changes nothing stored.

What is wrong with the request itself (an unknown tool, params that are not a `tools/call`'s, a
body that is not JSON) is a JSON-RPC error; what is wrong with a tool's arguments (missing, of the
wrong type, unknown, a conversation the caller does not have) is a tool result with ``isError``,
which the model calling the tool can read and correct. Either way no agent runs and the store is
as it was."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import httpx
import pytest
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, CallToolResult, TextContent

from hosting.core import ApiKeyAuthenticator, Host, Limits, MemoryStore
from hosting.mcp import MCPChannel
from hosting.testing import ScriptedAgent, serving

KEYS = {"key-alice": "alice", "key-bob": "bob"}
MAX_TEXT = 1_000

# The fixtures of conftest.py that speak MCP.
MCPClient = Callable[..., contextlib.AbstractAsyncContextManager[ClientSession]]
JSONRPCMessage = Callable[[httpx.Response], dict[str, Any]]
OpenMCPSession = Callable[[httpx.AsyncClient, str, Mapping[str, str]], Awaitable[dict[str, str]]]


@contextlib.asynccontextmanager
async def world(mcp_client: MCPClient) -> AsyncIterator[tuple[str, Host, ScriptedAgent, str]]:
    """A served host where Alice has one conversation already; yields (url, host, agent, conversation)."""
    agent = ScriptedAgent(["an answer"], name="agent")
    host = Host(
        {"agent": agent},
        channels=[MCPChannel()],
        store=MemoryStore(),
        authenticator=ApiKeyAuthenticator(KEYS),
        limits=Limits(max_text_chars=MAX_TEXT),
    )
    async with serving(host) as url:
        async with mcp_client(url, "key-alice") as session:
            first = await session.call_tool("agent", {"input": "hello"})
        assert isinstance(first.structured_content, dict)
        agent.runs.clear()
        yield url, host, agent, first.structured_content["conversation"]


async def snapshot(host: Host) -> dict[str, Any]:
    """Everything stored for both users."""
    state: dict[str, Any] = {}
    for user in KEYS.values():
        conversations = (await host.store.list_conversations(user)).records
        state[user] = {
            "responses": (await host.store.list_responses(user)).records,
            "conversations": conversations,
            "items": [
                await host.store.list_conversation_items(user, conversation.id)
                for conversation in conversations
            ],
        }
    return state


def text_of(result: CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, TextContent))


ALICE_CONVERSATION = "<alice's conversation>"

BAD_ARGUMENTS: list[tuple[str, dict[str, Any] | None, str]] = [
    ("no arguments", None, "'input' is required"),
    ("empty arguments", {}, "'input' is required"),
    ("input not a string", {"input": 3}, "'input' is required"),
    ("input a list", {"input": ["hello"]}, "'input' is required"),
    ("input empty", {"input": ""}, "'input' is required"),
    ("input too long", {"input": "x" * (MAX_TEXT + 1)}, f"limit of {MAX_TEXT} characters"),
    ("conversation not a string", {"input": "hi", "conversation": 5}, "'conversation' must be"),
    ("conversation empty", {"input": "hi", "conversation": ""}, "'conversation' must be"),
    ("conversation unknown", {"input": "hi", "conversation": "conv_" + "0" * 48}, "not found"),
    ("conversation malformed", {"input": "hi", "conversation": "not an id"}, "No conversation found"),
    ("argument misspelt", {"input": "hi", "conversaton": "conv_1"}, "Unknown argument 'conversaton'"),
]


@pytest.mark.parametrize(
    ("arguments", "message"), [case[1:] for case in BAD_ARGUMENTS], ids=[c[0] for c in BAD_ARGUMENTS]
)
async def test_bad_arguments_are_an_error_result(
    arguments: dict[str, Any] | None, message: str, mcp_client: MCPClient
) -> None:
    async with world(mcp_client) as (url, host, agent, _):
        before = await snapshot(host)
        async with mcp_client(url, "key-alice") as session:
            result = await session.call_tool("agent", arguments)
        assert result.is_error
        assert message in text_of(result)
        assert result.structured_content is None
        assert agent.runs == []
        assert await snapshot(host) == before


async def test_another_users_conversation_is_an_error_result(mcp_client: MCPClient) -> None:
    async with world(mcp_client) as (url, host, agent, conversation):
        before = await snapshot(host)
        async with mcp_client(url, "key-bob") as session:
            result = await session.call_tool("agent", {"input": "hi", "conversation": conversation})
        assert result.is_error
        assert f"Conversation with id '{conversation}' not found." in text_of(result)
        assert agent.runs == []
        assert await snapshot(host) == before


async def test_an_unknown_tool_is_a_jsonrpc_error(mcp_client: MCPClient) -> None:
    async with world(mcp_client) as (url, host, agent, _):
        before = await snapshot(host)
        async with mcp_client(url, "key-alice") as session:
            with pytest.raises(MCPError) as caught:
                await session.call_tool("no-such-agent", {"input": "hi"})
        assert caught.value.code == INVALID_PARAMS
        assert caught.value.message == "Unknown tool: no-such-agent"
        assert agent.runs == []
        assert await snapshot(host) == before


async def test_a_null_conversation_is_taken_as_absent(mcp_client: MCPClient) -> None:
    async with world(mcp_client) as (url, _, agent, conversation):
        async with mcp_client(url, "key-alice") as session:
            result = await session.call_tool("agent", {"input": "hi", "conversation": None})
        assert not result.is_error
        assert isinstance(result.structured_content, dict)
        assert result.structured_content["conversation"] != conversation
        assert len(agent.runs) == 1


RAW_BODIES: list[tuple[str, bytes, int, int]] = [
    ("not json", b"{not json", 400, -32700),
    ("call without a name", b'{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{}}', 200, -32602),
    (
        "arguments not an object",
        b'{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"agent","arguments":"hi"}}',
        200,
        -32602,
    ),
    ("unknown method", b'{"jsonrpc":"2.0","id":5,"method":"prompts/list"}', 200, -32601),
]


@pytest.mark.parametrize(
    ("body", "status", "code"), [case[1:] for case in RAW_BODIES], ids=[c[0] for c in RAW_BODIES]
)
async def test_malformed_requests_are_jsonrpc_errors(
    body: bytes,
    status: int,
    code: int,
    mcp_client: MCPClient,
    jsonrpc_message: JSONRPCMessage,
    open_mcp_session: OpenMCPSession,
) -> None:
    headers = {
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "authorization": "Bearer key-alice",
    }
    async with world(mcp_client) as (url, host, agent, _), httpx.AsyncClient(timeout=30) as http:
        headers |= await open_mcp_session(http, url, headers)
        before = await snapshot(host)
        response = await http.post(f"{url}/mcp", content=body, headers=headers)
        assert response.status_code == status
        assert jsonrpc_message(response)["error"]["code"] == code
        assert agent.runs == []
        assert await snapshot(host) == before


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/mcp", b'{"jsonrpc":"2.0","id":1,"method":"ping","pad":"' + b"x" * 2048 + b'"}', 413),
        ("/mcp/other", b"{}", 404),
    ],
    ids=["body too large", "unknown path"],
)
async def test_the_hosts_own_refusals_are_jsonrpc_errors(path: str, body: bytes, status: int) -> None:
    agent = ScriptedAgent(["an answer"], name="agent")
    host = Host(
        {"agent": agent},
        channels=[MCPChannel()],
        store=MemoryStore(),
        authenticator=ApiKeyAuthenticator(KEYS),
        limits=Limits(max_body_bytes=1024),
    )
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    async with serving(host) as url, httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            f"{url}{path}", content=body, headers=headers | {"authorization": "Bearer key-alice"}
        )
    assert response.status_code == status
    answer = response.json()
    assert answer["jsonrpc"] == "2.0" and answer["id"] is None
    assert answer["error"]["code"] == -32600
    assert answer["error"]["message"]
    assert agent.runs == []
