"""Runs nobody could follow keep no event log; a replay rebuilds their events from the record."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hosting.core import (
    ErrorUpdate,
    FunctionCall,
    FunctionResult,
    Host,
    MemoryStore,
    Message,
    Reasoning,
    ReasoningDelta,
    RunContext,
    SQLiteStore,
    TextPart,
    Update,
    Usage,
    agent,
    user_message,
)
from hosting.core._replay import replay_events
from hosting.core.channels import (
    ChannelRequest,
    FunctionArgumentsDelta,
    OutputItemAdded,
    OutputItemDone,
    OutputTextDelta,
    ReasoningTextDelta,
    RunEvent,
    RunFinished,
    RunStarted,
)
from hosting.core.stores import ResponseRecord, RunError, Store, event_to_dict

from .conftest import InvokeChannel

OWNER = "anonymous"


@pytest.fixture(params=["memory", "sqlite"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path)


async def started_host(target: object, store: Store, **options: object) -> Host:
    host = Host(target, channels=[InvokeChannel()], store=store, **options)  # type: ignore[arg-type]
    await host.startup()
    return host


def ask(text: str, **fields: object) -> ChannelRequest:
    return ChannelRequest(channel="invoke", input=(user_message(text),), **fields)  # type: ignore[arg-type]


def log_rows(store: Store, response_id: str) -> int | None:
    """For the SQLite store, how many `run_log_chunks` rows the response has (None for other stores)."""
    if not isinstance(store, SQLiteStore):
        return None
    with sqlite3.connect(store.path) as connection:
        (count,) = connection.execute(
            "SELECT COUNT(*) FROM run_log_chunks WHERE response_id = ?", (response_id,)
        ).fetchone()
    return int(count)


async def replayed(host: Host, response_id: str, start: int = 0) -> list[RunEvent]:
    run = await host.engine.attach(OWNER, response_id)
    assert run.done
    return [event async for event in run.follow(start)]


@agent
async def everything(context: RunContext) -> AsyncIterator[Update | str]:
    yield "Hel"
    yield "lo"
    yield ReasoningDelta("because")
    yield FunctionCall("call_1", "lookup", '{"q":1}')
    yield FunctionResult("call_1", "42")
    yield Reasoning("")  # an empty item: added and done, no delta
    yield Usage(input_tokens=3, output_tokens=1)


async def test_a_run_nobody_could_follow_keeps_no_log_and_replays_from_its_record(any_store: Store) -> None:
    host = await started_host(everything, any_store)
    try:
        result = await host.engine.run(ask("x"))  # not streamed, not in the background, no key
        record = await any_store.get_response(OWNER, result.response_id)
        assert record is not None and record.status == "completed"
        assert await any_store.read_run_events(OWNER, record.id) == ()
        assert log_rows(any_store, record.id) in (None, 0)

        message, reasoning, call, output, empty = record.output_items
        assert message == Message("assistant", (TextPart("Hello"),), id=message.id)
        assert isinstance(reasoning, Reasoning) and isinstance(call, FunctionCall)
        assert isinstance(empty, Reasoning) and empty.text == ""
        assert message.id and reasoning.id and call.id and empty.id
        expected: list[RunEvent] = [
            RunStarted("in_progress"),
            OutputItemAdded(0, Message("assistant", (), id=message.id)),
            OutputTextDelta(0, message.id, "Hello"),
            OutputItemDone(0, message),
            OutputItemAdded(1, Reasoning("", id=reasoning.id)),
            ReasoningTextDelta(1, reasoning.id, "because"),
            OutputItemDone(1, reasoning),
            OutputItemAdded(2, FunctionCall("call_1", "lookup", "", id=call.id)),
            FunctionArgumentsDelta(2, call.id, '{"q":1}'),
            OutputItemDone(2, call),
            OutputItemAdded(3, output),
            OutputItemDone(3, output),
            OutputItemAdded(4, empty),
            OutputItemDone(4, empty),
            RunFinished(
                status="completed",
                completed_at=record.completed_at or -1.0,
                usage=Usage(input_tokens=3, output_tokens=1),
            ),
        ]
        assert await replayed(host, record.id) == expected
        # Rebuilt the same way every time, so resuming after a number is exact.
        assert await replayed(host, record.id, 5) == expected[5:]
        run = await host.engine.attach(OWNER, record.id)
        assert run.final == record
        assert (run.created.status, run.created.output_items, run.created.completed_at) == (
            "in_progress",
            (),
            None,
        )
    finally:
        await host.shutdown()


async def test_a_streamed_stored_run_still_writes_its_whole_log(any_store: Store) -> None:
    @agent
    async def talker(context: RunContext) -> AsyncIterator[str]:
        yield "a"
        yield "b"

    host = await started_host(talker, any_store)
    try:
        run = await host.engine.start(ask("x", stream=True))
        assert (await run.wait()).text == "ab"
        stored = await any_store.read_run_events(OWNER, run.id)
        assert [(event.number, dict(event.data)) for event in stored] == [
            (number, event_to_dict(event)) for number, event in enumerate(run.events)
        ]
        assert log_rows(any_store, run.id) in (None, 1)
        # The stored log is used as it is: two deltas, as they were streamed, not one rebuilt.
        events = await replayed(host, run.id)
        assert events == run.events
        assert [event.delta for event in events if isinstance(event, OutputTextDelta)] == ["a", "b"]
    finally:
        await host.shutdown()


async def test_a_failed_run_nobody_could_follow_replays_its_partial_output_and_error(
    any_store: Store,
) -> None:
    @agent
    async def failing(context: RunContext) -> AsyncIterator[Update | str]:
        yield "partial"
        yield ErrorUpdate("no luck today", code="unlucky")

    host = await started_host(failing, any_store)
    try:
        result = await host.engine.run(ask("x"))
        assert result.status == "failed"
        assert await any_store.read_run_events(OWNER, result.response_id) == ()
        events = await replayed(host, result.response_id)
        (message,) = result.record.output_items
        assert events[1:-1] == [
            OutputItemAdded(0, Message("assistant", (), id=message.id)),
            OutputTextDelta(0, message.id or "", "partial"),
            OutputItemDone(0, message),
        ]
        assert events[-1] == RunFinished(
            status="failed",
            completed_at=result.record.completed_at or -1.0,
            error=RunError("unlucky", "no luck today"),
        )
    finally:
        await host.shutdown()


async def test_an_incomplete_run_nobody_could_follow_replays_its_reason(any_store: Store) -> None:
    @agent
    async def slow(context: RunContext) -> AsyncIterator[str]:
        yield "begun"
        await asyncio.sleep(30)

    host = await started_host(slow, any_store, run_timeout=0.05)
    try:
        result = await asyncio.wait_for(host.engine.run(ask("x")), 10)
        assert (result.status, result.record.incomplete_reason) == ("incomplete", "run_timeout")
        assert await any_store.read_run_events(OWNER, result.response_id) == ()
        events = await replayed(host, result.response_id)
        assert [type(event) for event in events] == [
            RunStarted,
            OutputItemAdded,
            OutputTextDelta,
            OutputItemDone,
            RunFinished,
        ]
        finished = events[-1]
        assert isinstance(finished, RunFinished)
        assert (finished.status, finished.incomplete_reason, finished.error) == (
            "incomplete",
            "run_timeout",
            None,
        )
    finally:
        await host.shutdown()


async def test_whole_items_are_rebuilt_exactly_as_the_engine_emitted_them() -> None:
    # Items an agent yields whole are emitted by the same function a replay uses: a streamed run
    # of them keeps a log equal, event for event, to what its record rebuilds.
    @agent
    async def whole(context: RunContext) -> AsyncIterator[Update]:
        yield Message("assistant", (TextPart("one "), TextPart("two")))
        yield Reasoning("why")
        yield FunctionCall("", "lookup", "")  # no call id: the engine makes one; no arguments
        yield FunctionResult("call_9", "done")
        yield Message("assistant", ())

    host = await started_host(whole, MemoryStore())
    try:
        run = await host.engine.start(ask("x", stream=True))
        final = (await run.wait()).record
        assert replay_events(final) == run.events
        (_, _, call, _, _) = final.output_items
        assert isinstance(call, FunctionCall) and call.call_id.startswith("call_") and call.id
    finally:
        await host.shutdown()


async def test_an_output_item_without_an_id_cannot_be_rebuilt() -> None:
    record = ResponseRecord(
        "resp_x", OWNER, time.time(), "completed", output_items=(Message("assistant", ()),)
    )
    with pytest.raises(ValueError, match="needs its id"):
        replay_events(record)


async def test_a_run_of_another_process_that_kept_no_log_is_followed_to_its_rebuilt_end() -> None:
    store = MemoryStore()
    host = await started_host(everything, store)
    host.engine.remote_poll_interval = 0.01
    try:
        response_id = host.engine.new_id("response", owner=OWNER)
        # Another process wrote the run at its start and will write its end without a log.
        created = ResponseRecord(
            response_id, OWNER, time.time(), "in_progress", input_items=(user_message("x"),)
        )
        await store.create_response(created)
        followed = await host.engine.attach(OWNER, response_id)
        assert not followed.done
        collected: list[RunEvent] = []

        async def follow() -> None:
            async for event in followed.follow():
                collected.append(event)

        follower = asyncio.create_task(follow())
        answer = Message("assistant", (TextPart("from afar"),), id=host.engine.new_id("message", owner=OWNER))
        final = created.evolve(status="completed", output_items=(answer,), completed_at=time.time())
        await store.update_response(final)
        await asyncio.wait_for(follower, timeout=5)
        assert collected == replay_events(final)
        assert [event.delta for event in collected if isinstance(event, OutputTextDelta)] == ["from afar"]
        assert (await followed.wait()).record == final
    finally:
        await host.shutdown()


async def test_a_run_interrupted_by_a_restart_replays_as_failed() -> None:
    store = MemoryStore()
    host = await started_host(everything, store)
    try:
        response_id = host.engine.new_id("response", owner=OWNER)
        await store.create_response(ResponseRecord(response_id, OWNER, time.time(), "in_progress"))
        await host.engine.startup()  # a restart: runs left in progress are failed, with no log
        events = await replayed(host, response_id)
        assert [type(event) for event in events] == [RunStarted, RunFinished]
        finished = events[-1]
        assert isinstance(finished, RunFinished)
        assert finished.status == "failed"
        assert finished.error is not None and finished.error.code == "interrupted"
    finally:
        await host.shutdown()
