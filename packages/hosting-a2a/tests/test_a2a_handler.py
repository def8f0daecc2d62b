"""The handler acts for the caller whose keys travel in the SDK's call context, also where the
request's ContextVar is not set (a task the SDK starts to read a stream)."""

from __future__ import annotations

import pytest
from a2a.server.context import ServerCallContext
from a2a.types import (
    GetTaskRequest,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageRequest,
    TaskNotFoundError,
)

from hosting.a2a._handler import KEYS, HostedAgentHandler
from hosting.core import IsolationKeys, get_current_isolation_keys
from hosting.testing import EchoAgent, channel_context


def call_for(user: str) -> ServerCallContext:
    return ServerCallContext(state={KEYS: IsolationKeys(user=user)})


def hello() -> SendMessageRequest:
    return SendMessageRequest(
        message=Message(message_id="m", role=Role.ROLE_USER, parts=[Part(text="hello")])
    )


async def test_calls_act_for_the_keys_in_the_call_context_not_the_context_var() -> None:
    async with channel_context(EchoAgent(), channel="a2a") as context:
        handler = HostedAgentHandler(context, "echo", input_modes=["text/plain"])
        assert get_current_isolation_keys() is None  # as in a task of the SDK's own
        task = await handler.on_message_send(hello(), call_for("alice"))
        assert task.id  # type: ignore[union-attr]

        events = [event async for event in handler.on_message_send_stream(hello(), call_for("alice"))]
        streamed_id = events[0].id  # type: ignore[union-attr]

        mine = await handler.on_list_tasks(ListTasksRequest(), call_for("alice"))
        assert {t.id for t in mine.tasks} == {task.id, streamed_id}  # type: ignore[union-attr]
        assert (await handler.on_list_tasks(ListTasksRequest(), call_for("bob"))).total_size == 0
        with pytest.raises(TaskNotFoundError):
            await handler.on_get_task(GetTaskRequest(id=task.id), call_for("bob"))  # type: ignore[union-attr]
        assert get_current_isolation_keys() is None
