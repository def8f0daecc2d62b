"""Items between the Responses wire format and the core's neutral types.

Parsing accepts every input item shape the SDK sends: easy messages
(``{role, content}`` with a string or parts), typed ``message`` items with
``input_text`` / ``input_image`` / ``input_file`` parts, assistant output replayed
as input (``output_text`` / ``refusal`` parts), ``function_call``,
``function_call_output``, ``reasoning``, ``mcp_call`` (a tool step the agent ran
itself, replayed) and ``item_reference``. Ids a client puts
on input items are not kept: the engine gives every stored input item a fresh
id, so ids stay unique within a response chain and a conversation.

Rendering turns core items into the SDK's output item shapes (every item with
``id`` and ``status``) and, for ``input_items``, user/system/developer messages
into ``ResponseInputMessageItem``. A `ToolStep` (a tool the agent ran itself) is
an ``mcp_call`` item with its output or error inline: a ``function_call`` would
ask the client to run a tool it never declared.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hosting.core import (
    FilePart,
    FunctionCall,
    FunctionResult,
    ImagePart,
    Item,
    Limits,
    Message,
    Part,
    Reasoning,
    TextPart,
    ToolStep,
)
from hosting.core.channels import ROLES

from ._errors import invalid

IMAGE_DETAILS = frozenset({"low", "high", "auto", "original"})
# A string input is a user message: built on every such request, without the cost of calling a class.


@dataclass(frozen=True, slots=True)
class ItemReference:
    """An ``item_reference`` input item, resolved by the channel against the store."""

    id: str
    param: str


# -- parsing ---------------------------------------------------------------------------------------


def _string(value: Any, param: str, *, limits: Limits, required: bool = True) -> str:
    if not isinstance(value, str):
        if value is None and not required:
            return ""
        raise invalid(f"Invalid type for '{param}': expected a string.", param, code="invalid_type")
    if len(value) > limits.max_text_chars:
        raise invalid(
            f"'{param}' is longer than the limit of {limits.max_text_chars} characters.",
            param,
            code="string_above_max_length",
        )
    return value


def _optional_string(value: Any, param: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise invalid(f"Invalid type for '{param}': expected a string.", param, code="invalid_type")


def _object(value: Any, param: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"Invalid type for '{param}': expected an object.", param, code="invalid_type")
    return value


def _part(value: Any, param: str, *, limits: Limits) -> Part | None:
    part = _object(value, param)
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text", "summary_text"):
        return TextPart(_string(part.get("text"), f"{param}.text", limits=limits))
    if kind == "refusal":
        return TextPart(_string(part.get("refusal"), f"{param}.refusal", limits=limits))
    if kind == "input_image":
        url = _optional_string(part.get("image_url"), f"{param}.image_url")
        file_id = _optional_string(part.get("file_id"), f"{param}.file_id")
        if url is None and file_id is None:
            raise invalid(
                f"'{param}' needs an 'image_url' or a 'file_id'.", param, code="missing_required_parameter"
            )
        detail = part.get("detail")
        if detail is None or detail == "":
            detail = "auto"
        # isinstance first: a list or an object is unhashable, and `in` a frozenset would raise.
        if not isinstance(detail, str) or detail not in IMAGE_DETAILS:
            raise invalid(
                f"Invalid value for '{param}.detail': expected one of {', '.join(sorted(IMAGE_DETAILS))}.",
                f"{param}.detail",
                code="invalid_value",
            )
        return ImagePart(url=url, file_id=file_id, detail=detail)
    if kind == "input_file":
        file_part = FilePart(
            file_id=_optional_string(part.get("file_id"), f"{param}.file_id"),
            url=_optional_string(part.get("file_url"), f"{param}.file_url"),
            data=_optional_string(part.get("file_data"), f"{param}.file_data"),
            filename=_optional_string(part.get("filename"), f"{param}.filename"),
        )
        if file_part.file_id is None and file_part.url is None and file_part.data is None:
            raise invalid(
                f"'{param}' needs a 'file_id', a 'file_url' or 'file_data'.",
                param,
                code="missing_required_parameter",
            )
        return file_part
    raise invalid(
        f"Invalid value for '{param}.type': unsupported content type {str(kind)[:64]!r}.",
        f"{param}.type",
        code="invalid_value",
    )


def _message(data: Mapping[str, Any], param: str, *, limits: Limits) -> Message:
    role = data.get("role")
    # A list or an object is unhashable: `in` a frozenset would raise (a 500 instead of a 400).
    if isinstance(role, list | dict) or role not in ROLES:
        raise invalid(
            f"Invalid value for '{param}.role': expected one of assistant, developer, system, user.",
            f"{param}.role",
            code="invalid_value",
        )
    content = data.get("content")
    if isinstance(content, str):
        parts: tuple[Part, ...] = (TextPart(_string(content, f"{param}.content", limits=limits)),)
    elif isinstance(content, list):
        parsed = [
            _part(part, f"{param}.content[{index}]", limits=limits) for index, part in enumerate(content)
        ]
        parts = tuple(part for part in parsed if part is not None)
    else:
        raise invalid(
            f"Invalid type for '{param}.content': expected a string or an array of content parts.",
            f"{param}.content",
            code="invalid_type",
        )
    return Message(role=role, parts=parts)


def _function_output(value: Any, param: str, *, limits: Limits) -> str:
    if isinstance(value, str):
        return _string(value, param, limits=limits)
    if isinstance(value, list):
        texts: list[str] = []
        for index, entry in enumerate(value):
            part = _part(entry, f"{param}[{index}]", limits=limits)
            if not isinstance(part, TextPart):
                raise invalid(
                    f"'{param}[{index}]': only text is supported in a function call output.",
                    f"{param}[{index}]",
                    code="invalid_value",
                )
            texts.append(part.text)
        return "".join(texts)
    raise invalid(f"Invalid type for '{param}': expected a string or an array.", param, code="invalid_type")


def _tool_error(value: Any, param: str, *, limits: Limits) -> str | None:
    """An ``mcp_call``'s error as text: a string, or an error object (the SDK's have a ``message`` or a
    ``content``; any other object is kept as its JSON)."""
    if value is None:
        return None
    if isinstance(value, str):
        return _string(value, param, limits=limits)
    if not isinstance(value, dict):
        raise invalid(
            f"Invalid type for '{param}': expected a string or an object.", param, code="invalid_type"
        )
    message, content = value.get("message"), value.get("content")
    if isinstance(message, str):
        return _string(message, f"{param}.message", limits=limits)
    if isinstance(content, str):
        return _string(content, f"{param}.content", limits=limits)
    if isinstance(content, list):
        texts = [
            part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        ]
        if texts:
            return _string("".join(texts), f"{param}.content", limits=limits)
    return _string(json.dumps(value, ensure_ascii=False), param, limits=limits)


def _tool_step(data: Mapping[str, Any], param: str, *, limits: Limits) -> ToolStep:
    """A replayed ``mcp_call``: the tool step as it was, kept as context for the agent."""
    output = data.get("output")
    return ToolStep(
        name=_string(data.get("name"), f"{param}.name", limits=limits),
        arguments=_string(data.get("arguments"), f"{param}.arguments", limits=limits),
        output=None if output is None else _string(output, f"{param}.output", limits=limits),
        error=_tool_error(data.get("error"), f"{param}.error", limits=limits),
        server_label=_string(data.get("server_label"), f"{param}.server_label", limits=limits),
    )


def parse_input_item(value: Any, param: str, *, limits: Limits) -> Item | ItemReference:
    """One wire input item -> a core item (without id), or an `ItemReference` to resolve."""
    data = _object(value, param)
    kind = data.get("type")
    if kind is None and "role" in data:
        kind = "message"
    if kind == "message":
        return _message(data, param, limits=limits)
    if kind == "function_call":
        return FunctionCall(
            call_id=_string(data.get("call_id"), f"{param}.call_id", limits=limits),
            name=_string(data.get("name"), f"{param}.name", limits=limits),
            arguments=_string(data.get("arguments"), f"{param}.arguments", limits=limits),
        )
    if kind == "function_call_output":
        return FunctionResult(
            call_id=_string(data.get("call_id"), f"{param}.call_id", limits=limits),
            output=_function_output(data.get("output"), f"{param}.output", limits=limits),
        )
    if kind == "reasoning":
        summary = data.get("summary", [])
        if not isinstance(summary, list):
            raise invalid(
                f"Invalid type for '{param}.summary': expected an array.",
                f"{param}.summary",
                code="invalid_type",
            )
        texts = []
        for index, entry in enumerate(summary):
            entry = _object(entry, f"{param}.summary[{index}]")
            texts.append(_string(entry.get("text"), f"{param}.summary[{index}].text", limits=limits))
        return Reasoning("\n\n".join(texts))
    if kind == "mcp_call":
        return _tool_step(data, param, limits=limits)
    if kind == "item_reference":
        return ItemReference(_string(data.get("id"), f"{param}.id", limits=limits), param)
    raise invalid(
        f"Invalid value for '{param}.type': unsupported input item type {str(kind)[:64]!r}.",
        f"{param}.type",
        code="invalid_value",
    )


def parse_input(value: Any, *, limits: Limits) -> list[Item | ItemReference]:
    """The request's ``input``: a string (one user message) or a list of items."""
    if isinstance(value, str):
        return [Message("user", (TextPart(_string(value, "input", limits=limits)),))]
    if not isinstance(value, list):
        if value is None:
            raise invalid("Missing required parameter: 'input'.", "input", code="missing_required_parameter")
        raise invalid(
            "Invalid type for 'input': expected a string or an array of input items.",
            "input",
            code="invalid_type",
        )
    if len(value) > limits.max_input_items:
        raise invalid(
            f"'input' has more than the limit of {limits.max_input_items} items.",
            "input",
            code="array_above_max_length",
        )
    return [parse_input_item(entry, f"input[{index}]", limits=limits) for index, entry in enumerate(value)]


def without_id(item: Item) -> Item:
    """The item as new input: its id is assigned again when it is stored."""
    if isinstance(item, Message):
        return Message(item.role, item.parts)
    if isinstance(item, FunctionCall):
        return FunctionCall(item.call_id, item.name, item.arguments)
    if isinstance(item, FunctionResult):
        return FunctionResult(item.call_id, item.output)
    if isinstance(item, ToolStep):
        return ToolStep(item.name, item.arguments, item.output, item.error, server_label=item.server_label)
    return Reasoning(item.text)


# -- rendering -------------------------------------------------------------------------------------


def _input_part(part: Part) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "input_text", "text": part.text}
    if isinstance(part, ImagePart):
        return {"type": "input_image", "detail": part.detail, "file_id": part.file_id, "image_url": part.url}
    return {
        "type": "input_file",
        "file_id": part.file_id,
        "file_url": part.url,
        "file_data": part.data,
        "filename": part.filename,
    }


def output_text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def render_message(item: Message, *, status: str = "completed") -> dict[str, Any]:
    """A message as the SDK's types have it: assistant output, or an input message."""
    if item.role == "assistant":
        return {
            "id": item.id,
            "type": "message",
            "role": "assistant",
            "status": status,
            "content": [output_text_part(item.text)],
        }
    return {
        "id": item.id,
        "type": "message",
        "role": item.role,
        "status": status,
        "content": [_input_part(part) for part in item.parts],
    }


def render_item(item: Item, *, status: str = "completed") -> dict[str, Any]:
    """A stored core item in the wire shape (for ``output`` and ``input_items``)."""
    if isinstance(item, Message):
        return render_message(item, status=status)
    if isinstance(item, FunctionCall):
        return {
            "id": item.id,
            "type": "function_call",
            "status": status,
            "call_id": item.call_id,
            "name": item.name,
            "arguments": item.arguments,
        }
    if isinstance(item, FunctionResult):
        return {
            "id": item.id,
            "type": "function_call_output",
            "status": status,
            "call_id": item.call_id,
            "output": item.output,
        }
    if isinstance(item, ToolStep):
        return render_tool_step(item, status=status)
    return {
        "id": item.id,
        "type": "reasoning",
        "status": status,
        "summary": [{"type": "summary_text", "text": item.text}] if item.text else [],
    }


def tool_error(error: str) -> dict[str, Any]:
    """A tool step's error as the SDK's ``McpToolExecutionError`` (the text as one content block)."""
    return {"type": "mcp_tool_execution_error", "content": [{"type": "text", "text": error}]}


def render_tool_step(item: ToolStep, *, status: str = "completed") -> dict[str, Any]:
    """A tool step as an ``mcp_call`` item: ``failed`` with its error, else with its output.

    `status` ``in_progress`` is the step as it begins (no outcome yet).
    """
    if status == "completed" and item.error is not None:
        status = "failed"
    return {
        "id": item.id,
        "type": "mcp_call",
        "status": status,
        "server_label": item.server_label,
        "name": item.name,
        "arguments": item.arguments,
        "output": item.output,
        "error": None if item.error is None else tool_error(item.error),
        "approval_request_id": None,
    }


def render_output_item(item: Item, *, status: str = "completed") -> dict[str, Any]:
    """An output item: messages of the output are always the assistant's, whatever the agent yielded."""
    if isinstance(item, Message) and item.role != "assistant":
        return render_message(Message("assistant", item.parts, id=item.id), status=status)
    return render_item(item, status=status)


def render_items(items: Sequence[Item]) -> list[dict[str, Any]]:
    return [render_item(item) for item in items]
