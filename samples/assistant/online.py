"""The online assistant: a real model through the `openai` SDK, with the calculator and the clock.

It speaks Chat Completions, which every OpenAI-compatible server implements
(a local one too), and loops: stream the model's answer through as it comes;
when the model calls the assistant's own tools, run them, show each as a tool
step (the call with its result), and ask again; when it calls a tool the client declared, hand that
call to the client and stop, as the Responses API does.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from openai import APIConnectionError, APIError, APIStatusError, APITimeoutError, AsyncOpenAI

from hosting.core import (
    ErrorUpdate,
    FunctionCall,
    FunctionResult,
    Item,
    ItemBreak,
    Message,
    RunContext,
    TextDelta,
    ToolSpec,
    ToolStep,
    Update,
    Usage,
)

from .tools import TOOL_NAMES, TOOL_SPECS, run_tool, tool_step

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolUnionParam

logger = logging.getLogger("samples.assistant")

DEFAULT_MODEL = "gpt-4o-mini"
MAX_ROUNDS = 8
SYSTEM_PROMPT = (
    "You are a helpful assistant served by the hosting demo. Use the calculator for arithmetic "
    "and the clock for the date and time. Be brief."
)
# Generation options a Responses request may carry, by their Chat Completions names.
_OPTIONS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "max_output_tokens": "max_tokens",
    "parallel_tool_calls": "parallel_tool_calls",
}


def to_chat_messages(instructions: str | None, items: tuple[Item, ...]) -> list[dict[str, Any]]:
    """The run's context as Chat Completions messages."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": instructions or SYSTEM_PROMPT}]
    for index, item in enumerate(items):
        if isinstance(item, Message):
            role = "system" if item.role == "developer" else item.role
            messages.append({"role": role, "content": item.text})
        elif isinstance(item, FunctionCall):
            call = {
                "id": item.call_id,
                "type": "function",
                "function": {"name": item.name, "arguments": item.arguments},
            }
            last = messages[-1]
            if last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif isinstance(item, FunctionResult):
            messages.append({"role": "tool", "tool_call_id": item.call_id, "content": item.output})
        elif isinstance(item, ToolStep):
            # An earlier step of the assistant's own: the call and its outcome, as the model made them.
            call_id = item.id or f"step_{index}"
            function = {"name": item.name, "arguments": item.arguments}
            messages.append(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": call_id, "type": "function", "function": function}],
                }
            )
            outcome = item.output if item.error is None else f"error: {item.error}"
            messages.append({"role": "tool", "tool_call_id": call_id, "content": outcome or ""})
    return messages


def client_tool_specs(tools: tuple[ToolSpec, ...]) -> list[dict[str, Any]]:
    """The client's declared tools in the Chat Completions format (ours win a name clash)."""
    specs = []
    for tool in tools:
        if tool.name in TOOL_NAMES:
            continue
        function: dict[str, Any] = {
            "name": tool.name,
            "parameters": dict(tool.parameters or {"type": "object"}),
        }
        if tool.description:
            function["description"] = tool.description
        specs.append({"type": "function", "function": function})
    return specs


_HINTS = {
    401: ": the API key was refused (check OPENAI_API_KEY)",
    403: ": the API key may not use this model",
    404: ": no such model or endpoint (check OPENAI_MODEL and OPENAI_BASE_URL)",
    429: ": rate limited or out of quota",
}


@dataclass
class _PendingCall:
    call_id: str = ""
    name: str = ""
    arguments: str = ""


class OpenAIAssistant:
    """A tool-using agent backed by any OpenAI-compatible Chat Completions server.

    Args:
        client: the `AsyncOpenAI` client (its ``base_url`` picks the server).
        model: the model to ask.
        name: the agent's name (the ``model`` clients may ask the host for).
    """

    def __init__(self, client: AsyncOpenAI, *, model: str = DEFAULT_MODEL, name: str = "assistant") -> None:
        self.client = client
        self.model = model
        self.name = name

    def describe(self, error: APIError) -> str:
        """Log what went wrong with the model server, with its cause; return what the client sees.

        A server that did not answer and one that answered with an error are different
        failures with different fixes (the address, or the key or model), so the
        operator's log and the client's message both tell them apart. Neither carries
        the server's own error text, which may quote the key.
        """
        where = str(self.client.base_url).rstrip("/")
        if isinstance(error, APITimeoutError):
            logger.error("model server %s did not answer in time (model %s)", where, self.model)
            return "The model server did not answer in time."
        if isinstance(error, APIConnectionError):
            cause = error.__cause__ or error.__context__
            reason = f"{type(cause).__name__}: {cause}" if cause is not None else str(error)
            logger.error("model server %s could not be reached: %s", where, reason)
            return "The model server could not be reached."
        if isinstance(error, APIStatusError):
            status = error.status_code
            hint = _HINTS.get(status, "")
            code = f" ({error.code})" if error.code else ""
            logger.error(
                "model server %s answered %d%s for model %s%s", where, status, code, self.model, hint
            )
            return f"The model server answered with an error ({status})."
        logger.error("model server %s: %s", where, type(error).__name__)
        return "The model server answered with an error."

    def _options(self, context: RunContext) -> dict[str, Any]:
        options = context.options
        chosen = {
            ours: options[theirs] for theirs, ours in _OPTIONS.items() if options.get(theirs) is not None
        }
        wanted = context.output_format
        if wanted is not None:
            if wanted.type == "json_object":
                chosen["response_format"] = {"type": "json_object"}
            else:
                schema: dict[str, Any] = {"name": wanted.name, "schema": dict(wanted.schema or {})}
                if wanted.strict is not None:
                    schema["strict"] = wanted.strict
                if wanted.description:
                    schema["description"] = wanted.description
                chosen["response_format"] = {"type": "json_schema", "json_schema": schema}
        effort = (options.get("reasoning") or {}).get("effort")
        if effort is not None:
            chosen["reasoning_effort"] = effort
        return chosen

    async def run(self, context: RunContext) -> AsyncIterator[Update]:
        messages = to_chat_messages(context.instructions, context.messages)
        tools = TOOL_SPECS + client_tool_specs(context.tools)
        for _ in range(MAX_ROUNDS):
            calls: dict[int, _PendingCall] = {}
            text: list[str] = []
            try:
                stream = await self.client.chat.completions.create(
                    model=self.model,
                    # Built as plain dicts (they mirror the wire); the SDK's TypedDicts describe the same.
                    messages=cast("list[ChatCompletionMessageParam]", messages),
                    tools=cast("list[ChatCompletionToolUnionParam]", tools),
                    stream=True,
                    stream_options={"include_usage": True},
                    extra_body=self._options(context),
                )
                async for chunk in stream:
                    if chunk.usage is not None:
                        yield Usage(
                            input_tokens=chunk.usage.prompt_tokens,
                            output_tokens=chunk.usage.completion_tokens,
                        )
                    if not chunk.choices:
                        continue
                    delta = chunk.choices[0].delta
                    if delta.content:
                        text.append(delta.content)
                        yield TextDelta(delta.content)
                    for piece in delta.tool_calls or []:
                        pending = calls.setdefault(piece.index, _PendingCall())
                        pending.call_id = piece.id or pending.call_id
                        if piece.function is not None:
                            pending.name = piece.function.name or pending.name
                            pending.arguments += piece.function.arguments or ""
            except APIError as error:
                yield ErrorUpdate(self.describe(error))
                return
            if not calls:
                return
            yield ItemBreak()
            assistant: dict[str, Any] = {
                "role": "assistant",
                "content": "".join(text) or None,
                "tool_calls": [],
            }
            messages.append(assistant)
            for index in sorted(calls):
                call = calls[index]
                call_id = call.call_id or f"call_{index}"
                assistant["tool_calls"].append(
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments},
                    }
                )
                if call.name in TOOL_NAMES:
                    # Its own tool: run here and shown as a step, never as a call for the client.
                    output = run_tool(call.name, call.arguments)
                    yield tool_step(call.name, call.arguments or "{}", output)
                    messages.append({"role": "tool", "tool_call_id": call_id, "content": output})
                else:
                    yield FunctionCall(call_id, call.name, call.arguments or "{}")
            if any(call.name not in TOOL_NAMES for call in calls.values()):
                return  # the client runs its own tools and sends their results in its next request
        yield ErrorUpdate(f"The model kept calling tools after {MAX_ROUNDS} rounds.")
