"""The wire format of the fake upstream model server: Chat Completions and Responses, whole or streamed.

Each function turns one scripted reply into what the real API sends, shaped
after the `openai` SDK's own types (the kit's tests validate every object and
event against them), so an agent's client cannot tell the fake from a real
server. Text streams word by word; function-call arguments stream in two pieces,
so an agent that reassembles deltas is exercised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

_WORDS = re.compile(r"\s*\S+|\s+$")


@dataclass(frozen=True, slots=True)
class UpstreamToolCall:
    """A function call the fake model makes.

    Args:
        name: the function's name.
        arguments: its arguments, as a JSON string or a mapping (encoded for you).
        call_id: the call's id (default: one the server makes up).
    """

    name: str
    arguments: str | Mapping[str, Any] = "{}"
    call_id: str | None = None

    @property
    def arguments_json(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(dict(self.arguments))


@dataclass(frozen=True, slots=True)
class UpstreamReply:
    """One whole answer of the fake model: text, function calls, or both.

    Args:
        text: the assistant's text.
        tool_calls: function calls, after the text.
        input_tokens / output_tokens: the usage reported (default: counted in words).
    """

    text: str = ""
    tool_calls: tuple[UpstreamToolCall, ...] = field(default_factory=tuple)
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class UpstreamError:
    """The fake server answers this request with an error in OpenAI's error shape.

    Args:
        status_code: the HTTP status (429 and 5xx make the SDK retry when retries are on).
        message: the error's message.
        code: the error's code.
    """

    status_code: int = 500
    message: str = "The fake upstream was told to fail."
    code: str | None = None

    def body(self) -> dict[str, Any]:
        kind = "invalid_request_error" if self.status_code < 500 else "server_error"
        return {"error": {"message": self.message, "type": kind, "param": None, "code": self.code}}


@dataclass(slots=True)
class _Ids:
    """Deterministic ids, so a failing test shows the same ids on every run."""

    counter: int = 0

    def next(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_fake{self.counter}"


def _usage_counts(reply: UpstreamReply, prompt_words: int) -> tuple[int, int]:
    produced = len(reply.text.split()) + sum(len(call.arguments_json) // 4 + 1 for call in reply.tool_calls)
    return (
        reply.input_tokens if reply.input_tokens is not None else prompt_words,
        reply.output_tokens if reply.output_tokens is not None else produced,
    )


def _sse(data: Mapping[str, Any] | str, event: str | None = None) -> str:
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {payload}\n\n"


# -- Chat Completions -----------------------------------------------------------------------------


def chat_completion(
    reply: UpstreamReply, *, model: str, created: int, ids: _Ids, prompt_words: int
) -> dict[str, Any]:
    """A whole `ChatCompletion`."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None, "refusal": None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.call_id or ids.next("call"),
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_json},
            }
            for call in reply.tool_calls
        ]
    prompt, completion = _usage_counts(reply, prompt_words)
    return {
        "id": ids.next("chatcmpl"),
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def chat_completion_stream(
    reply: UpstreamReply, *, model: str, created: int, ids: _Ids, prompt_words: int, include_usage: bool
) -> Iterator[str]:
    """The SSE frames of a streamed chat completion, ``data: [DONE]`` last."""
    completion_id = ids.next("chatcmpl")

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> str:
        return _sse(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
            }
        )

    yield chunk({"role": "assistant", "content": ""})
    for match in _WORDS.finditer(reply.text):
        yield chunk({"content": match.group()})
    for index, call in enumerate(reply.tool_calls):
        arguments = call.arguments_json
        half = len(arguments) // 2
        opening = {
            "index": index,
            "id": call.call_id or ids.next("call"),
            "type": "function",
            "function": {"name": call.name, "arguments": arguments[:half]},
        }
        yield chunk({"tool_calls": [opening]})
        yield chunk({"tool_calls": [{"index": index, "function": {"arguments": arguments[half:]}}]})
    yield chunk({}, "tool_calls" if reply.tool_calls else "stop")
    if include_usage:
        prompt, completion = _usage_counts(reply, prompt_words)
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        yield _sse(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": usage,
            }
        )
    yield _sse("[DONE]")


# -- Responses ------------------------------------------------------------------------------------


def _message_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}] if status else []
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": status or "in_progress",
        "content": content,
    }


def _call_item(
    item_id: str, call: UpstreamToolCall, call_id: str, arguments: str, status: str
) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "call_id": call_id,
        "name": call.name,
        "arguments": arguments,
        "status": status,
    }


def _response(
    response_id: str,
    *,
    model: str,
    created: int,
    request: Mapping[str, Any],
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": status,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": list(request.get("tools") or []),
        "instructions": request.get("instructions"),
        "metadata": dict(request.get("metadata") or {}),
        "previous_response_id": request.get("previous_response_id"),
        "temperature": request.get("temperature"),
        "top_p": request.get("top_p"),
        "error": None,
        "incomplete_details": None,
        "usage": usage,
    }


def _responses_usage(reply: UpstreamReply, prompt_words: int) -> dict[str, Any]:
    prompt, completion = _usage_counts(reply, prompt_words)
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }


def _response_output(reply: UpstreamReply, ids: _Ids) -> list[tuple[str, UpstreamToolCall | None, str]]:
    """(item id, the call or None for the message, the call id) for each output item."""
    plan: list[tuple[str, UpstreamToolCall | None, str]] = []
    if reply.text or not reply.tool_calls:
        plan.append((ids.next("msg"), None, ""))
    for call in reply.tool_calls:
        plan.append((ids.next("fc"), call, call.call_id or ids.next("call")))
    return plan


def response_object(
    reply: UpstreamReply,
    *,
    model: str,
    created: int,
    ids: _Ids,
    prompt_words: int,
    request: Mapping[str, Any],
) -> dict[str, Any]:
    """A whole `Response`."""
    output = [
        _message_item(item_id, reply.text, "completed")
        if call is None
        else _call_item(item_id, call, call_id, call.arguments_json, "completed")
        for item_id, call, call_id in _response_output(reply, ids)
    ]
    return _response(
        ids.next("resp"),
        model=model,
        created=created,
        request=request,
        status="completed",
        output=output,
        usage=_responses_usage(reply, prompt_words),
    )


def response_stream(
    reply: UpstreamReply,
    *,
    model: str,
    created: int,
    ids: _Ids,
    prompt_words: int,
    request: Mapping[str, Any],
) -> Iterator[str]:
    """The SSE frames of a streamed response, in the order the SDK's stream helper requires."""
    response_id = ids.next("resp")
    sequence = iter(range(1_000_000))

    def event(kind: str, **fields: Any) -> str:
        return _sse({"type": kind, "sequence_number": next(sequence), **fields}, event=kind)

    started = _response(
        response_id,
        model=model,
        created=created,
        request=request,
        status="in_progress",
        output=[],
        usage=None,
    )
    yield event("response.created", response=started)
    yield event("response.in_progress", response=started)
    output: list[dict[str, Any]] = []
    for index, (item_id, call, call_id) in enumerate(_response_output(reply, ids)):
        if call is None:
            yield event("response.output_item.added", output_index=index, item=_message_item(item_id, "", ""))
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            where = {"output_index": index, "item_id": item_id, "content_index": 0}
            yield event("response.content_part.added", part=part, **where)
            for match in _WORDS.finditer(reply.text):
                yield event("response.output_text.delta", delta=match.group(), logprobs=[], **where)
            yield event("response.output_text.done", text=reply.text, logprobs=[], **where)
            yield event("response.content_part.done", part={**part, "text": reply.text}, **where)
            done = _message_item(item_id, reply.text, "completed")
        else:
            arguments = call.arguments_json
            added = _call_item(item_id, call, call_id, "", "in_progress")
            yield event("response.output_item.added", output_index=index, item=added)
            half = len(arguments) // 2
            for piece in (arguments[:half], arguments[half:]):
                if piece:
                    yield event(
                        "response.function_call_arguments.delta",
                        output_index=index,
                        item_id=item_id,
                        delta=piece,
                    )
            yield event(
                "response.function_call_arguments.done",
                output_index=index,
                item_id=item_id,
                name=call.name,
                arguments=arguments,
            )
            done = _call_item(item_id, call, call_id, arguments, "completed")
        yield event("response.output_item.done", output_index=index, item=done)
        output.append(done)
    finished = _response(
        response_id,
        model=model,
        created=created,
        request=request,
        status="completed",
        output=output,
        usage=_responses_usage(reply, prompt_words),
    )
    yield event("response.completed", response=finished)
