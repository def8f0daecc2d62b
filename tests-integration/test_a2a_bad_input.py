"""Bad input to the A2A channel, over a real loopback uvicorn: each gets the protocol's own error
(a JSON-RPC error object; the a2a-sdk client raises its typed error for it) and nothing stored
changes. Another user's task or context is "task not found", exactly like one nobody has."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from a2a.client import Client, ClientConfig, create_client
from a2a.types import (
    CancelTaskRequest,
    ContentTypeNotSupportedError,
    GetTaskRequest,
    InvalidParamsError,
    InvalidRequestError,
    ListTasksRequest,
    Message,
    Part,
    PushNotificationNotSupportedError,
    Role,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    Task,
    TaskNotCancelableError,
    TaskNotFoundError,
    TaskPushNotificationConfig,
    TaskState,
    UnsupportedOperationError,
)

from hosting.a2a import A2AChannel
from hosting.core import ApiKeyAuthenticator, Host, Limits, MemoryStore
from hosting.responses import ResponsesChannel
from hosting.testing import Delay, EchoAgent, ScriptedAgent, serving

KEYS = {"key-alice": "alice", "key-bob": "bob"}
VERSION = {"A2A-Version": "1.0"}


def make_host(agent: Any = None) -> Host:
    return Host(
        agent if agent is not None else EchoAgent(),
        channels=[ResponsesChannel(), A2AChannel()],
        store=MemoryStore(),
        authenticator=ApiKeyAuthenticator(KEYS),
    )


@asynccontextmanager
async def connect(url: str, key: str) -> AsyncIterator[tuple[httpx.AsyncClient, Client]]:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=10) as http:
        yield http, await create_client(url, ClientConfig(httpx_client=http))


def user(text: str, *, context_id: str = "", task_id: str = "") -> SendMessageRequest:
    message = Message(message_id="m-1", role=Role.ROLE_USER, context_id=context_id, task_id=task_id)
    message.parts.append(Part(text=text))
    return SendMessageRequest(message=message)


async def first_task(stream: AsyncIterator[StreamResponse]) -> Task:
    events = [event async for event in stream]
    return events[0].task


async def stored(host: Host) -> dict[str, Any]:
    """Everything the store holds for both users: responses (with status) and conversations with items."""
    state: dict[str, Any] = {}
    for owner in KEYS.values():
        responses = await host.store.list_responses(owner, limit=100)
        conversations = await host.store.list_conversations(owner, limit=100)
        items = {}
        for record in conversations.records:
            page = await host.store.list_conversation_items(owner, record.id, limit=100)
            assert page is not None
            items[record.id] = [item.id for item in page.items]
        state[owner] = ([(r.id, r.status) for r in responses.records], items)
    return state


async def rpc(http: httpx.AsyncClient, url: str, body: Any, *, raw: bytes | None = None) -> httpx.Response:
    if raw is not None:
        return await http.post(
            f"{url}/a2a", content=raw, headers={"content-type": "application/json", **VERSION}
        )
    return await http.post(f"{url}/a2a", json=body, headers=VERSION)


@pytest.mark.parametrize(
    ("body", "raw", "code"),
    [
        (None, b"{not json", -32700),
        ([{"jsonrpc": "2.0", "id": 1, "method": "GetTask"}], None, -32600),
        ({"jsonrpc": "1.0", "id": 1, "method": "GetTask", "params": {"id": "x"}}, None, -32600),
        ({"jsonrpc": "2.0", "id": 1, "method": "tasks/explode", "params": {}}, None, -32601),
        ({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": "hi"}}, None, -32602),
        ({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {}}, None, -32602),
        (
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "SendMessage",
                "params": {"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{}]}},
            },
            None,
            -32602,
        ),
        ({"jsonrpc": "2.0", "id": 1, "method": "ListTasks", "params": {"pageSize": 1000}}, None, -32602),
        ({"jsonrpc": "2.0", "id": 1, "method": "ListTasks", "params": {"pageToken": "nope"}}, None, -32602),
        ({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "resp_nope"}}, None, -32001),
        # Bodies the SDK's own dispatcher refuses (and logged as errors, with tracebacks).
        ([], None, -32600),
        ({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": 5}}, None, -32602),
        (
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "SendMessage",
                "params": {"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": 5}]}},
            },
            None,
            -32602,
        ),
    ],
)
async def test_malformed_requests_get_json_rpc_errors_and_store_nothing(
    body: Any, raw: bytes | None, code: int, caplog: pytest.LogCaptureFixture
) -> None:
    host = make_host()
    async with serving(host) as url, connect(url, "key-alice") as (http, client):
        await first_task(client.send_message(user("kept")))
        before = await stored(host)
        caplog.clear()
        with caplog.at_level(logging.INFO):
            response = await rpc(http, url, body, raw=raw)
        # The caller's mistake: at most a one-line warning in the server's log, no traceback.
        logged = [r for r in caplog.records if r.name.startswith("a2a") or r.name.startswith("hosting")]
        assert all(r.levelno < logging.ERROR and r.exc_info is None for r in logged), logged
        assert response.status_code == 200
        payload = response.json()
        assert payload["jsonrpc"] == "2.0"
        assert payload["error"]["code"] == code
        assert isinstance(payload["error"]["message"], str) and payload["error"]["message"]
        assert "result" not in payload
        assert await stored(host) == before


async def test_unknown_tasks_are_not_found_for_every_method() -> None:
    host = make_host()
    async with serving(host) as url, connect(url, "key-alice") as (_, client):
        with pytest.raises(TaskNotFoundError):
            await client.get_task(GetTaskRequest(id="resp_0123456789abcdef"))
        with pytest.raises(TaskNotFoundError):
            await client.cancel_task(CancelTaskRequest(id="resp_0123456789abcdef"))
        with pytest.raises(TaskNotFoundError):
            await first_task(client.subscribe(SubscribeToTaskRequest(id="not-even-an-id")))
        with pytest.raises(TaskNotFoundError):
            await first_task(client.send_message(user("hi", context_id="conv_0123456789abcdef")))
        assert await stored(host) == {"alice": ([], {}), "bob": ([], {})}


async def test_another_users_task_and_context_are_not_found_and_stay_unchanged() -> None:
    agent = ScriptedAgent(["slow", Delay(5)])
    host = make_host(agent)
    async with (
        serving(host) as url,
        connect(url, "key-alice") as (_, alice),
        connect(url, "key-bob") as (_, bob),
    ):
        stream = alice.send_message(user("alice's secret"))
        task = (await anext(stream)).task
        before = await stored(host)

        refusals = [
            bob.get_task(GetTaskRequest(id=task.id)),
            bob.cancel_task(CancelTaskRequest(id=task.id)),
            first_task(bob.subscribe(SubscribeToTaskRequest(id=task.id))),
            first_task(bob.send_message(user("hi", context_id=task.context_id))),
            first_task(bob.send_message(user("hi", task_id=task.id))),
        ]
        messages = []
        for refusal in refusals:
            with pytest.raises(TaskNotFoundError) as caught:
                await refusal
            messages.append(str(caught.value))
        assert not any("alice" in message for message in messages)
        listed = await bob.list_tasks(ListTasksRequest(context_id=task.context_id))
        assert listed.total_size == 0 and not listed.tasks
        assert (await bob.list_tasks(ListTasksRequest())).total_size == 0

        assert await stored(host) == before
        still = await alice.get_task(GetTaskRequest(id=task.id))
        assert still.status.state == TaskState.TASK_STATE_WORKING
        assert len(agent.runs) == 1
        await alice.cancel_task(CancelTaskRequest(id=task.id))
        await stream.aclose()


async def test_a_part_the_agent_cannot_take_is_content_type_not_supported() -> None:
    agent = ScriptedAgent(["never"])
    host = make_host(agent)
    async with serving(host) as url, connect(url, "key-alice") as (_, client):
        message = Message(message_id="m", role=Role.ROLE_USER)
        message.parts.extend([Part(text="listen"), Part(raw=b"RIFF....", media_type="audio/wav")])
        with pytest.raises(ContentTypeNotSupportedError, match="audio/wav"):
            await first_task(client.send_message(SendMessageRequest(message=message)))
        bare = Message(message_id="m", role=Role.ROLE_USER)
        bare.parts.append(Part(raw=b"bytes of no stated type"))
        with pytest.raises(InvalidParamsError, match="mediaType"):
            await first_task(client.send_message(SendMessageRequest(message=bare)))
        assert not agent.runs
        assert await stored(host) == {"alice": ([], {}), "bob": ([], {})}


async def test_narrowed_input_modes_refuse_what_they_leave_out() -> None:
    host = Host(EchoAgent(), channels=[A2AChannel(input_modes=["text/plain"])], store=MemoryStore())
    async with serving(host) as url, connect(url, "anyone") as (http, client):
        card = (await http.get(f"{url}/.well-known/agent-card.json")).json()
        assert card["defaultInputModes"] == ["text/plain"]
        message = Message(message_id="m", role=Role.ROLE_USER)
        data = Part()
        data.data.struct_value.update({"a": 1})
        message.parts.append(data)
        with pytest.raises(ContentTypeNotSupportedError, match="application/json"):
            await first_task(client.send_message(SendMessageRequest(message=message)))


async def test_ended_tasks_cannot_be_cancelled_continued_or_subscribed() -> None:
    host = make_host()
    async with serving(host) as url, connect(url, "key-alice") as (_, client):
        task = await first_task(client.send_message(user("done")))
        before = await stored(host)
        with pytest.raises(TaskNotCancelableError, match="TASK_STATE_COMPLETED"):
            await client.cancel_task(CancelTaskRequest(id=task.id))
        with pytest.raises(UnsupportedOperationError, match="contextId"):
            await first_task(client.send_message(user("more", task_id=task.id)))
        with pytest.raises(UnsupportedOperationError):
            await first_task(client.subscribe(SubscribeToTaskRequest(id=task.id)))
        with pytest.raises(PushNotificationNotSupportedError):
            await client.create_task_push_notification_config(
                TaskPushNotificationConfig(task_id=task.id, url="http://127.0.0.1:9/hook")
            )
        assert await stored(host) == before


async def test_refusals_before_the_route_are_json_rpc_errors() -> None:
    host = make_host()
    async with serving(host) as url, httpx.AsyncClient(timeout=10) as http:
        body = {"jsonrpc": "2.0", "id": 7, "method": "GetTask", "params": {"id": "x"}}
        unauthenticated = await http.post(f"{url}/a2a", json=body, headers=VERSION)
        assert unauthenticated.status_code == 401
        assert unauthenticated.json()["error"]["code"] == -32600
        wrong_key = await http.post(
            f"{url}/a2a", json=body, headers={**VERSION, "Authorization": "Bearer no"}
        )
        assert wrong_key.status_code == 401 and wrong_key.json()["jsonrpc"] == "2.0"
        unknown = await http.post(
            f"{url}/a2a/nobody/here", json=body, headers={**VERSION, "Authorization": "Bearer key-alice"}
        )
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == -32600


async def test_a_run_the_host_refuses_leaves_no_conversation_behind() -> None:
    agent = ScriptedAgent(["slow", Delay(5)])
    host = Host(
        agent,
        channels=[A2AChannel()],
        store=MemoryStore(),
        authenticator=ApiKeyAuthenticator(KEYS),
        limits=Limits(max_concurrent_runs_per_user=1),
    )
    async with serving(host) as url, connect(url, "key-alice") as (_, client):
        stream = client.send_message(user("first"))
        task = (await anext(stream)).task
        before = await stored(host)
        with pytest.raises(InvalidRequestError, match="Too many runs"):
            await first_task(client.send_message(user("second, in a new context")))
        assert await stored(host) == before  # the new context was removed with the refused run
        assert len(agent.runs) == 1
        await client.cancel_task(CancelTaskRequest(id=task.id))
        await stream.aclose()
