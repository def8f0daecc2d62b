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
    """A call of a function the client declared (the client runs it), with JSON-encoded arguments.

    A tool the agent runs itself is a `ToolStep`, not a call and a result: clients treat every
    function call in an answer as theirs to run.
    """

    call_id: str
    name: str
    arguments: str
    id: str | None = None


@dataclass(slots=True)
class FunctionResult:
    """The output of a client-declared function call, sent back by the client."""

    call_id: str
    output: str
    id: str | None = None


@dataclass(slots=True)
class Reasoning:
    """The agent's reasoning summary, kept so a later turn can replay it."""

    text: str
    id: str | None = None


@dataclass(slots=True)
class ToolStep:
    """A tool the agent ran itself (not one the client declared), with its outcome inline.

    The agent yields it once the tool has run: with its `output`, or with an `error` (text
    shown to the caller as it is, so without internals). Channels show it as a step of the
    answer, never as a call the client must make: the Responses channel renders it as an
    ``mcp_call`` item.

    Attributes:
        name: the tool's name.
        arguments: the arguments, as JSON text.
        output: what the tool returned (None when it failed or returned nothing).
        error: why the tool failed, if it did.
        id: set by the host when the step is emitted.
        server_label: who ran the tool: ``"agent"`` for the agent's own tools, or the label of the
            tool server it called.
    """

    name: str
    arguments: str
    output: str | None = None
    error: str | None = None
    id: str | None = None
    server_label: str = "agent"

    @property
    def failed(self) -> bool:
        """The tool failed (it has an `error`)."""
        return self.error is not None


Item: TypeAlias = Message | FunctionCall | FunctionResult | Reasoning | ToolStep


def with_id(item: Item, new_id: str) -> Item:
    """A copy of `item` with another id."""
    if isinstance(item, Message):
        return Message(item.role, item.parts, id=new_id)
    if isinstance(item, FunctionCall):
        return FunctionCall(item.call_id, item.name, item.arguments, id=new_id)
    if isinstance(item, FunctionResult):
        return FunctionResult(item.call_id, item.output, id=new_id)
    if isinstance(item, ToolStep):
        return ToolStep(item.name, item.arguments, item.output, item.error, new_id, item.server_label)
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


@dataclass(slots=True)
class OutputFormat:
    """The format the caller asked the answer's text to have (`RunContext.output_format`).

    Attributes:
        type: ``"json_schema"`` (JSON valid against `schema`) or ``"json_object"`` (any JSON object).
        name: the schema's name (json_schema).
        schema: the JSON Schema the answer must match (json_schema).
        strict: the caller asked for strict schema adherence (json_schema), if it said.
        description: what the format is for, if given.
    """

    type: Literal["json_schema", "json_object"]
    name: str | None = None
    schema: Mapping[str, Any] | None = None
    strict: bool | None = None
    description: str | None = None


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
# `FunctionCall`, `FunctionResult`, `Reasoning` or `ToolStep` is emitted as one complete output item.
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
    | ToolStep
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
    if isinstance(item, ToolStep):
        return {
            "type": "tool_step",
            "id": item.id,
            "name": item.name,
            "arguments": item.arguments,
            "output": item.output,
            "error": item.error,
            "server_label": item.server_label,
        }
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
    if kind == "tool_step":
        return ToolStep(
            name=data["name"],
            arguments=data["arguments"],
            output=data.get("output"),
            error=data.get("error"),
            id=data.get("id"),
            server_label=data.get("server_label") or "agent",
        )
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
