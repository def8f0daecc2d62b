"""Neutral messages, items and updates: what agents and channels exchange.

Every channel parses its wire format into these types and renders them back;
every agent reads them and yields updates. They are small slotted dataclasses,
made on every request, and values: never changed once built (`with_id` and
`dataclasses.replace` make changed copies), so they can be shared between tasks,
runs and the stores (`item_to_dict` / `item_from_dict`). They are not frozen
because a frozen dataclass stores each field through ``object.__setattr__``,
which makes every request pay for a guarantee the code already keeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

Role: TypeAlias = Literal["user", "assistant", "system", "developer"]
ROLES: frozenset[str] = frozenset({"user", "assistant", "system", "developer"})


# -- content parts ---------------------------------------------------------------------------------


@dataclass(slots=True)
class TextPart:
    """A piece of text in a message."""

    text: str


@dataclass(slots=True)
class ImagePart:
    """An image by URL (including ``data:`` URLs) or by a file id."""

    url: str | None = None
    file_id: str | None = None
    detail: str = "auto"


@dataclass(slots=True)
class FilePart:
    """A file by id, URL or inline (base64) data."""

    file_id: str | None = None
    url: str | None = None
    data: str | None = None
    filename: str | None = None


Part: TypeAlias = TextPart | ImagePart | FilePart


# -- items -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Message:
    """A message from a user, the assistant, or the system/developer."""

    role: Role
    parts: tuple[Part, ...]
    id: str | None = None

    @property
    def text(self) -> str:
        """The concatenated text of the message's text parts."""
        parts = self.parts
        if len(parts) == 1 and type(parts[0]) is TextPart:  # most messages: no join needed
            return parts[0].text
        return "".join(part.text for part in parts if isinstance(part, TextPart))


@dataclass(slots=True)
class FunctionCall:
    """A call of a client-declared (or agent-side) function, with JSON-encoded arguments."""

    call_id: str
    name: str
    arguments: str
    id: str | None = None


@dataclass(slots=True)
class FunctionResult:
    """The output of a function call, sent back by the client (or produced by the agent's own tool)."""

    call_id: str
    output: str
    id: str | None = None


@dataclass(slots=True)
class Reasoning:
    """The agent's reasoning summary, kept so a later turn can replay it."""

    text: str
    id: str | None = None


Item: TypeAlias = Message | FunctionCall | FunctionResult | Reasoning


def with_id(item: Item, new_id: str) -> Item:
    """A copy of `item` with another id."""
    if isinstance(item, Message):
        return Message(item.role, item.parts, id=new_id)
    if isinstance(item, FunctionCall):
        return FunctionCall(item.call_id, item.name, item.arguments, id=new_id)
    if isinstance(item, FunctionResult):
        return FunctionResult(item.call_id, item.output, id=new_id)
    return Reasoning(item.text, id=new_id)


def user_message(text: str) -> Message:
    """A user message with one text part."""
    return Message(role="user", parts=(TextPart(text),))


def assistant_message(text: str) -> Message:
    """An assistant message with one text part."""
    return Message(role="assistant", parts=(TextPart(text),))


# -- tools -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class ToolSpec:
    """A function tool the client declared; the agent may answer with a `FunctionCall` for it."""

    name: str
    description: str | None = None
    parameters: Mapping[str, Any] | None = None
    strict: bool | None = None


# -- updates an agent yields -----------------------------------------------------------------------


@dataclass(slots=True)
class TextDelta:
    """A piece of the answer's text."""

    text: str


@dataclass(slots=True)
class ReasoningDelta:
    """A piece of the agent's reasoning summary."""

    text: str


@dataclass(slots=True)
class Usage:
    """Token usage; several reports in one run are added up."""

    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
        )


@dataclass(slots=True)
class ErrorUpdate:
    """The agent reports a failure without raising; the run ends ``failed`` with this message.

    ``message`` is shown to the caller as it is, so it must not carry internals.
    """

    message: str
    code: str = "agent_error"


@dataclass(slots=True)
class ItemBreak:
    """Ends the current output item, so the next text delta starts a new message."""


# An agent yields any of these. A plain `str` is a text delta; a whole `Message`,
# `FunctionCall`, `FunctionResult` or `Reasoning` is emitted as one complete output item.
Update: TypeAlias = (
    TextDelta
    | ReasoningDelta
    | Usage
    | ErrorUpdate
    | ItemBreak
    | Message
    | FunctionCall
    | FunctionResult
    | Reasoning
)


# -- serialization ---------------------------------------------------------------------------------


def _part_to_dict(part: Part) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        return {"type": "image", "url": part.url, "file_id": part.file_id, "detail": part.detail}
    return {
        "type": "file",
        "file_id": part.file_id,
        "url": part.url,
        "data": part.data,
        "filename": part.filename,
    }


def _part_from_dict(data: Mapping[str, Any]) -> Part:
    kind = data["type"]
    if kind == "text":
        return TextPart(data["text"])
    if kind == "image":
        return ImagePart(
            url=data.get("url"), file_id=data.get("file_id"), detail=data.get("detail") or "auto"
        )
    return FilePart(
        file_id=data.get("file_id"), url=data.get("url"), data=data.get("data"), filename=data.get("filename")
    )


def item_to_dict(item: Item) -> dict[str, Any]:
    """A JSON-ready dict for an item (the stores' storage format)."""
    if isinstance(item, Message):
        return {
            "type": "message",
            "id": item.id,
            "role": item.role,
            "parts": [_part_to_dict(p) for p in item.parts],
        }
    if isinstance(item, FunctionCall):
        return {
            "type": "function_call",
            "id": item.id,
            "call_id": item.call_id,
            "name": item.name,
            "arguments": item.arguments,
        }
    if isinstance(item, FunctionResult):
        return {"type": "function_result", "id": item.id, "call_id": item.call_id, "output": item.output}
    return {"type": "reasoning", "id": item.id, "text": item.text}


def item_from_dict(data: Mapping[str, Any]) -> Item:
    """The inverse of `item_to_dict`."""
    kind = data["type"]
    if kind == "message":
        return Message(
            role=data["role"], parts=tuple(_part_from_dict(p) for p in data["parts"]), id=data.get("id")
        )
    if kind == "function_call":
        return FunctionCall(
            call_id=data["call_id"], name=data["name"], arguments=data["arguments"], id=data.get("id")
        )
    if kind == "function_result":
        return FunctionResult(call_id=data["call_id"], output=data["output"], id=data.get("id"))
    if kind == "reasoning":
        return Reasoning(text=data["text"], id=data.get("id"))
    raise ValueError(f"unknown item type {kind!r}")


def usage_to_dict(usage: Usage) -> dict[str, int]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "cached_tokens": usage.cached_tokens,
    }


def usage_from_dict(data: Mapping[str, Any]) -> Usage:
    return Usage(
        input_tokens=int(data.get("input_tokens", 0)),
        output_tokens=int(data.get("output_tokens", 0)),
        reasoning_tokens=int(data.get("reasoning_tokens", 0)),
        cached_tokens=int(data.get("cached_tokens", 0)),
    )
