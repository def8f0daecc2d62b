"""The strict SDK checks catch what the SDK's loose parsing lets through."""

from __future__ import annotations

from typing import Any

import pytest

from hosting.testing import check_sequence, parse_event_stream, strict_item, strict_stream_event

DELTA: dict[str, Any] = {
    "type": "response.output_text.delta",
    "sequence_number": 3,
    "item_id": "msg_1",
    "output_index": 0,
    "content_index": 0,
    "delta": "hi",
    "logprobs": [],
}


def test_a_valid_event_passes_and_comes_back_typed() -> None:
    assert strict_stream_event(DELTA).delta == "hi"


@pytest.mark.parametrize(
    "broken",
    [
        {**DELTA, "sequence_number": "3"},  # a string where the SDK wants an int: loose parsing accepts it
        {**DELTA, "sequence_numbr": 4},  # a field the SDK does not declare
        {key: value for key, value in DELTA.items() if key != "logprobs"},  # a required field missing
    ],
)
def test_wrong_types_unknown_fields_and_missing_fields_fail(broken: dict[str, Any]) -> None:
    with pytest.raises(Exception):  # noqa: B017 - pydantic's ValidationError or our AssertionError
        strict_stream_event(broken)


def test_items_are_checked_too() -> None:
    item = {
        "id": "fc_1",
        "type": "function_call",
        "call_id": "c",
        "name": "f",
        "arguments": "{}",
        "status": "completed",
    }
    assert strict_item(item).name == "f"
    with pytest.raises(AssertionError):
        strict_item({**item, "colour": "blue"})


def test_stream_framing_is_checked() -> None:
    frame = 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":0,"item_id":"m","output_index":0,"content_index":0,"delta":"x","logprobs":[]}\n\n'
    assert len(parse_event_stream(frame + ": keep-alive\n\n" + "data: [DONE]\n\n")) == 1
    with pytest.raises(AssertionError):
        parse_event_stream(frame)  # no [DONE]
    with pytest.raises(AssertionError):
        parse_event_stream(
            frame.replace("event: response.output_text.delta", "event: ping", 1) + "data: [DONE]\n\n"
        )
    with pytest.raises(AssertionError):
        check_sequence([{"type": "a", "sequence_number": 0}, {"type": "b", "sequence_number": 2}])
