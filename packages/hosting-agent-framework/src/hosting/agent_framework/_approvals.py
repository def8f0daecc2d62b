"""Tool approval requests: the agent asks the caller before running a tool, the caller answers next turn.

Agent Framework pauses its tool loop when the model calls a tool with
``approval_mode="always_require"`` (or when middleware or a hosted tool asks
for approval) and hands back a ``function_approval_request`` content holding
the call. The caller sees it as a client function call named
``approve_tool_call`` whose call id is the request id; the run ends there, as
for any client tool. The call that needs approval is not shown on its own: it
is what the approval call describes, and showing it too would read as a second
client call to answer.

The caller answers with a function result for that call id, ``{"approved":
true}`` (or ``false``; plain ``true``/``false``/``yes``/``no`` too). The
request is kept in session state (``"approvals"``, request id to
``Content.to_dict()``), so the next turn, on this process or after a restart,
turns the answer into Agent Framework's ``function_approval_response``
(`Content.to_function_approval_response`) and resumes the agent with it; the
agent's restored session holds the matching pending request, so Agent
Framework runs the tool (or tells the model it was rejected) and continues.
The tool's call is then shown next to its result, as for any tool the agent ran.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from agent_framework import Content
from agent_framework import Message as AFMessage
from hosting.core import ErrorUpdate, FunctionCall, FunctionResult, Item, RunContext

from ._state import adapter_state

logger = logging.getLogger("hosting.agent_framework")

TOOL_APPROVAL_FUNCTION = "approve_tool_call"
"""The name of the function call an agent's request for tool approval appears as."""

_STATE_KEY = "approvals"
_YES = frozenset({"true", "yes"})
_NO = frozenset({"false", "no"})


def _arguments_value(arguments: Any) -> Any:
    """A call's arguments as a JSON value: an object when they are JSON text, else as they are."""
    if isinstance(arguments, str):
        try:
            return json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            return arguments
    if arguments is None:
        return {}
    return arguments


def _tool_call(request: Content) -> Content | None:
    call = request.function_call
    return call if isinstance(call, Content) else None


def approval_call(request: Content) -> FunctionCall | None:
    """The function call an Agent Framework ``function_approval_request`` appears as.

    Its call id is the request id; its arguments are ``{"request_id", "tool_name",
    "arguments"}``, where ``arguments`` is the object the tool would be called with (the
    model's text as it is when it is not JSON).

    Args:
        request: a ``function_approval_request`` content.

    Returns:
        The call, or None for a request without an id or a tool call (it cannot be answered).
    """
    call = _tool_call(request)
    request_id = request.id
    if call is None or not isinstance(request_id, str) or not request_id:
        return None
    arguments = {
        "request_id": request_id,
        "tool_name": call.name or call.tool_name or "",
        "arguments": _arguments_value(call.arguments),
    }
    return FunctionCall(
        call_id=request_id, name=TOOL_APPROVAL_FUNCTION, arguments=json.dumps(arguments, default=str)
    )


def approval_decision(output: str) -> bool | None:
    """What an answer to an approval call decides: True, False, or None when it says neither.

    Accepted: a JSON object with a boolean ``approved``; JSON ``true``/``false``; the words
    ``true``, ``false``, ``yes``, ``no`` (any case, plain or as a JSON string).
    """
    text = output.strip()
    try:
        value: Any = json.loads(text)
    except ValueError:
        value = text
    if isinstance(value, dict):
        value = cast(dict[str, Any], value).get("approved")
        return value if isinstance(value, bool) else None
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _YES:
            return True
        if word in _NO:
            return False
    return None


def pending_approvals(context: RunContext) -> dict[str, Content]:
    """The approval requests the conversation's last turn ended with, by call id."""
    stored = adapter_state(context).get(_STATE_KEY)
    if not isinstance(stored, dict):
        return {}
    pending: dict[str, Content] = {}
    for call_id, request in stored.items():
        if isinstance(call_id, str) and isinstance(request, dict):
            pending[call_id] = Content.from_dict(cast(dict[str, Any], request))
    return pending


def keep_approvals(context: RunContext, requests: Mapping[str, Content]) -> None:
    """Record the approval requests this turn ended with (none clears the earlier ones)."""
    state = adapter_state(context)
    if requests:
        state[_STATE_KEY] = {call_id: request.to_dict() for call_id, request in requests.items()}
    else:
        state.pop(_STATE_KEY, None)


@dataclass
class ApprovalAnswers:
    """A turn's input, with the answers to pending approvals turned into Agent Framework's form.

    Attributes:
        input: the rest of the input (results of client tools), to convert as usual.
        messages: a user message holding one ``function_approval_response`` per answer (or none).
        tool_calls: the calls the answered requests were about, by the tool call's id, to show
            next to their results.
        error: why the answers cannot be used; the run fails with it.
    """

    input: tuple[Item, ...]
    messages: list[AFMessage] = field(default_factory=list)
    tool_calls: dict[str, FunctionCall] = field(default_factory=dict)
    error: ErrorUpdate | None = None


def _invalid(message: str) -> ErrorUpdate:
    return ErrorUpdate(message, code="invalid_request")


def _shown_call(request: Content) -> FunctionCall | None:
    call = _tool_call(request)
    if call is None or not call.call_id:
        return None
    arguments = call.arguments
    text = arguments if isinstance(arguments, str) else json.dumps(arguments or {}, default=str)
    return FunctionCall(call_id=call.call_id, name=call.name or call.tool_name or "", arguments=text)


def answer_approvals(context: RunContext, pending: Mapping[str, Content]) -> ApprovalAnswers:
    """Match the input's function results to the pending approvals and decode each decision.

    While approvals are pending, every one must be answered, and the input may hold only
    function results (the answers, and results of client tools called in the same turn).
    """
    if not pending:
        return ApprovalAnswers(input=context.input)
    if any(not isinstance(item, FunctionResult) for item in context.input):
        return ApprovalAnswers(
            input=(),
            error=_invalid(
                "While the agent waits for tool approvals, the input may only hold function_call_output items."
            ),
        )
    results = cast(Sequence[FunctionResult], context.input)
    answers = {result.call_id: result for result in results if result.call_id in pending}
    for call_id in pending:
        if call_id not in answers:
            return ApprovalAnswers(
                input=(),
                error=_invalid(
                    f"The agent is waiting for an answer to the {TOOL_APPROVAL_FUNCTION} call "
                    f"'{call_id[:64]}': send a function_call_output for it."
                ),
            )
    responses: list[Content] = []
    tool_calls: dict[str, FunctionCall] = {}
    for call_id, answer in answers.items():
        approved = approval_decision(answer.output)
        if approved is None:
            return ApprovalAnswers(
                input=(),
                error=_invalid(
                    f"The answer to the {TOOL_APPROVAL_FUNCTION} call '{call_id[:64]}' must be "
                    '{"approved": true} or {"approved": false} (or true, false, yes, no).'
                ),
            )
        request = pending[call_id]
        responses.append(request.to_function_approval_response(approved))
        shown = _shown_call(request)
        if shown is not None:
            tool_calls[shown.call_id] = shown
    rest = tuple(result for result in results if result.call_id not in pending)
    return ApprovalAnswers(input=rest, messages=[AFMessage("user", responses)], tool_calls=tool_calls)
