"""Run events: what the run engine records, numbered, for every run.

The engine turns an agent's loose updates into a structured, channel-neutral
event log: output items that start, grow by deltas and finish, then exactly one
`RunFinished`. Channels render these in their wire format. Because every id and
timestamp is in the log, rendering it again (after a reconnect, from the store)
gives the same wire events: that is what makes resume exact.

Events are plain slotted dataclasses, made for every delta of every run; they are
values, never changed once emitted (followers share them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from ._records import ResponseStatus, RunError
from ._types import Item, Usage, item_from_dict, item_to_dict, usage_from_dict, usage_to_dict


@dataclass(slots=True)
class RunStarted:
    """The run began (after `queued`, if it was queued)."""

    status: ResponseStatus


@dataclass(slots=True)
class OutputItemAdded:
    """A new output item at `output_index`; `item` is its empty beginning (ids set)."""

    output_index: int
    item: Item


@dataclass(slots=True)
class OutputTextDelta:
    output_index: int
    item_id: str
    delta: str


@dataclass(slots=True)
class ReasoningTextDelta:
    output_index: int
    item_id: str
    delta: str


@dataclass(slots=True)
class FunctionArgumentsDelta:
    """A piece of the arguments of the function call (or the `ToolStep`) at `output_index`."""

    output_index: int
    item_id: str
    delta: str


@dataclass(slots=True)
class OutputItemDone:
    """The item at `output_index` is complete; `item` is its final form."""

    output_index: int
    item: Item


@dataclass(slots=True)
class RunFinished:
    """The last event of every run."""

    status: ResponseStatus
    completed_at: float
    usage: Usage | None = None
    error: RunError | None = None
    incomplete_reason: str | None = None


RunEvent: TypeAlias = (
    RunStarted
    | OutputItemAdded
    | OutputTextDelta
    | ReasoningTextDelta
    | FunctionArgumentsDelta
    | OutputItemDone
    | RunFinished
)


def event_to_dict(event: RunEvent) -> dict[str, Any]:
    """A JSON-ready dict, for the stores' event logs."""
    if isinstance(event, RunStarted):
        return {"type": "started", "status": event.status}
    if isinstance(event, OutputItemAdded | OutputItemDone):
        kind = "item_added" if isinstance(event, OutputItemAdded) else "item_done"
        return {"type": kind, "output_index": event.output_index, "item": item_to_dict(event.item)}
    if isinstance(event, OutputTextDelta | ReasoningTextDelta | FunctionArgumentsDelta):
        kind = {
            OutputTextDelta: "text",
            ReasoningTextDelta: "reasoning",
            FunctionArgumentsDelta: "arguments",
        }[type(event)]
        return {
            "type": kind,
            "output_index": event.output_index,
            "item_id": event.item_id,
            "delta": event.delta,
        }
    return {
        "type": "finished",
        "status": event.status,
        "completed_at": event.completed_at,
        "usage": usage_to_dict(event.usage) if event.usage else None,
        "error": {"code": event.error.code, "message": event.error.message} if event.error else None,
        "incomplete_reason": event.incomplete_reason,
    }


_DELTAS: dict[str, type[OutputTextDelta | ReasoningTextDelta | FunctionArgumentsDelta]] = {
    "text": OutputTextDelta,
    "reasoning": ReasoningTextDelta,
    "arguments": FunctionArgumentsDelta,
}


def event_from_dict(data: Mapping[str, Any]) -> RunEvent:
    """The inverse of `event_to_dict`."""
    kind = data["type"]
    if kind == "started":
        return RunStarted(status=data["status"])
    if kind == "item_added":
        return OutputItemAdded(data["output_index"], item_from_dict(data["item"]))
    if kind == "item_done":
        return OutputItemDone(data["output_index"], item_from_dict(data["item"]))
    if kind in _DELTAS:
        return _DELTAS[kind](data["output_index"], data["item_id"], data["delta"])
    if kind == "finished":
        error = data.get("error")
        usage = data.get("usage")
        return RunFinished(
            status=data["status"],
            completed_at=data["completed_at"],
            usage=usage_from_dict(usage) if usage else None,
            error=RunError(error["code"], error["message"]) if error else None,
            incomplete_reason=data.get("incomplete_reason"),
        )
    raise ValueError(f"unknown run event {kind!r}")
