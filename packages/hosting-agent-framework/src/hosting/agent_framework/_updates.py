"""Agent Framework output becomes our neutral updates.

Text and reasoning stream through as deltas. Function calls arrive in chunks
(the name and call id first, the arguments in pieces), so they are gathered
until the call is complete: when something else follows it, or when the stream
ends. A call of a client-declared tool is then emitted as a `FunctionCall` (the
client runs it). A call of one of the agent's own tools (or of a tool server's)
waits for the result Agent Framework's tool loop produces, and the two are
emitted as one `ToolStep`: clients must not see it as a call of theirs. A call
is emitted once even when Agent Framework repeats it (it echoes a
declaration-only call when it stops its tool loop); an own call no result came
for is emitted as a `FunctionCall` at the end, the only form that can show it.

With `approvals`, a tool approval request becomes a client function call (see
`_approvals`) and the call it is about is held back; `announce` names calls a
previous turn held back, shown when their results arrive.

Usage follows Agent Framework's own rule: a usage content adds to the running
total unless it is marked ``replace``, in which case it *is* the total so far.
Totals are kept per author (each agent of a workflow reports its own) and
reported once, at the end.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent_framework import AgentResponse, Content
from agent_framework import Message as AFMessage
from hosting.core import (
    ErrorUpdate,
    FunctionCall,
    FunctionResult,
    ItemBreak,
    ReasoningDelta,
    TextDelta,
    ToolStep,
    Update,
    Usage,
)

from ._approvals import approval_call

logger = logging.getLogger("hosting.agent_framework")

AGENT_ERROR_MESSAGE = "The agent reported an error."
TOOL_ERROR_MESSAGE = "The tool failed."
# The label of a tool step the agent ran itself (a tool server's steps carry the server's name).
AGENT_SERVER_LABEL = "agent"


def arguments_text(arguments: Any) -> str:
    """Function-call arguments as the JSON text the Responses API carries."""
    if arguments is None:
        return ""
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, default=str)


def output_text(result: Any) -> str:
    """A tool result as text: text contents joined, anything else as JSON."""
    if result is None:
        return ""
    if isinstance(result, str):
        return result
    if isinstance(result, Content):
        result = [result]
    if isinstance(result, list) and all(isinstance(part, Content) for part in result):
        if all(part.type == "text" for part in result):
            return "".join(part.text or "" for part in result)
        return json.dumps([part.to_dict() for part in result], default=str)
    return json.dumps(result, default=str)


def usage_of(details: Mapping[str, Any]) -> Usage:
    """Our `Usage` for Agent Framework `UsageDetails`."""

    def count(key: str) -> int:
        value = details.get(key)
        return int(value) if isinstance(value, int) else 0

    return Usage(
        input_tokens=count("input_token_count"),
        output_tokens=count("output_token_count"),
        reasoning_tokens=count("reasoning_output_token_count"),
        cached_tokens=count("cache_read_input_token_count"),
    )


@dataclass
class _PendingCall:
    name: str
    arguments: list[str] = field(default_factory=list)


@dataclass
class _RunningCall:
    """A complete call of a tool the agent runs itself, waiting for its result."""

    name: str
    arguments: str
    server_label: str = AGENT_SERVER_LABEL


class UpdateMapper:
    """Maps one run's Agent Framework contents to neutral updates, in order.

    Args:
        approvals: show tool approval requests as ``approve_tool_call`` calls (an agent's run);
            without it they are left out (a workflow asks through ``request_info`` instead).
        announce: tool calls, by call id, shown with their results (calls a previous turn held
            back for approval).
        client_tools: the names of the tools the client declared: their calls are the client's
            to run. Any other call is the agent's own and is shown with its result as a `ToolStep`.
    """

    def __init__(
        self,
        *,
        approvals: bool = False,
        announce: Mapping[str, FunctionCall] | None = None,
        client_tools: Collection[str] = (),
    ) -> None:
        self._approvals = approvals
        self._announce = dict(announce or {})
        self._client_tools = frozenset(client_tools)
        self._running: dict[str, _RunningCall] = {}
        self._stepped: set[str] = set()
        self.approval_requests: dict[str, Content] = {}
        """The approval requests shown, by the call id they were shown with."""
        self._pending: dict[str, _PendingCall] = {}
        self._emitted_calls: set[str] = set()
        self._usage: dict[str, Usage] = {}
        self._message_key: tuple[str | None, str | None] = (None, None)
        self._started = False
        self.failed = False

    # -- feeding -----------------------------------------------------------------------------------

    def feed(
        self,
        contents: Sequence[Content],
        *,
        author: str | None = None,
        message_id: str | None = None,
        boundary: bool = False,
    ) -> list[Update]:
        """Updates for the contents of one streamed update (or one whole message, with `boundary`)."""
        updates: list[Update] = []
        if self._started and (boundary or self._is_new_message(author, message_id)):
            updates.extend(self._flush_calls())
            updates.append(ItemBreak())
        self._started = True
        self._message_key = (author or self._message_key[0], message_id or self._message_key[1])
        for content in contents:
            updates.extend(self._content(content, author))
        return updates

    def feed_message(self, message: AFMessage) -> list[Update]:
        """Updates for a whole message (non-streaming runs, workflow outputs)."""
        return self.feed(
            message.contents, author=message.author_name, message_id=message.message_id, boundary=True
        )

    def feed_response(self, response: AgentResponse[Any]) -> list[Update]:
        """Updates for a whole response; its usage is counted once, from the response itself."""
        updates: list[Update] = []
        for message in response.messages:
            updates.extend(self.feed_message(message))
        if response.usage_details:
            author = response.messages[-1].author_name if response.messages else None
            self._add_usage(author, usage_of(response.usage_details), replace=False)
        return updates

    def finish_calls(self) -> list[Update]:
        """The calls gathered so far, complete: something else is about to be emitted."""
        return self._flush_calls()

    def finish(self) -> list[Update]:
        """Whatever is still pending: complete calls, then the usage total."""
        updates = self._flush_calls()
        # Own calls no result came for (the tool loop stopped first): shown as calls, as they are.
        for call_id, running in self._running.items():
            updates.append(FunctionCall(call_id=call_id, name=running.name, arguments=running.arguments))
        self._running.clear()
        if self._usage:
            total = Usage()
            for usage in self._usage.values():
                total = total + usage
            updates.append(total)
        return updates

    # -- internals ---------------------------------------------------------------------------------

    def _is_new_message(self, author: str | None, message_id: str | None) -> bool:
        last_author, last_id = self._message_key
        return bool(
            (author and last_author and author != last_author)
            or (message_id and last_id and message_id != last_id)
        )

    def _content(self, content: Content, author: str | None) -> Iterable[Update]:
        kind = content.type
        if kind == "function_call":
            self._gather_call(content)
            return ()
        if kind == "usage":
            if content.usage_details:
                self._add_usage(
                    author, usage_of(content.usage_details), replace=content.merge_mode == "replace"
                )
            return ()
        if kind == "function_approval_request" and self._approvals:
            return self._approval(content)
        updates = self._flush_calls()
        if kind == "text":
            if content.text:
                updates.append(TextDelta(content.text))
        elif kind == "text_reasoning":
            if content.text:
                updates.append(ReasoningDelta(content.text))
        elif kind in ("function_result", "mcp_server_tool_result"):
            if (content.call_id or "") not in self._stepped:  # a step is shown once, however often repeated
                updates.append(self._result(content, kind))
        elif kind == "mcp_server_tool_call":
            call_id = content.call_id or ""
            if call_id not in self._emitted_calls:
                self._emitted_calls.add(call_id)
                self._running[call_id] = _RunningCall(
                    name=content.tool_name or content.name or "mcp_tool",
                    arguments=arguments_text(content.arguments),
                    server_label=content.server_name or "mcp",
                )
        elif kind == "error":
            # The provider's wording may carry internals: log it, show the caller a fixed message.
            logger.warning("the agent reported an error: %s (%s)", content.message, content.error_code)
            self.failed = True
            updates.append(ErrorUpdate(AGENT_ERROR_MESSAGE, code="agent_error"))
        else:
            logger.debug("no neutral form for %s content; not shown", kind)
        return updates

    def _result(self, content: Content, kind: str) -> Update:
        """A tool's result: with the call it answers, one `ToolStep`."""
        call_id = content.call_id or ""
        result = content.result if kind == "function_result" else content.output
        running = self._running.pop(call_id, None)
        announced = self._announce.pop(call_id, None)
        if running is None and announced is not None:
            running = _RunningCall(announced.name, announced.arguments)
        if running is None:
            # A result of a call this run never showed (an earlier turn's): kept as it came.
            return FunctionResult(call_id=call_id, output=output_text(result))
        self._stepped.add(call_id)
        failed = kind == "function_result" and (content.exception is not None or content.status == "error")
        if failed:
            # The exception's text is for the operator: the caller gets the result's text, if any.
            logger.info("tool %s failed: %s", running.name, content.exception)
            error = output_text(result) or TOOL_ERROR_MESSAGE
            return ToolStep(running.name, running.arguments, error=error, server_label=running.server_label)
        return ToolStep(
            running.name, running.arguments, output=output_text(result), server_label=running.server_label
        )

    def _approval(self, request: Content) -> list[Update]:
        # The call awaiting approval is described by the approval call: not shown on its own.
        # Other gathered calls stay gathered: the approval of a parallel call may come next.
        call = request.function_call
        if isinstance(call, Content) and call.call_id:
            self._pending.pop(call.call_id, None)
            self._running.pop(call.call_id, None)
            self._emitted_calls.add(call.call_id)
        updates: list[Update] = []
        shown = approval_call(request)
        if shown is None:
            logger.warning("a tool approval request without an id or a call cannot be answered; not shown")
        elif shown.call_id not in self.approval_requests:
            self.approval_requests[shown.call_id] = request
            updates.append(shown)
        return updates

    def _gather_call(self, content: Content) -> None:
        call_id = content.call_id
        if call_id is None:
            # A continuation chunk some providers send without the id: it extends the last call.
            if not self._pending:
                return
            call_id = next(reversed(self._pending))
        if call_id in self._emitted_calls:
            return
        pending = self._pending.get(call_id)
        if pending is None:
            pending = self._pending[call_id] = _PendingCall(content.name or "")
        elif content.name and not pending.name:
            pending.name = content.name
        text = arguments_text(content.arguments)
        if text:
            pending.arguments.append(text)

    def _flush_calls(self) -> list[Update]:
        """Complete the gathered calls: the client's are emitted, the agent's own wait for results."""
        updates: list[Update] = []
        for call_id, pending in self._pending.items():
            self._emitted_calls.add(call_id)
            arguments = "".join(pending.arguments)
            if pending.name in self._client_tools:
                updates.append(FunctionCall(call_id=call_id, name=pending.name, arguments=arguments))
            else:
                self._running[call_id] = _RunningCall(pending.name, arguments)
        self._pending.clear()
        return updates

    def _add_usage(self, author: str | None, usage: Usage, *, replace: bool) -> None:
        key = author or ""
        current = self._usage.get(key)
        self._usage[key] = usage if replace or current is None else current + usage
