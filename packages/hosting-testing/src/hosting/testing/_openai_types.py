"""Strict checks of Responses wire objects against the official openai SDK's own types.

The SDK parses loosely (a wrong type or a misspelled field goes unnoticed until
a user trips over it), so these validate with pydantic's strict mode and also
refuse fields the SDK's models do not declare, except the documented extensions
in `EXTENSIONS`. Each returns the SDK object, so a test can go on asserting on it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from openai.types.responses import Response, ResponseItem, ResponseStreamEvent
from pydantic import BaseModel, TypeAdapter

EXTENSIONS: Mapping[str, frozenset[str]] = {
    # Open Responses fields the SDK's `Response` does not declare.
    "Response": frozenset({"store", "frequency_penalty", "presence_penalty"}),
    # hosting-responses keeps an incomplete reason outside the SDK's set here.
    "IncompleteDetails": frozenset({"cause"}),
}

_EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
_ITEMS: TypeAdapter[Any] = TypeAdapter(ResponseItem)


def undeclared_fields(
    value: Any, path: str = "$", *, extensions: Mapping[str, frozenset[str]] = EXTENSIONS
) -> list[str]:
    """Paths of fields in a parsed SDK object that its model does not declare (nor allow as an extension)."""
    found: list[str] = []
    if isinstance(value, BaseModel):
        allowed = extensions.get(type(value).__name__, frozenset())
        found.extend(f"{path}.{name}" for name in (value.model_extra or {}) if name not in allowed)
        for name in type(value).model_fields:
            found.extend(undeclared_fields(getattr(value, name), f"{path}.{name}", extensions=extensions))
    elif isinstance(value, list | tuple):
        for index, entry in enumerate(value):
            found.extend(undeclared_fields(entry, f"{path}[{index}]", extensions=extensions))
    elif isinstance(value, dict):
        for key, entry in value.items():
            found.extend(undeclared_fields(entry, f"{path}.{key}", extensions=extensions))
    return found


def _strict(parsed: Any, what: str) -> Any:
    extra = undeclared_fields(parsed)
    if extra:
        raise AssertionError(f"{what} has fields the openai SDK does not declare: {', '.join(extra)}")
    return parsed


def strict_response(data: Mapping[str, Any]) -> Response:
    """Validate a Response object strictly; every field of the SDK's type must be present."""
    missing = [name for name in Response.model_fields if name not in data]
    if missing:
        raise AssertionError(f"the response lacks fields of the SDK's Response: {', '.join(missing)}")
    return _strict(Response.model_validate(data, strict=True), "the response")  # type: ignore[no-any-return]


def strict_stream_event(data: Mapping[str, Any]) -> Any:
    """Validate one stream event strictly against the SDK's `ResponseStreamEvent` union."""
    event = _strict(_EVENTS.validate_python(data, strict=True), f"event {data.get('type')!r}")
    response = data.get("response")
    if isinstance(response, Mapping):
        strict_response(response)
    return event


def strict_item(data: Mapping[str, Any]) -> Any:
    """Validate an item (of ``output`` or ``input_items``) strictly against the SDK's `ResponseItem`."""
    return _strict(_ITEMS.validate_python(data, strict=True), f"item {data.get('type')!r}")


def parse_event_stream(text: str) -> list[dict[str, Any]]:
    """Parse a whole Responses SSE body and check its framing.

    Checks: each event's ``event:`` line equals its data's ``type``, comments are the only
    other lines, ``sequence_number`` runs from the first number up by one, exactly one terminal
    event comes last, and the body ends with ``data: [DONE]``. Every event is validated with
    `strict_stream_event`. Returns the events' data.
    """
    events: list[dict[str, Any]] = []
    done = False
    for block in text.split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        if not lines:
            continue
        if done:
            raise AssertionError(f"data after [DONE]: {block[:200]!r}")
        if lines == ["data: [DONE]"]:
            done = True
            continue
        if len(lines) != 2 or not lines[0].startswith("event: ") or not lines[1].startswith("data: "):
            raise AssertionError(f"not an 'event:' + 'data:' frame: {block[:200]!r}")
        data = json.loads(lines[1][len("data: ") :])
        if lines[0][len("event: ") :] != data.get("type"):
            raise AssertionError(f"event line {lines[0]!r} differs from type {data.get('type')!r}")
        strict_stream_event(data)
        events.append(data)
    if not done:
        raise AssertionError("the stream did not end with data: [DONE]")
    check_sequence(events)
    return events


TERMINAL_EVENTS = frozenset({"response.completed", "response.failed", "response.incomplete"})


def check_sequence(events: Iterable[Mapping[str, Any]]) -> None:
    """Sequence numbers contiguous, and exactly one terminal event, last."""
    listed = list(events)
    numbers = [event["sequence_number"] for event in listed]
    if numbers and numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        raise AssertionError(f"sequence numbers are not contiguous: {numbers}")
    terminal = [index for index, event in enumerate(listed) if event["type"] in TERMINAL_EVENTS]
    if terminal and terminal != [len(listed) - 1]:
        raise AssertionError(f"terminal events at {terminal} of {len(listed)}")
