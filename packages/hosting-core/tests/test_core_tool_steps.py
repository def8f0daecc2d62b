"""A tool step the agent ran itself: one neutral item, stored, streamed and replayed as such."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hosting.core import (
    FunctionCall,
    Host,
    MemoryStore,
    Message,
    RandomIdFactory,
    RunContext,
    SQLiteStore,
    ToolStep,
    Update,
    agent,
    user_message,
)
from hosting.core._history import History
from hosting.core._replay import output_from_events
from hosting.core.channels import (
    OUTPUT_FORMAT_OPTION,
    ChannelRequest,
    FunctionArgumentsDelta,
    OutputFormat,
    OutputItemAdded,
    OutputItemDone,
    RunEvent,
    with_id,
)
from hosting.core.stores import Store, event_from_dict, event_to_dict, item_from_dict, item_to_dict

from .conftest import InvokeChannel

OWNER = "anonymous"


@pytest.fixture(params=["memory", "sqlite"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path)


@agent
async def calculating(context: RunContext) -> AsyncIterator[Update | str]:
    yield ToolStep("calculator", '{"expression":"2+2"}', output="4")
    yield ToolStep("clock", "{}", error="The clock is broken.", server_label="tools")
    yield "2 + 2 = 4"


def test_a_tool_step_round_trips_through_the_storage_format() -> None:
    steps = [
        ToolStep("calculator", '{"a":1}', output="1", id="tool_step_1"),
        ToolStep("clock", "", error="no clock", id="tool_step_2", server_label="tools"),
        ToolStep("noop", "{}"),
    ]
    for step in steps:
        assert item_from_dict(item_to_dict(step)) == step
    assert with_id(steps[2], "x") == ToolStep("noop", "{}", id="x")
    assert steps[1].failed and not steps[0].failed


async def test_the_host_stores_and_streams_a_tool_step_as_one_item(any_store: Store) -> None:
    host = Host(calculating, channels=[InvokeChannel()], store=any_store)
    await host.startup()
    try:
        run = await host.engine.start(
            ChannelRequest(channel="invoke", input=(user_message("2+2"),), stream=True)
        )
        events: list[RunEvent] = [event async for event in run.follow(0)]
        record = await any_store.get_response(OWNER, run.id)
        assert record is not None and record.status == "completed"
        step, failed, message = record.output_items
        assert isinstance(step, ToolStep) and isinstance(failed, ToolStep) and isinstance(message, Message)
        assert step.id and step.id.startswith("tool_step_") and step.output == "4"
        assert (failed.error, failed.output, failed.server_label) == ("The clock is broken.", None, "tools")
        # Added without its outcome, the arguments as a delta, done with the outcome inline.
        assert OutputItemAdded(0, ToolStep("calculator", "", id=step.id)) in events
        assert FunctionArgumentsDelta(0, step.id, '{"expression":"2+2"}') in events
        assert OutputItemDone(0, step) in events
        assert not any(
            isinstance(event, OutputItemDone) and isinstance(event.item, FunctionCall) for event in events
        )
        # The event log round-trips through the stores' format and gives the same output back.
        assert [event_from_dict(event_to_dict(event)) for event in events] == events
        assert output_from_events(events) == record.output_items
        # Followed again later (replayed from the store), the same events.
        again = await host.engine.attach(OWNER, run.id)
        assert [event async for event in again.follow(0)] == events
    finally:
        await host.shutdown()


def test_a_tool_step_cut_short_is_not_kept() -> None:
    events: list[RunEvent] = [
        OutputItemAdded(0, ToolStep("calculator", "", id="t1")),
        FunctionArgumentsDelta(0, "t1", '{"expr'),
    ]
    assert output_from_events(events) == ()


def test_the_output_format_reaches_the_agent_as_a_typed_value() -> None:
    wanted = OutputFormat("json_schema", name="answer", schema={"type": "object"}, strict=True)
    context = RunContext("resp_1", (), (), options={OUTPUT_FORMAT_OPTION: wanted, "temperature": 0.2})
    assert context.output_format is wanted
    assert RunContext("resp_1", (), ()).output_format is None
    # Anything else under the key is not a format (a channel's own value is never misread).
    assert (
        RunContext("resp_1", (), (), options={OUTPUT_FORMAT_OPTION: {"type": "json"}}).output_format is None
    )


def test_a_tool_step_in_the_input_gets_a_tool_step_id() -> None:
    # A client replays a step it was shown (an `mcp_call` item) without its id.
    history = History(MemoryStore(), RandomIdFactory())
    (step,) = history.with_ids((ToolStep("clock", "{}", output="12:00"),), "alice")
    assert step.id is not None and step.id.startswith("tool_step_")
