"""Ids: a function call's call id is unique even for calls made in the same millisecond."""

from __future__ import annotations

import types
from collections.abc import AsyncIterator

import pytest

from hosting.core import (
    FunctionCall,
    Host,
    MemoryStore,
    PartitionedIdFactory,
    RunContext,
    Update,
    _ids,
    agent,
    user_message,
)
from hosting.core.channels import ChannelRequest

from .conftest import InvokeChannel

# -- ids: a function call's call id ----------------------------------------------------------------


async def test_function_calls_made_in_one_millisecond_get_distinct_call_ids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Ids start with the owner's partition and the time: a call id cut from an id's first digits
    # would keep only a few random bits, and calls of one burst would share call ids.
    monkeypatch.setattr(_ids, "time", types.SimpleNamespace(time_ns=lambda: 1_700_000_000_000_000_000))
    calls = 2_000

    @agent
    async def caller(context: RunContext) -> AsyncIterator[Update]:
        for number in range(calls):
            yield FunctionCall("", "lookup", f'{{"n": {number}}}')

    host = Host(
        caller,
        channels=[InvokeChannel()],
        store=MemoryStore(),
        id_factory=PartitionedIdFactory(secret="s"),
    )
    result = await host.engine.run(ChannelRequest(channel="invoke", input=(user_message("go"),)))
    assert result.status == "completed"
    call_ids = [item.call_id for item in result.output if isinstance(item, FunctionCall)]
    assert len(call_ids) == calls
    assert len(set(call_ids)) == calls
    await host.shutdown()
