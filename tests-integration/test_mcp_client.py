"""The MCP channel driven by the official `mcp` client (`ClientSession` over Streamable HTTP) against a
real uvicorn on loopback: initialize, list tools, call, progress, cancel, conversations shared with
the Responses channel, a failed run."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
import httpx
import httpx2
import jsonschema
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent
from mcp.types.version import HANDSHAKE_PROTOCOL_VERSIONS
from openai import AsyncOpenAI

from hosting.core import ApiKeyAuthenticator, Host, MemoryStore
from hosting.mcp import MCPChannel
from hosting.responses import ResponsesChannel
from hosting.testing import Delay, EchoAgent, Fail, ScriptedAgent, serving

KEYS = {"key-alice": "alice", "key-bob": "bob"}

# The fixtures of conftest.py that speak MCP.
MCPClient = Callable[..., contextlib.AbstractAsyncContextManager[ClientSession]]
OpenMCPSession = Callable[[httpx.AsyncClient, str, Mapping[str, str]], Awaitable[dict[str, str]]]


def make_host(**agents: Any) -> Host:
    return Host(
        agents or {"echo": EchoAgent()},
        channels=[ResponsesChannel(), MCPChannel()],
        store=MemoryStore(),
        authenticator=ApiKeyAuthenticator(KEYS),
    )


def openai_client(url: str, key: str = "key-alice") -> AsyncOpenAI:
    return AsyncOpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=30)


def role_and_text(item: Any) -> tuple[str, str]:
    """A message item of the Conversations API, as (role, text)."""
    return item.role, item.content[0].text


def text_of(result: CallToolResult) -> str:
    assert all(isinstance(block, TextContent) for block in result.content)
    return "".join(block.text for block in result.content if isinstance(block, TextContent))


async def test_initialize_names_the_server_and_offers_tools() -> None:
    host = make_host()
    async with (
        serving(host) as url,
        httpx2.AsyncClient(headers={"Authorization": "Bearer key-alice"}) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        result = await session.initialize()
    assert result.server_info.name == "hosting"
    assert result.server_info.version == "0.1.0"
    assert result.protocol_version in HANDSHAKE_PROTOCOL_VERSIONS
    assert result.capabilities.tools is not None
    assert result.capabilities.resources is None and result.capabilities.prompts is None


async def test_one_tool_per_agent_with_its_schemas(mcp_client: MCPClient) -> None:
    host = make_host(echo=EchoAgent(), helper=ScriptedAgent(["ok"], name="helper"))
    async with serving(host) as url, mcp_client(url) as session:
        tools = (await session.list_tools()).tools
    assert [tool.name for tool in tools] == ["echo", "helper"]  # the default agent first
    for tool in tools:
        assert tool.input_schema == MCPChannel.input_schema
        assert tool.output_schema == MCPChannel.output_schema
        assert tool.description and tool.name in tool.description
    validator = jsonschema.Draft202012Validator(tools[0].input_schema)
    assert validator.is_valid({"input": "hi"})
    assert validator.is_valid({"input": "hi", "conversation": "conv_1"})
    assert not validator.is_valid({})
    assert not validator.is_valid({"input": 3})
    assert not validator.is_valid({"input": "hi", "conversation": 3})
    assert not validator.is_valid({"input": "hi", "extra": True})


async def test_a_call_answers_with_text_and_structured_content(mcp_client: MCPClient) -> None:
    host = make_host()
    async with serving(host) as url, mcp_client(url) as session:
        result = await session.call_tool("echo", {"input": "hello over mcp"})
        assert not result.is_error
        assert text_of(result) == "hello over mcp"
        structured = result.structured_content
        assert isinstance(structured, dict)
        assert set(structured) == {"response_id", "conversation"}
        assert structured["response_id"].startswith("resp_")
        assert structured["conversation"].startswith("conv_")
        jsonschema.validate(structured, MCPChannel.output_schema)
        # The answer is the host's response, stored for the caller like any other.
        async with openai_client(url) as openai:
            stored = await openai.responses.retrieve(structured["response_id"])
    assert stored.status == "completed"
    assert stored.output_text == "hello over mcp"
    assert stored.conversation is not None and stored.conversation.id == structured["conversation"]


async def test_text_deltas_arrive_as_progress_in_order(mcp_client: MCPClient) -> None:
    words = [f"word{number}" for number in range(25)]
    host = make_host(echo=EchoAgent(delay=0.002))
    received: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        received.append((progress, total, message))

    async with serving(host) as url, mcp_client(url) as session:
        result = await session.call_tool("echo", {"input": " ".join(words)}, progress_callback=on_progress)
    assert text_of(result) == " ".join(words)
    assert [progress for progress, _, _ in received] == list(range(1, len(words) + 1))
    assert all(total is None for _, total, _ in received)
    assert "".join(message or "" for _, _, message in received) == " ".join(words)
    assert [(message or "").strip() for _, _, message in received] == words


async def test_no_progress_without_a_progress_callback() -> None:
    notifications: list[Any] = []
    host = make_host()
    async with (
        serving(host) as url,
        httpx2.AsyncClient(headers={"Authorization": "Bearer key-alice"}) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
    ):

        async def on_message(message: Any) -> None:
            notifications.append(message)

        async with ClientSession(read, write, message_handler=on_message) as session:
            await session.initialize()
            result = await session.call_tool("echo", {"input": "three small words"})
    assert text_of(result) == "three small words"
    assert not [note for note in notifications if "progress" in type(note).__name__.lower()]


async def test_cancelling_a_call_cancels_the_run(mcp_client: MCPClient) -> None:
    agent = ScriptedAgent(["thinking", Delay(30), "never said"], name="slow")
    host = make_host(slow=agent)
    started = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        started.set()

    async with serving(host) as url, mcp_client(url) as session:
        outcome: list[CallToolResult] = []

        async def call() -> None:
            outcome.append(
                await session.call_tool("slow", {"input": "take your time"}, progress_callback=on_progress)
            )

        async with anyio.create_task_group() as group:
            group.start_soon(call)
            with anyio.fail_after(10):
                await started.wait()
            group.cancel_scope.cancel()  # the client sends notifications/cancelled for the call
        assert outcome == []
        run = agent.last_run
        record = None
        with anyio.fail_after(10):  # the agent saw the cancellation, and the store has it
            while not run.cancelled or record is None or record.status != "cancelled":
                record = await host.store.get_response("alice", run.response_id)
                await anyio.sleep(0.01)
        assert run.conversation_id is not None
        # A cancelled turn leaves nothing in its conversation.
        page = await host.store.list_conversation_items("alice", run.conversation_id)
        assert page is not None and page.items == ()
        # The session is still usable after the cancellation.
        agent_echo = await session.list_tools()
        assert [tool.name for tool in agent_echo.tools] == ["slow"]


async def test_a_conversation_continues_across_calls_with_its_history(mcp_client: MCPClient) -> None:
    agent = ScriptedAgent(turns=[["first answer"], ["second answer"]], name="recorder")
    host = make_host(recorder=agent)
    async with serving(host) as url, mcp_client(url) as session:
        first = await session.call_tool("recorder", {"input": "first question"})
        assert isinstance(first.structured_content, dict)
        conversation = first.structured_content["conversation"]
        second = await session.call_tool(
            "recorder", {"input": "second question", "conversation": conversation}
        )
    assert text_of(second) == "second answer"
    assert isinstance(second.structured_content, dict)
    assert second.structured_content["conversation"] == conversation
    assert second.structured_content["response_id"] != first.structured_content["response_id"]
    first_run, second_run = agent.runs
    assert first_run.history == ()
    assert [(item.role, item.text) for item in second_run.history] == [  # type: ignore[union-attr]
        ("user", "first question"),
        ("assistant", "first answer"),
    ]
    assert second_run.conversation_id == conversation
    assert first_run.channel == second_run.channel == "mcp"


async def test_a_conversation_is_shared_with_the_responses_channel(mcp_client: MCPClient) -> None:
    host = make_host()
    async with serving(host) as url, openai_client(url) as openai:
        async with mcp_client(url) as session:
            first = await session.call_tool("echo", {"input": "one"})
        assert isinstance(first.structured_content, dict)
        conversation = first.structured_content["conversation"]
        # Started over MCP, read and continued over the Responses API ...
        items = await openai.conversations.items.list(conversation, order="asc")
        assert [role_and_text(item) for item in items.data] == [
            ("user", "one"),
            ("assistant", "one"),
        ]
        over_responses = await openai.responses.create(model="echo", input="two", conversation=conversation)
        assert over_responses.output_text == "one\ntwo"
        # ... and continued over MCP again, with all of it as history.
        async with mcp_client(url) as session:
            third = await session.call_tool("echo", {"input": "three", "conversation": conversation})
        assert text_of(third) == "one\ntwo\nthree"
        items = await openai.conversations.items.list(conversation, order="asc")
    assert len(items.data) == 6


async def test_a_failed_run_is_an_error_result_that_names_the_response(mcp_client: MCPClient) -> None:
    agent = ScriptedAgent(["partial", Fail(RuntimeError("the agent broke"))], name="broken")
    host = make_host(broken=agent)
    async with serving(host) as url, mcp_client(url) as session:
        result = await session.call_tool("broken", {"input": "try"})
    assert result.is_error
    assert text_of(result)
    assert "the agent broke" not in text_of(result)  # the cause stays in the server's log
    assert isinstance(result.structured_content, dict)
    record = await host.store.get_response("alice", result.structured_content["response_id"])
    assert record is not None and record.status == "failed"


@pytest.mark.parametrize("json_response", [False, True])
async def test_answers_as_sse_or_as_json(json_response: bool, mcp_client: MCPClient) -> None:
    host = Host(
        EchoAgent(),
        channels=[MCPChannel(json_response=json_response)],
        store=MemoryStore(),
        authenticator=ApiKeyAuthenticator(KEYS),
    )
    async with serving(host) as url, mcp_client(url) as session:
        result = await session.call_tool("echo", {"input": "either way"})
    assert text_of(result) == "either way"


async def test_the_per_request_protocol_era_works_too() -> None:
    # A client that opens with `server/discover` speaks the 2026-07-28 protocol: no session, each
    # request carries its own envelope. The caller, progress and cancellation work the same.
    agent = ScriptedAgent(["thinking", Delay(30)], name="slow")
    host = make_host(echo=EchoAgent(), slow=agent)
    received: list[str | None] = []
    started = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        received.append(message)
        started.set()

    async with (
        serving(host) as url,
        httpx2.AsyncClient(headers={"Authorization": "Bearer key-alice"}, timeout=30) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        discovered = await session.discover()
        assert session.protocol_version == "2026-07-28"
        assert discovered.capabilities.tools is not None
        assert [tool.name for tool in (await session.list_tools()).tools] == ["echo", "slow"]
        result = await session.call_tool(
            "echo", {"input": "no session needed"}, progress_callback=on_progress
        )
        assert text_of(result) == "no session needed"
        assert received == ["no", " session", " needed"]
        assert isinstance(result.structured_content, dict)
        stored = await host.store.get_response("alice", result.structured_content["response_id"])
        assert stored is not None and stored.status == "completed"
        started = anyio.Event()
        async with anyio.create_task_group() as group:
            group.start_soon(session.call_tool, "slow", {"input": "wait"}, None, on_progress)
            with anyio.fail_after(10):
                await started.wait()
            group.cancel_scope.cancel()
        record = None
        with anyio.fail_after(10):
            while record is None or record.status != "cancelled":
                record = await host.store.get_response("alice", agent.last_run.response_id)
                await anyio.sleep(0.01)
    assert agent.last_run.cancelled


async def test_a_dropped_connection_is_not_a_cancel(open_mcp_session: OpenMCPSession) -> None:
    # A client that loses its connection mid-call (no notifications/cancelled): the run completes
    # and is stored, and its turn is in the conversation. Plain HTTP, to drop the connection.
    agent = ScriptedAgent(["first", Delay(0.2), " and last"], name="agent")
    host = make_host(agent=agent)
    accept = {"accept": "application/json, text/event-stream", "authorization": "Bearer key-alice"}
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "agent", "arguments": {"input": "go"}, "_meta": {"progressToken": "p"}},
    }
    async with serving(host) as url, httpx.AsyncClient(timeout=30) as http:
        session = accept | await open_mcp_session(http, url, accept)
        async with http.stream("POST", f"{url}/mcp", json=call, headers=session) as streamed:
            async for line in streamed.aiter_lines():
                if "notifications/progress" in line:
                    break  # the first delta arrived: hang up
        record = None
        with anyio.fail_after(10):  # the run ends, and is stored, with nobody waiting for it
            while record is None or record.status == "in_progress":
                await anyio.sleep(0.01)
                record = await host.store.get_response("alice", agent.last_run.response_id)
        run = agent.last_run
        assert run.conversation_id is not None
        page = await host.store.list_conversation_items("alice", run.conversation_id)
    assert run.finished and not run.cancelled
    assert record is not None and record.status == "completed"
    assert page is not None and [item.text for item in page.items] == ["go", "first and last"]  # type: ignore[union-attr]


async def test_ending_the_session_cancels_its_running_call(open_mcp_session: OpenMCPSession) -> None:
    agent = ScriptedAgent(["first", Delay(30), "never said"], name="agent")
    host = make_host(agent=agent)
    accept = {"accept": "application/json, text/event-stream", "authorization": "Bearer key-alice"}
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "agent", "arguments": {"input": "go"}},
    }
    async with serving(host) as url, httpx.AsyncClient(timeout=30) as http:
        session = accept | await open_mcp_session(http, url, accept)

        async def post_call() -> None:
            await http.post(f"{url}/mcp", json=call, headers=session)

        async with anyio.create_task_group() as group:
            group.start_soon(post_call)
            (run,) = await agent.wait_for_runs(1)
            ended = await http.delete(f"{url}/mcp", headers=session)
        assert ended.status_code == 200
        record = None
        with anyio.fail_after(10):
            while record is None or record.status != "cancelled":
                await anyio.sleep(0.01)
                record = await host.store.get_response("alice", run.response_id)
    assert run.cancelled
