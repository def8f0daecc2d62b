"""The official SDK replays stored responses that were not streamed (their events are rebuilt
from the stored response, not from a stored log), against a real uvicorn, on both stores."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from openai import OpenAI

from hosting.core import FunctionCall, Host, MemoryStore, ReasoningDelta, SQLiteStore, Usage
from hosting.core.stores import Store
from hosting.testing import Delay, ScriptedAgent, strict_response, strict_stream_event

Sdk = Callable[..., OpenAI]
MakeHost = Callable[..., Host]


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path)


def test_a_response_created_without_stream_replays_through_the_stream_helper(
    sdk: Sdk, make_host: MakeHost, store: Store
) -> None:
    agent = ScriptedAgent(
        [
            ReasoningDelta("weighing it"),
            "It is noon; ",
            "checking.",
            FunctionCall("call_1", "clock", '{"tz":"UTC"}'),
            Usage(input_tokens=5, output_tokens=3),
        ]
    )
    client = sdk(make_host(agent, store=store))
    created = client.responses.create(model="scripted", input="what time is it?")
    assert created.status == "completed"
    strict_response(created.to_dict())
    stored = client.responses.retrieve(created.id)
    assert stored.to_dict() == created.to_dict()

    events = list(client.responses.retrieve(created.id, stream=True))
    for event in events:
        strict_stream_event(event.to_dict())
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert events[-1].type == "response.completed"
    assert events[-1].to_dict()["response"] == stored.to_dict()
    text = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert text == ["It is noon; checking."]  # the message comes back whole, in one delta
    arguments = [event.delta for event in events if event.type == "response.function_call_arguments.delta"]
    assert arguments == ['{"tz":"UTC"}']

    # The SDK's stream helper checks the order of every event and rebuilds the response itself.
    with client.responses.stream(response_id=created.id) as stream:
        final = stream.get_final_response()
    assert (final.id, final.status) == (created.id, "completed")
    assert final.output_text == "It is noon; checking."
    assert [item.type for item in final.output] == ["reasoning", "message", "function_call"]
    assert final.usage is not None and final.usage.output_tokens == 3

    resumed = list(client.responses.retrieve(created.id, stream=True, starting_after=4))
    assert [event.to_dict() for event in resumed] == [event.to_dict() for event in events[5:]]


def test_an_incomplete_response_created_without_stream_replays_to_its_end(
    sdk: Sdk, make_host: MakeHost, store: Store
) -> None:
    agent = ScriptedAgent(["begun", Delay(30)])
    client = sdk(make_host(agent, store=store, run_timeout=0.1))
    created = client.responses.create(model="scripted", input="x")
    assert (created.status, created.output_text) == ("incomplete", "begun")
    with client.responses.stream(response_id=created.id) as stream:
        seen = [event.to_dict() for event in stream]
    assert seen[-1]["type"] == "response.incomplete"
    assert seen[-1]["response"] == client.responses.retrieve(created.id).to_dict()
    assert seen[-1]["response"]["incomplete_details"] is not None
