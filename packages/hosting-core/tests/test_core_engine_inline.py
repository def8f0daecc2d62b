"""The engine: a live inline run keeps no events and cannot be followed into an empty stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from hosting.core import (
    Host,
    IsolationKeys,
    MemoryStore,
    NotFoundError,
    RunContext,
    agent,
    user_message,
)
from hosting.core.channels import ChannelRequest, RunFinished

from .conftest import InvokeChannel

# -- engine: a live inline run keeps no events -----------------------------------------------------


async def test_a_live_inline_run_is_not_followed_into_an_empty_stream() -> None:
    # An inline run records no events: whoever learns its id before its end (the agent gets
    # it) must not follow it live into a stream with no end; to them it is not stored yet.
    learned: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    release = asyncio.Event()

    @agent
    async def slow(context: RunContext) -> AsyncIterator[str]:
        learned.set_result(context.response_id)
        yield "first "
        await release.wait()
        yield "second"

    host = Host(slow, channels=[InvokeChannel()], store=MemoryStore())
    running = asyncio.create_task(
        host.engine.run(ChannelRequest(channel="invoke", input=(user_message("go"),)))
    )
    response_id = await asyncio.wait_for(learned, 10)
    owner = IsolationKeys().user
    followed: list[type] = []
    try:
        run = await host.engine.attach(owner, response_id)
    except NotFoundError:
        pass  # not stored before its end: fine
    else:
        release.set()
        async for event in run.follow():
            followed.append(type(event))
        assert followed and followed[-1] is RunFinished  # a follower sees the run's end
    release.set()
    result = await asyncio.wait_for(running, 10)
    assert result.text == "first second"
    # Stored now: its events are rebuilt from the record.
    replayed = await host.engine.attach(owner, response_id)
    assert [type(event) for event in replayed.events][-1] is RunFinished
    assert replayed.final is not None and replayed.final.status == "completed"
    await host.shutdown()
