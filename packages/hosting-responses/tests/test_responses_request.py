"""Parsing ``POST /responses`` bodies into channel-neutral requests."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hosting.core import (
    FilePart,
    FunctionCall,
    FunctionResult,
    ImagePart,
    InvalidRequestError,
    Limits,
    Message,
    Reasoning,
    TextPart,
    ToolSpec,
)
from hosting.core.channels import OUTPUT_FORMAT_OPTION, OutputFormat
from hosting.responses import ALLOWED_OPTIONS
from hosting.responses._items import ItemReference
from hosting.responses._json_body import json_depth, load_json
from hosting.responses._request import parse_create

LIMITS = Limits()


def parse(body: Any, limits: Limits = LIMITS) -> Any:
    return parse_create(body, channel="responses", limits=limits)


def rejected(body: Any, limits: Limits = LIMITS) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        parse(body, limits)
    return caught.value


def test_string_input_is_one_user_message() -> None:
    parsed = parse({"model": "echo", "input": "hello"})
    assert parsed.input == [Message("user", (TextPart("hello"),))]
    assert parsed.request.agent == "echo"
    assert parsed.request.channel == "responses"
    assert parsed.request.store is True
    assert parsed.request.stream is False


def test_every_input_item_shape_is_parsed() -> None:
    body = {
        "input": [
            {"role": "system", "content": "be brief"},
            {"role": "developer", "content": [{"type": "input_text", "text": "dev"}]},
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "look"},
                    {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "high"},
                    {"type": "input_file", "file_id": "file_1", "filename": "a.pdf"},
                ],
            },
            {
                "type": "message",
                "id": "msg_old",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": "seen", "annotations": []}],
            },
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "clock", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "12:00"},
            {
                "type": "function_call_output",
                "call_id": "call_2",
                "output": [{"type": "input_text", "text": "ok"}],
            },
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "hmm"}]},
            {"type": "item_reference", "id": "msg_earlier"},
        ]
    }
    items = parse(body).input
    assert items == [
        Message("system", (TextPart("be brief"),)),
        Message("developer", (TextPart("dev"),)),
        Message(
            "user",
            (
                TextPart("look"),
                ImagePart(url="data:image/png;base64,AAAA", detail="high"),
                FilePart(file_id="file_1", filename="a.pdf"),
            ),
        ),
        Message("assistant", (TextPart("seen"),)),
        FunctionCall("call_1", "clock", "{}"),
        FunctionResult("call_1", "12:00"),
        FunctionResult("call_2", "ok"),
        Reasoning("hmm"),
        ItemReference("msg_earlier", "input[8]"),
    ]
    # Ids a client sends are not kept: the engine gives stored input items fresh ones.
    assert all(getattr(item, "id", None) is None for item in items[:-1])


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({}, "input", "missing_required_parameter"),
        ({"input": None}, "input", "missing_required_parameter"),
        ({"input": 42}, "input", "invalid_type"),
        ({"input": {"role": "user"}}, "input", "invalid_type"),
        ({"input": [42]}, "input[0]", "invalid_type"),
        ({"input": [{"role": "robot", "content": "x"}]}, "input[0].role", "invalid_value"),
        ({"input": [{"role": "user", "content": 5}]}, "input[0].content", "invalid_type"),
        (
            {"input": [{"role": "user", "content": [{"type": "audio"}]}]},
            "input[0].content[0].type",
            "invalid_value",
        ),
        ({"input": [{"role": "user", "content": [{"type": "input_image"}]}]}, "input[0].content[0]", None),
        ({"input": [{"type": "web_search_call"}]}, "input[0].type", "invalid_value"),
        (
            {"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]},
            "input[0].call_id",
            "invalid_type",
        ),
        ({"input": "x", "model": 3}, "model", "invalid_type"),
        ({"input": "x", "instructions": ["a"]}, "instructions", "invalid_type"),
        ({"input": "x", "temperature": 3}, "temperature", "invalid_value"),
        ({"input": "x", "temperature": "hot"}, "temperature", "invalid_type"),
        ({"input": "x", "top_p": True}, "top_p", "invalid_type"),
        ({"input": "x", "max_output_tokens": 0}, "max_output_tokens", "invalid_value"),
        ({"input": "x", "stream": "yes"}, "stream", "invalid_type"),
        ({"input": "x", "store": 1}, "store", "invalid_type"),
        ({"input": "x", "truncation": "sometimes"}, "truncation", "invalid_value"),
        ({"input": "x", "tool_choice": "always"}, "tool_choice", "invalid_value"),
        ({"input": "x", "tools": [{"type": "web_search"}]}, "tools[0].type", "invalid_value"),
        ({"input": "x", "tools": [{"type": "function"}]}, "tools[0].name", "missing_required_parameter"),
        ({"input": "x", "text": {"format": {"type": "xml"}}}, "text.format.type", "invalid_value"),
        ({"input": "x", "reasoning": {"effort": "extreme"}}, "reasoning.effort", "invalid_value"),
        ({"input": "x", "text": {"verbosity": "loud"}}, "text.verbosity", "invalid_value"),
        ({"input": "x", "metadata": {"k": 1}}, "metadata.k", "invalid_type"),
        ({"input": "x", "metadata": {f"k{n}": "v" for n in range(17)}}, "metadata", "invalid_value"),
        ({"input": "x", "conversation": 7}, "conversation", "invalid_type"),
        (
            {"input": "x", "conversation": "conv_1", "previous_response_id": "resp_1"},
            "previous_response_id",
            "mutually_exclusive_parameters",
        ),
    ],
)
def test_bad_fields_are_400s_naming_their_param(body: Any, param: str, code: str | None) -> None:
    error = rejected(body)
    assert error.status_code == 400
    assert error.param == param
    if code is not None:
        assert error.code == code


def test_a_body_that_is_not_an_object_is_refused() -> None:
    error = rejected(["input"])
    assert error.param is None
    assert "JSON object" in error.message


def test_limits_of_the_host_bound_the_input() -> None:
    small = Limits(max_input_items=2, max_text_chars=5)
    assert rejected({"input": ["a", "b", "c"]}, small).param == "input"
    assert rejected({"input": "too long"}, small).code == "string_above_max_length"
    assert parse({"input": [{"role": "user", "content": "short"}] * 2}, small).input


def test_options_reach_the_agent_only_through_the_allowlist() -> None:
    body = {
        "input": "x",
        "temperature": 0.5,
        "top_p": 1,
        "max_output_tokens": 100,
        "tool_choice": {"type": "function", "name": "clock"},
        "parallel_tool_calls": False,
        "text": {
            "format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}, "strict": True}
        },
        "reasoning": {"effort": "low", "summary": "auto"},
        "truncation": "auto",
        "user": "u-1",
        "safety_identifier": "s-1",
        "include": ["reasoning.encrypted_content"],
        "frobnicate": {"unknown": True},
        "stream_options": {"include_obfuscation": False},
    }
    request = parse(body).request
    # The allowlisted options, and the requested format typed, as `RunContext.output_format` reads it.
    assert set(request.options) - {OUTPUT_FORMAT_OPTION} <= set(ALLOWED_OPTIONS)
    assert request.options[OUTPUT_FORMAT_OPTION] == OutputFormat(
        "json_schema", name="out", schema={"type": "object"}, strict=True
    )
    assert {name: value for name, value in request.options.items() if name != OUTPUT_FORMAT_OPTION} == {
        "temperature": 0.5,
        "top_p": 1.0,
        "max_output_tokens": 100,
        "tool_choice": {"type": "function", "name": "clock"},
        "parallel_tool_calls": False,
        "text": {
            "format": {
                "type": "json_schema",
                "name": "out",
                "schema": {"type": "object"},
                "description": None,
                "strict": True,
            }
        },
        "reasoning": {"effort": "low", "summary": "auto", "generate_summary": None},
        "truncation": "auto",
        "user": "u-1",
        "safety_identifier": "s-1",
        "include": ["reasoning.encrypted_content"],
    }
    assert "frobnicate" not in request.attributes
    assert request.attributes["temperature"] == 0.5
    assert request.attributes["store"] is True


def test_tools_instructions_metadata_and_conversation() -> None:
    body = {
        "input": "x",
        "instructions": "be kind",
        "metadata": {"topic": "tests"},
        "conversation": {"id": "conv_1"},
        "tools": [
            {
                "type": "function",
                "name": "clock",
                "description": "the time",
                "parameters": {"type": "object", "properties": {}},
                "strict": True,
            }
        ],
    }
    request = parse(body).request
    assert request.instructions == "be kind"
    assert request.metadata == {"topic": "tests"}
    assert request.conversation_id == "conv_1"
    assert request.tools == (
        ToolSpec(
            "clock", description="the time", parameters={"type": "object", "properties": {}}, strict=True
        ),
    )
    assert request.attributes["tools"] == [
        {
            "type": "function",
            "name": "clock",
            "description": "the time",
            "parameters": {"type": "object", "properties": {}},
            "strict": True,
        }
    ]
    assert request.attributes["instructions"] == "be kind"
    assert parse({"input": "x", "conversation": "conv_2"}).request.conversation_id == "conv_2"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": 1, "b": [1.5, -0.25, 1e-7, 2.5e300], "c": "caf\\u00e9 \\ud83d\\ude00"}',
        b'{"big": 123456789012345678901234567890, "neg": -98765432109876543210}',
        b'{"text": "a run of digits 12345678901234567890 in a string", "n": 7}',
        b'{"dup": 1, "dup": 2}',
    ],
)
def test_bodies_parse_to_what_the_standard_library_reads(raw: bytes) -> None:
    assert load_json(raw, max_depth=64) == json.loads(raw)
    body = load_json(raw, max_depth=64)
    if "big" in body:  # integers beyond 64 bits stay exact integers, never floats
        assert body["big"] == 123456789012345678901234567890 and isinstance(body["big"], int)


@pytest.mark.parametrize(
    "raw",
    [b'{"t": NaN}', b'{"t": Infinity}', b"{'single': 1}", b'{"a": 1,}', b"\xff\xfe{}", b'{"a": "\\ud800"}'],
)
def test_bodies_json_cannot_hold_are_refused(raw: bytes) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        load_json(raw, max_depth=64)
    assert caught.value.code == "invalid_json"


def test_json_depth() -> None:
    assert json_depth(1, limit=10) == 0
    assert json_depth({}, limit=10) == 1
    assert json_depth({"a": [1, {"b": []}]}, limit=10) == 4
    deep: object = []
    for _ in range(100):
        deep = [deep]
    assert json_depth(deep, limit=5) == 6  # stops counting just past the limit


def test_an_empty_text_option_asks_for_nothing() -> None:
    request = parse({"input": "x", "text": {}}).request
    assert "text" not in request.options and "text" not in request.attributes
    assert parse({"input": "x", "text": {"verbosity": "low"}}).request.attributes["text"] == {
        "verbosity": "low"
    }
