"""One conversation over the three channels, each with its official client: started over the
Responses API, continued over A2A, then over MCP, then over the Responses API again, every turn
seeing the whole history before it; another user reaches none of it on any channel."""

from __future__ import annotations

from typing import Any

import httpx
import httpx2
import pytest
from a2a.client import ClientConfig, create_client
from a2a.types import Message, Part, Role, SendMessageRequest
from a2a.utils.errors import TaskNotFoundError
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import TextContent
from openai import AsyncOpenAI, NotFoundError

from hosting.a2a import A2AChannel
from hosting.core import ApiKeyAuthenticator, Host, MemoryStore, RunContext
from hosting.core import Message as NeutralMessage
from hosting.mcp import MCPChannel
from hosting.responses import ResponsesChannel
from hosting.testing import ScriptedAgent, serving

KEYS = {"key-alice": "alice", "key-bob": "bob"}


def users_so_far(context: RunContext) -> str:
    """A step that answers with every user text the run saw, history included, in order."""
    return " | ".join(
        item.text for item in context.messages if isinstance(item, NeutralMessage) and item.role == "user"
    )


async def over_a2a(url: str, key: str, text: str, context_id: str) -> Any:
    """Send one message over A2A in `context_id`; the final task (or the error the client raised)."""
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        client = await create_client(url, ClientConfig(httpx_client=http, streaming=False))
        message = Message(message_id="m-1", role=Role.ROLE_USER, context_id=context_id)
        message.parts.append(Part(text=text))
        task = None
        try:
            async for event in client.send_message(SendMessageRequest(message=message)):
                if event.HasField("task"):
                    task = event.task
        finally:
            await client.close()
        return task


async def over_mcp(url: str, key: str, text: str, conversation: str) -> tuple[bool, str]:
    """Call the agent's tool over MCP in `conversation`; (is it an error, its text)."""
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        result = await session.call_tool("agent", {"input": text, "conversation": conversation})
    return result.is_error, "".join(block.text for block in result.content if isinstance(block, TextContent))


async def test_one_conversation_across_responses_a2a_and_mcp_for_its_user_only() -> None:
    agent = ScriptedAgent([users_so_far], name="agent")
    host = Host(
        {"agent": agent},
        channels=[ResponsesChannel(), A2AChannel(), MCPChannel()],
        store=MemoryStore(),
        authenticator=ApiKeyAuthenticator(KEYS),
    )
    async with (
        serving(host) as url,
        AsyncOpenAI(base_url=f"{url}/v1", api_key="key-alice", max_retries=0) as alice,
        AsyncOpenAI(base_url=f"{url}/v1", api_key="key-bob", max_retries=0) as bob,
    ):
        conversation = (await alice.conversations.create()).id
        first = await alice.responses.create(model="agent", input="one", conversation=conversation)
        assert first.output_text == "one"
        task = await over_a2a(url, "key-alice", "two", conversation)
        assert task is not None and task.context_id == conversation
        assert await over_mcp(url, "key-alice", "three", conversation) == (False, "one | two | three")
        last = await alice.responses.create(model="agent", input="four", conversation=conversation)
        assert last.output_text == "one | two | three | four"
        items = await alice.conversations.items.list(conversation, order="asc")
        assert len(items.data) == 8  # four turns, each a user message and an answer

        # Bob reaches none of it, on any channel.
        assert await over_mcp(url, "key-bob", "five", conversation) == (
            True,
            f"Conversation with id '{conversation}' not found.",
        )
        with pytest.raises(TaskNotFoundError):
            await over_a2a(url, "key-bob", "five", conversation)
        with pytest.raises(NotFoundError):
            await bob.responses.create(model="agent", input="five", conversation=conversation)
        with pytest.raises(NotFoundError):
            await bob.conversations.items.list(conversation)
        after = await alice.conversations.items.list(conversation, order="asc")
    assert [item.id for item in after.data] == [item.id for item in items.data]
    assert [run.channel for run in agent.runs] == ["responses", "a2a", "mcp", "responses"]
    assert [run.isolation.user for run in agent.runs] == ["alice"] * 4
    seen = [
        [item.text for item in run.history if isinstance(item, NeutralMessage) and item.role == "user"]
        for run in agent.runs
    ]
    assert seen == [[], ["one"], ["one", "two"], ["one", "two", "three"]]
