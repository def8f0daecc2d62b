"""Our neutral items become Agent Framework messages; client tools become declaration-only tools.

Adjacent items that map to the same Agent Framework role are merged into one
message, because chat services expect an assistant turn's reasoning, text and
parallel tool calls in one message, followed by the tool results. A tool step the
agent ran itself (`ToolStep`) is the call and its result, as the model made them.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from typing import Any

from agent_framework import Content, FunctionTool
from agent_framework import Message as AFMessage
from hosting.core import (
    FilePart,
    FunctionCall,
    FunctionResult,
    ImagePart,
    Item,
    Message,
    Part,
    TextPart,
    ToolSpec,
    ToolStep,
)

# Agent Framework has no "developer" role; chat services treat both as system-level text.
_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}


def _part_content(part: Part) -> Content | None:
    if isinstance(part, TextPart):
        return Content.from_text(part.text)
    if isinstance(part, ImagePart):
        if part.url:
            media_type = None if part.url.startswith("data:") else "image/*"
            return Content.from_uri(part.url, media_type=media_type)
        if part.file_id:
            return Content.from_hosted_file(part.file_id)
        return None
    return _file_content(part)


def _file_content(part: FilePart) -> Content | None:
    if part.file_id:
        return Content.from_hosted_file(part.file_id, name=part.filename)
    if part.url:
        return Content.from_uri(part.url, name=part.filename)
    if part.data:
        if part.data.startswith("data:"):
            return Content.from_uri(part.data, name=part.filename)
        try:
            raw = base64.b64decode(part.data, validate=True)
        except (binascii.Error, ValueError):
            # Not base64: the bytes of the text itself are the file.
            raw = part.data.encode()
        return Content.from_data(raw, "application/octet-stream", name=part.filename)
    return None


def _item_message(item: Item) -> AFMessage:
    if isinstance(item, Message):
        contents = [content for content in map(_part_content, item.parts) if content is not None]
        return AFMessage(_ROLES[item.role], contents, message_id=item.id)
    if isinstance(item, FunctionCall):
        call = Content.from_function_call(
            call_id=item.call_id, name=item.name, arguments=item.arguments or "{}"
        )
        return AFMessage("assistant", [call])
    if isinstance(item, FunctionResult):
        return AFMessage("tool", [Content.from_function_result(call_id=item.call_id, result=item.output)])
    if isinstance(item, ToolStep):  # pragma: no cover - expanded into a call and a result first
        raise TypeError("a tool step is converted as its call and its result")
    return AFMessage("assistant", [Content.from_text_reasoning(text=item.text)])


def _expanded(items: Iterable[Item]) -> Iterable[Item]:
    """The items, each tool step as the call and the result the model saw."""
    for index, item in enumerate(items):
        if isinstance(item, ToolStep):
            call_id = item.id or f"step_{index}"
            yield FunctionCall(call_id, item.name, item.arguments)
            outcome = item.output if item.error is None else f"Error: {item.error}"
            yield FunctionResult(call_id, outcome or "")
        else:
            yield item


def to_agent_framework_messages(items: Iterable[Item]) -> list[AFMessage]:
    """Agent Framework messages for neutral items, adjacent same-role assistant/tool items merged."""
    messages: list[AFMessage] = []
    for item in _expanded(items):
        message = _item_message(item)
        previous = messages[-1] if messages else None
        mergeable = message.role in ("assistant", "tool") and not isinstance(item, Message)
        if previous is not None and mergeable and previous.role == message.role:
            previous.contents.extend(message.contents)
            continue
        if (
            previous is not None
            and isinstance(item, Message)
            and item.role == "assistant"
            and previous.role == "assistant"
            and not any(content.type == "text" for content in previous.contents)
        ):
            # Reasoning (or calls) followed by the answer text: one assistant turn.
            previous.contents.extend(message.contents)
            continue
        messages.append(message)
    return messages


def declaration_tools(specs: Sequence[ToolSpec]) -> list[FunctionTool]:
    """Client-declared tools as Agent Framework tools without an implementation.

    Agent Framework ends its tool loop when the model calls such a tool and
    returns the call to its caller, which is exactly a Responses client tool:
    the run ends with the call, and the client answers in the next request.
    """
    tools: list[FunctionTool] = []
    for spec in specs:
        parameters: dict[str, Any] = (
            dict(spec.parameters) if spec.parameters else {"type": "object", "properties": {}}
        )
        tools.append(
            FunctionTool(
                name=spec.name, description=spec.description or "", func=None, input_model=parameters
            )
        )
    return tools


def tool_names(tools: Any) -> set[str]:
    """The names of an agent's own tools, from whatever shape its options hold them in."""
    if tools is None:
        return set()
    if not isinstance(tools, list | tuple):
        tools = [tools]
    names: set[str] = set()
    for tool in tools:
        name = getattr(tool, "name", None) or getattr(tool, "__name__", None)
        if isinstance(name, str):
            names.add(name)
    return names
