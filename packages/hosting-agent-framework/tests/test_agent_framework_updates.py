"""Agent Framework contents become neutral updates: deltas, whole calls, results, usage totals."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import pytest
from agent_framework import AgentResponse, Content
from agent_framework import Message as AFMessage

from hosting.agent_framework._updates import UpdateMapper, output_text
from hosting.core import (
    ErrorUpdate,
    FunctionCall,
    FunctionResult,
    ItemBreak,
    ReasoningDelta,
    TextDelta,
    ToolStep,
    Usage,
)


def test_text_and_reasoning_stream_as_deltas_and_empty_pieces_vanish() -> None:
    mapper = UpdateMapper()
    updates = [
        *mapper.feed([Content.from_text_reasoning(text="hmm")]),
        *mapper.feed([Content.from_text("Hel")]),
        *mapper.feed([Content.from_text("")]),
        *mapper.feed([Content.from_text("lo")]),
    ]
    assert updates == [ReasoningDelta("hmm"), TextDelta("Hel"), TextDelta("lo")]
    assert mapper.finish() == []


def test_a_chunked_call_is_emitted_once_complete_and_a_repeated_call_is_dropped() -> None:
    mapper = UpdateMapper()
    assert mapper.feed([Content.from_function_call(call_id="c1", name="lookup", arguments='{"q":')]) == []
    assert mapper.feed([Content.from_function_call(call_id="c1", name="lookup", arguments='"x"}')]) == []
    # A chunk without an id continues the last call (some providers only stamp the first chunk).
    assert mapper.feed([Content(type="function_call", arguments="")]) == []
    finished = mapper.finish()
    assert finished == [FunctionCall(call_id="c1", name="lookup", arguments='{"q":"x"}')]
    # Agent Framework echoes a declaration-only call when it ends its loop: not emitted twice.
    assert mapper.feed([Content.from_function_call(call_id="c1", name="lookup", arguments=None)]) == []
    assert mapper.finish() == []


def test_a_client_call_is_flushed_before_the_text_or_result_that_follows_it() -> None:
    mapper = UpdateMapper(client_tools={"weather"})
    updates = [
        *mapper.feed([Content.from_function_call(call_id="c1", name="weather", arguments={"city": "Paris"})]),
        *mapper.feed([Content.from_function_result(call_id="c0", result="sunny")]),
        *mapper.feed(
            [Content.from_function_call(call_id="c2", name="weather", arguments='{"city": "Rome"}')]
        ),
        *mapper.feed([Content.from_text("done")]),
    ]
    assert updates == [
        FunctionCall("c1", "weather", json.dumps({"city": "Paris"})),
        FunctionResult("c0", "sunny"),  # a result of no call of this run: kept as it came
        FunctionCall("c2", "weather", '{"city": "Rome"}'),
        TextDelta("done"),
    ]


def test_an_own_tool_call_and_its_result_are_one_tool_step() -> None:
    mapper = UpdateMapper(client_tools={"lookup"})
    updates = [
        *mapper.feed(
            [
                Content.from_function_call(call_id="c1", name="weather", arguments={"city": "Paris"}),
                Content.from_function_call(call_id="c2", name="weather", arguments='{"city": "Rome"}'),
            ]
        ),
        *mapper.feed([Content.from_text("checking")]),  # the calls are complete; their results come
        *mapper.feed([Content.from_function_result(call_id="c2", result="rain")]),
        *mapper.feed(
            [
                Content.from_function_result(
                    call_id="c1", result="Error: Function failed.", exception="KeyError: secret"
                )
            ]
        ),
        *mapper.feed([Content.from_function_call(call_id="c3", name="lookup", arguments="{}")]),
        *mapper.feed([Content.from_function_call(call_id="c4", name="weather", arguments="{}")]),
    ]
    updates += mapper.finish()
    assert updates == [
        TextDelta("checking"),
        ToolStep("weather", '{"city": "Rome"}', output="rain"),
        # The exception's text is for the log; the caller sees the result's text.
        ToolStep("weather", json.dumps({"city": "Paris"}), error="Error: Function failed."),
        FunctionCall("c3", "lookup", "{}"),  # the client's tool: the client runs it
        FunctionCall("c4", "weather", "{}"),  # no result came (the loop stopped): shown as it is
    ]


def test_usage_adds_up_unless_marked_replace_and_is_kept_per_author() -> None:
    mapper = UpdateMapper()
    mapper.feed([Content.from_usage({"input_token_count": 5, "output_token_count": 3})], author="a")
    mapper.feed([Content.from_usage({"input_token_count": 1, "output_token_count": 1})], author="a")
    # A "replace" usage is the running total so far (Agent Framework's tool loop reports it so).
    mapper.feed(
        [Content.from_usage({"input_token_count": 12, "output_token_count": 5}, merge_mode="replace")],
        author="a",
    )
    mapper.feed(
        [
            Content.from_usage(
                {
                    "input_token_count": 2,
                    "output_token_count": 2,
                    "reasoning_output_token_count": 1,
                    "cache_read_input_token_count": 1,
                }
            )
        ],
        author="b",
    )
    assert mapper.finish() == [Usage(input_tokens=14, output_tokens=7, reasoning_tokens=1, cached_tokens=1)]


def test_a_new_author_or_message_id_starts_a_new_item() -> None:
    mapper = UpdateMapper()
    updates = [
        *mapper.feed([Content.from_text("one")], author="writer", message_id="m1"),
        *mapper.feed([Content.from_text(" more")], author="writer", message_id="m1"),
        *mapper.feed([Content.from_text("two")], author="editor", message_id="m2"),
        *mapper.feed([Content.from_text("three")], author="editor", message_id="m3"),
    ]
    assert updates == [
        TextDelta("one"),
        TextDelta(" more"),
        ItemBreak(),
        TextDelta("two"),
        ItemBreak(),
        TextDelta("three"),
    ]


def test_whole_responses_break_between_messages_and_count_usage_once() -> None:
    response = AgentResponse(
        messages=[
            AFMessage("assistant", [Content.from_text("first")]),
            AFMessage("assistant", [Content.from_text("second")]),
        ],
        usage_details={"input_token_count": 4, "output_token_count": 2},
    )
    mapper = UpdateMapper()
    assert mapper.feed_response(response) == [TextDelta("first"), ItemBreak(), TextDelta("second")]
    assert mapper.finish() == [Usage(input_tokens=4, output_tokens=2)]


def test_an_error_content_fails_with_a_fixed_message_and_logs_the_detail(
    caplog: pytest.LogCaptureFixture,
) -> None:
    mapper = UpdateMapper()
    with caplog.at_level(logging.WARNING, logger="hosting.agent_framework"):
        updates = mapper.feed([Content.from_error(message="secret upstream detail", error_code="boom")])
    assert updates == [ErrorUpdate("The agent reported an error.", code="agent_error")]
    assert mapper.failed
    assert "secret upstream detail" in caplog.text


def test_contents_without_a_neutral_form_are_left_out() -> None:
    mapper = UpdateMapper()
    assert mapper.feed([Content.from_uri("https://example.test/x.png", media_type="image/png")]) == []
    assert mapper.feed([Content.from_hosted_file("file_1")]) == []


def test_hosted_mcp_calls_and_results_become_tool_steps_of_their_server() -> None:
    mapper = UpdateMapper()
    updates = [
        *mapper.feed(
            [
                Content.from_mcp_server_tool_call(
                    call_id="m1", tool_name="search", server_name="docs", arguments={"q": "x"}
                )
            ]
        ),
        *mapper.feed([Content.from_mcp_server_tool_result(call_id="m1", output="found")]),
    ]
    assert updates == [ToolStep("search", '{"q": "x"}', output="found", server_label="docs")]


@dataclass
class Point:
    x: int


def test_output_text_joins_text_and_encodes_anything_else_as_json() -> None:
    assert output_text(None) == ""
    assert output_text("plain") == "plain"
    assert output_text([Content.from_text("a"), Content.from_text("b")]) == "ab"
    assert output_text(Content.from_text("one")) == "one"
    assert json.loads(output_text({"n": 1})) == {"n": 1}
    assert json.loads(output_text(3)) == 3
    mixed = json.loads(output_text([Content.from_text("a"), Content.from_hosted_file("f1")]))
    assert [part["type"] for part in mixed] == ["text", "hosted_file"]
    assert output_text(Point(1)) == json.dumps(str(Point(1)))
