"""Rendering records and run events as Responses objects and stream events."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from hosting.core import FunctionCall, FunctionResult, Message, Reasoning, TextPart, Usage
from hosting.core.channels import (
    FunctionArgumentsDelta,
    OutputItemAdded,
    OutputItemDone,
    OutputTextDelta,
    ReasoningTextDelta,
    RunEvent,
    RunFinished,
    RunStarted,
)
from hosting.core.stores import ResponseRecord, RunError
from hosting.responses import StreamRenderer, encode_events, render_response
from hosting.testing import check_sequence, parse_event_stream, strict_response, strict_stream_event

CREATED = ResponseRecord(
    id="resp_1",
    owner="alice",
    created_at=1700000000.5,
    status="in_progress",
    channel="responses",
    agent="echo",
    attributes={"instructions": "be brief", "metadata": {"k": "v"}, "temperature": 0.2, "store": True},
)

EVENTS: list[RunEvent] = [
    RunStarted("in_progress"),
    OutputItemAdded(0, Reasoning("", id="rs_1")),
    ReasoningTextDelta(0, "rs_1", "think"),
    ReasoningTextDelta(0, "rs_1", "ing"),
    OutputItemDone(0, Reasoning("thinking", id="rs_1")),
    OutputItemAdded(1, Message("assistant", (), id="msg_1")),
    OutputTextDelta(1, "msg_1", "Hello"),
    OutputTextDelta(1, "msg_1", ', world \u2028 "quoted"\n'),
    OutputItemDone(1, Message("assistant", (TextPart('Hello, world \u2028 "quoted"\n'),), id="msg_1")),
    OutputItemAdded(2, FunctionCall("call_1", "clock", "", id="fc_1")),
    FunctionArgumentsDelta(2, "fc_1", '{"tz":'),
    FunctionArgumentsDelta(2, "fc_1", '"UTC"}'),
    OutputItemDone(2, FunctionCall("call_1", "clock", '{"tz":"UTC"}', id="fc_1")),
    OutputItemAdded(3, FunctionResult("call_1", "12:00", id="fco_1")),
    OutputItemDone(3, FunctionResult("call_1", "12:00", id="fco_1")),
    RunFinished("completed", 1700000001.25, usage=Usage(input_tokens=3, output_tokens=5, reasoning_tokens=1)),
]

FINAL = CREATED.evolve(
    status="completed",
    completed_at=1700000001.25,
    usage=Usage(input_tokens=3, output_tokens=5, reasoning_tokens=1),
    output_items=(
        Reasoning("thinking", id="rs_1"),
        Message("assistant", (TextPart('Hello, world \u2028 "quoted"\n'),), id="msg_1"),
        FunctionCall("call_1", "clock", '{"tz":"UTC"}', id="fc_1"),
        FunctionResult("call_1", "12:00", id="fco_1"),
    ),
)


def render(created: ResponseRecord, events: list[RunEvent]) -> list[dict[str, Any]]:
    renderer = StreamRenderer(created)
    wire = renderer.start()
    for event in events:
        wire.extend(renderer.feed(event))
    return wire


def test_the_stream_has_the_full_lifecycle_in_order() -> None:
    wire = render(CREATED, EVENTS)
    assert [event["type"] for event in wire] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.output_item.done",
        "response.completed",
    ]
    assert [event["sequence_number"] for event in wire] == list(range(len(wire)))
    for event in wire:
        strict_stream_event(event)
    check_sequence(wire)


def test_deltas_done_texts_and_the_final_response_agree() -> None:
    wire = render(CREATED, EVENTS)
    text = "".join(e["delta"] for e in wire if e["type"] == "response.output_text.delta")
    (done,) = [e["text"] for e in wire if e["type"] == "response.output_text.done"]
    arguments = "".join(e["delta"] for e in wire if e["type"] == "response.function_call_arguments.delta")
    summary = "".join(e["delta"] for e in wire if e["type"] == "response.reasoning_summary_text.delta")
    final = strict_response(wire[-1]["response"])
    assert text == done == 'Hello, world \u2028 "quoted"\n' == final.output[1].content[0].text  # type: ignore[union-attr,index]
    assert arguments == '{"tz":"UTC"}' == final.output[2].arguments  # type: ignore[union-attr]
    assert summary == "thinking" == final.output[0].summary[0].text  # type: ignore[union-attr]
    assert final.status == "completed"
    assert final.usage is not None and final.usage.total_tokens == 8
    assert final.usage.output_tokens_details.reasoning_tokens == 1


def test_the_final_stream_response_equals_the_stored_one() -> None:
    wire = render(CREATED, EVENTS)
    assert wire[-1]["response"] == render_response(FINAL)
    assert wire[0]["response"]["output"] == []
    assert wire[0]["response"]["status"] == "in_progress"


def test_rendering_is_deterministic_so_resume_is_exact() -> None:
    first = encode_events(render(CREATED, EVENTS))
    again = encode_events(render(CREATED, EVENTS))
    assert first == again
    resumed = encode_events(render(CREATED, EVENTS), after=11)
    assert first.endswith(resumed)
    assert resumed.startswith(b"event: response.output_text.delta\ndata: ")
    assert json.loads(resumed.split(b"\n\n")[0].partition(b"data: ")[2])["sequence_number"] == 12


def test_encoded_frames_parse_back_to_the_same_events() -> None:
    wire = render(CREATED, EVENTS)
    parsed = parse_event_stream((encode_events(wire) + b"data: [DONE]\n\n").decode())
    assert parsed == wire


def test_every_response_field_of_the_sdk_is_present_even_when_null() -> None:
    body = render_response(FINAL)
    response = strict_response(body)
    assert body["previous_response_id"] is None
    assert body["conversation"] is None
    # Whole seconds, and numbers for every sampling option the request left out (Open Responses).
    assert body["completed_at"] == 1700000001 and isinstance(body["completed_at"], int)
    assert isinstance(body["created_at"], int)
    assert (body["top_p"], body["top_logprobs"]) == (1.0, 0)
    assert (body["presence_penalty"], body["frequency_penalty"]) == (0.0, 0.0)
    assert response.instructions == "be brief"
    assert response.metadata == {"k": "v"}
    assert response.temperature == 0.2
    assert response.tool_choice == "auto"
    assert response.tools == []
    assert response.text is not None and response.text.format is not None
    assert response.text.format.type == "text"
    assert response.model == "echo"
    assert response.parallel_tool_calls is True
    assert [item.status for item in response.output] == ["completed"] * 4  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("max_output_tokens", {"reason": "max_output_tokens"}),
        ("run_timeout", {"reason": None, "cause": "run_timeout"}),
    ],
)
def test_incomplete_reasons_map_onto_the_sdk_set(reason: str, expected: dict[str, Any]) -> None:
    wire = render(
        CREATED, [RunStarted("in_progress"), RunFinished("incomplete", 2.0, incomplete_reason=reason)]
    )
    assert wire[-1]["type"] == "response.incomplete"
    assert wire[-1]["response"]["incomplete_details"] == expected
    strict_stream_event(wire[-1])


def test_a_failed_run_carries_a_code_the_sdk_accepts_and_keeps_the_original() -> None:
    partial: list[RunEvent] = [
        RunStarted("in_progress"),
        OutputItemAdded(0, Message("assistant", (), id="msg_1")),
        OutputTextDelta(0, "msg_1", "part"),
        OutputItemDone(0, Message("assistant", (TextPart("part"),), id="msg_1")),
        RunFinished("failed", 2.0, error=RunError("interrupted", "The run was interrupted.")),
    ]
    wire = render(CREATED, partial)
    assert wire[-1]["type"] == "response.failed"
    failed = strict_response(wire[-1]["response"])
    assert failed.error is not None
    assert (failed.error.code, failed.error.type, failed.error.message) == (
        "server_error",
        "interrupted",
        "The run was interrupted.",
    )
    assert failed.output[0].content[0].text == "part"  # type: ignore[union-attr,index]


def test_a_cancelled_run_ends_with_response_incomplete_saying_cancelled() -> None:
    wire = render(CREATED, [RunStarted("in_progress"), RunFinished("cancelled", 2.0)])
    assert [event["type"] for event in wire] == [
        "response.created",
        "response.in_progress",
        "response.incomplete",
    ]
    assert wire[-1]["response"]["status"] == "cancelled"
    assert wire[-1]["response"]["incomplete_details"] is None
    strict_stream_event(wire[-1])


def test_a_queued_background_run_starts_with_created_and_queued() -> None:
    queued = CREATED.evolve(status="queued", background=True)
    wire = render(queued, [RunStarted("in_progress"), RunFinished("completed", 2.0)])
    assert [event["type"] for event in wire] == [
        "response.created",
        "response.queued",
        "response.in_progress",
        "response.completed",
    ]
    assert wire[0]["response"]["status"] == "queued"
    assert wire[0]["response"]["background"] is True
    assert wire[2]["response"]["status"] == "in_progress"


def test_whole_items_without_deltas_still_stream_their_text() -> None:
    events: list[RunEvent] = [
        RunStarted("in_progress"),
        OutputItemAdded(0, Message("assistant", (), id="msg_1")),
        OutputItemDone(0, Message("assistant", (TextPart("all at once"),), id="msg_1")),
        OutputItemAdded(1, Reasoning("", id="rs_1")),
        OutputItemDone(1, Reasoning("why", id="rs_1")),
        OutputItemAdded(2, FunctionCall("c", "f", "", id="fc_1")),
        OutputItemDone(2, FunctionCall("c", "f", "{}", id="fc_1")),
        RunFinished("completed", 2.0),
    ]
    wire = render(CREATED, events)
    assert [e["delta"] for e in wire if e["type"] == "response.output_text.delta"] == ["all at once"]
    assert [e["delta"] for e in wire if e["type"] == "response.reasoning_summary_text.delta"] == ["why"]
    assert [e["delta"] for e in wire if e["type"] == "response.function_call_arguments.delta"] == ["{}"]
    for event in wire:
        strict_stream_event(event)


def test_output_messages_are_the_assistants_whatever_the_agent_yielded() -> None:
    record = FINAL.evolve(output_items=(Message("user", (TextPart("odd"),), id="msg_9"),))
    body = render_response(record)
    assert body["output"][0]["role"] == "assistant"
    assert body["output"][0]["content"][0]["text"] == "odd"
    strict_response(body)


def test_options_not_given_render_as_their_defaults_and_given_ones_as_given() -> None:
    body = render_response(CREATED)
    assert body["temperature"] == 0.2
    assert body["instructions"] == "be brief"
    assert body["metadata"] == {"k": "v"}
    assert (body["top_p"], body["tool_choice"], body["truncation"], body["tools"]) == (
        1.0,
        "auto",
        "disabled",
        [],
    )
    assert body["text"] == {"format": {"type": "text"}}
    assert body["parallel_tool_calls"] is True


def test_attributes_outside_the_response_object_are_not_rendered() -> None:
    record = ResponseRecord(
        id="resp_2",
        owner="alice",
        created_at=1700000000.0,
        status="completed",
        attributes={"delivery": {"pushed": ["telegram"]}, "a2a_context": "ctx", "temperature": None},
    )
    body = render_response(record)
    assert "delivery" not in body and "a2a_context" not in body
    assert body["temperature"] == 1.0  # a null stored by an older version renders as the default
    older = render_response(dataclasses.replace(record, attributes={"text": {}}))
    assert older["text"] == {"format": {"type": "text"}}  # as stored for ``text: {}`` before


def test_each_response_gets_its_own_default_objects() -> None:
    first, second = render_response(CREATED), render_response(CREATED)
    first["tools"].append({"type": "function"})
    first["text"]["format"]["type"] = "json_object"
    assert second["tools"] == [] and second["text"] == {"format": {"type": "text"}}
