"""The Response object and its stream of events, rendered from the core's records and run events.

Rendering is a pure function of the response record as it was created and the
run's event log: every id and timestamp comes from them, none is made here. So
rendering a finished run again (a ``GET ... ?stream=true`` after a reconnect)
gives the very same wire events, sequence numbers included, and a client can
resume after any number it saw.

The Response object inside the events is `response_body`'s.
"""

from __future__ import annotations

from typing import Any

from hosting.core import FunctionCall, FunctionResult, Item, Message, Reasoning, ToolStep
from hosting.core.channels import (
    FunctionArgumentsDelta,
    OutputItemAdded,
    OutputItemDone,
    OutputTextDelta,
    ReasoningTextDelta,
    RunEvent,
    RunFinished,
    RunStarted,
)
from hosting.core.stores import ResponseRecord

from ._items import output_text_part, render_output_item
from ._response_body import response_body

_TERMINAL_EVENTS = {
    "completed": "response.completed",
    "failed": "response.failed",
    "incomplete": "response.incomplete",
    # The SDK has no `response.cancelled` event: a cancelled run ends with `response.incomplete`
    # whose response says `status: "cancelled"`.
    "cancelled": "response.incomplete",
}


def _added_item(item: Item) -> dict[str, Any]:
    """An output item as it begins: empty content, ``in_progress``."""
    if isinstance(item, Message):
        return {"id": item.id, "type": "message", "role": "assistant", "status": "in_progress", "content": []}
    if isinstance(item, Reasoning):
        return {"id": item.id, "type": "reasoning", "status": "in_progress", "summary": []}
    return render_output_item(item, status="in_progress")


class StreamRenderer:
    """Turns a run's events into Responses stream events, one run event at a time.

    Feed it `start()` first, then every `RunEvent` in order; each call returns the wire
    events (dicts, ``sequence_number`` contiguous from 0) to send. The renderer keeps
    only what the terminal event needs: the finished items and the text streamed so far.
    """

    def __init__(self, created: ResponseRecord) -> None:
        self.created = created
        self.sequence_number = 0
        self.status: str = created.status
        self._done: dict[int, dict[str, Any]] = {}
        self._streamed: dict[int, list[str]] = {}
        self._summary_open: set[int] = set()
        # Output indexes of tool steps (``mcp_call`` items) still open: their arguments have events of their own.
        self._tool_steps: set[int] = set()

    def _event(self, events: list[dict[str, Any]], kind: str, **fields: Any) -> None:
        fields["type"] = kind
        fields["sequence_number"] = self.sequence_number
        self.sequence_number += 1
        events.append(fields)

    def start(self) -> list[dict[str, Any]]:
        """``response.created`` (and ``response.queued`` for a queued background run)."""
        events: list[dict[str, Any]] = []
        body = response_body(self.created)
        self._event(events, "response.created", response=body)
        if self.created.status == "queued":
            self._event(events, "response.queued", response=body)
        return events

    def feed(self, event: RunEvent) -> list[dict[str, Any]]:
        """The wire events for one run event."""
        events: list[dict[str, Any]] = []
        if isinstance(event, OutputTextDelta):
            self._streamed[event.output_index].append(event.delta)
            self._event(
                events,
                "response.output_text.delta",
                item_id=event.item_id,
                output_index=event.output_index,
                content_index=0,
                delta=event.delta,
                logprobs=[],
            )
        elif isinstance(event, FunctionArgumentsDelta):
            self._arguments_delta(events, event.output_index, event.item_id, event.delta)
        elif isinstance(event, ReasoningTextDelta):
            self._reasoning_delta(events, event.output_index, event.item_id, event.delta)
        elif isinstance(event, OutputItemAdded):
            self._added(events, event)
        elif isinstance(event, OutputItemDone):
            self._finish_item(events, event)
        elif isinstance(event, RunStarted):
            self.status = event.status
            body = response_body(self.created, status=event.status)
            self._event(events, "response.in_progress", response=body)
        elif isinstance(event, RunFinished):
            body = response_body(
                self.created,
                status=event.status,
                output=[self._done[index] for index in sorted(self._done)],
                usage=event.usage,
                error=event.error,
                incomplete_reason=event.incomplete_reason,
                completed_at=event.completed_at,
            )
            self._event(events, _TERMINAL_EVENTS[event.status], response=body)
        return events

    def snapshot(self) -> dict[str, Any]:
        """The Response as it stands mid-run: its status so far and the output items already done."""
        return response_body(
            self.created, status=self.status, output=[self._done[i] for i in sorted(self._done)]
        )

    def _added(self, events: list[dict[str, Any]], event: OutputItemAdded) -> None:
        index, item = event.output_index, event.item
        self._streamed[index] = []
        self._event(events, "response.output_item.added", output_index=index, item=_added_item(item))
        if isinstance(item, ToolStep):
            self._tool_steps.add(index)
            self._event(events, "response.mcp_call.in_progress", item_id=item.id, output_index=index)
        elif isinstance(item, Message):
            self._event(
                events,
                "response.content_part.added",
                item_id=item.id,
                output_index=index,
                content_index=0,
                part=output_text_part(""),
            )

    def _arguments_delta(
        self, events: list[dict[str, Any]], index: int, item_id: str | None, delta: str
    ) -> None:
        self._streamed.setdefault(index, []).append(delta)
        kind = (
            "response.mcp_call_arguments.delta"
            if index in self._tool_steps
            else "response.function_call_arguments.delta"
        )
        self._event(events, kind, item_id=item_id, output_index=index, delta=delta)

    def _reasoning_delta(self, events: list[dict[str, Any]], index: int, item_id: str, delta: str) -> None:
        if index not in self._summary_open:
            self._summary_open.add(index)
            self._event(
                events,
                "response.reasoning_summary_part.added",
                item_id=item_id,
                output_index=index,
                summary_index=0,
                part={"type": "summary_text", "text": ""},
            )
        self._streamed[index].append(delta)
        self._event(
            events,
            "response.reasoning_summary_text.delta",
            item_id=item_id,
            output_index=index,
            summary_index=0,
            delta=delta,
        )

    def _catch_up(self, events: list[dict[str, Any]], index: int, item: Item, final: str) -> None:
        """Send what the deltas left out, so the deltas always add up to the final text."""
        streamed = "".join(self._streamed.get(index, ()))
        if final == streamed or not final.startswith(streamed):
            return
        rest = final[len(streamed) :]
        if isinstance(item, Reasoning):
            self._reasoning_delta(events, index, item.id or "", rest)
        else:
            self._arguments_delta(events, index, item.id, rest)

    def _finish_item(self, events: list[dict[str, Any]], event: OutputItemDone) -> None:
        index, item = event.output_index, event.item
        self._streamed.setdefault(index, [])
        rendered = render_output_item(item)
        if isinstance(item, Message):
            text = item.text
            streamed = "".join(self._streamed[index])
            if text != streamed and text.startswith(streamed):
                rest = text[len(streamed) :]
                self._streamed[index].append(rest)
                self._event(
                    events,
                    "response.output_text.delta",
                    item_id=item.id,
                    output_index=index,
                    content_index=0,
                    delta=rest,
                    logprobs=[],
                )
            self._event(
                events,
                "response.output_text.done",
                item_id=item.id,
                output_index=index,
                content_index=0,
                text=text,
                logprobs=[],
            )
            self._event(
                events,
                "response.content_part.done",
                item_id=item.id,
                output_index=index,
                content_index=0,
                part=output_text_part(text),
            )
        elif isinstance(item, Reasoning):
            self._catch_up(events, index, item, item.text)
            if index in self._summary_open:
                part = {"type": "summary_text", "text": item.text}
                self._event(
                    events,
                    "response.reasoning_summary_text.done",
                    item_id=item.id,
                    output_index=index,
                    summary_index=0,
                    text=item.text,
                )
                self._event(
                    events,
                    "response.reasoning_summary_part.done",
                    item_id=item.id,
                    output_index=index,
                    summary_index=0,
                    part=part,
                )
        elif isinstance(item, FunctionCall):
            self._catch_up(events, index, item, item.arguments)
            self._event(
                events,
                "response.function_call_arguments.done",
                item_id=item.id,
                output_index=index,
                arguments=item.arguments,
            )
        elif isinstance(item, ToolStep):
            self._tool_steps.add(index)  # done without being added: the deltas caught up are its own
            self._catch_up(events, index, item, item.arguments)
            self._event(
                events,
                "response.mcp_call_arguments.done",
                item_id=item.id,
                output_index=index,
                arguments=item.arguments,
            )
            outcome = "response.mcp_call.failed" if item.failed else "response.mcp_call.completed"
            self._event(events, outcome, item_id=item.id, output_index=index)
            self._tool_steps.discard(index)
        elif not isinstance(item, FunctionResult):  # pragma: no cover - Item is a closed union
            raise TypeError(f"unknown item {type(item).__name__}")
        self._event(events, "response.output_item.done", output_index=index, item=rendered)
        self._done[index] = rendered
        self._streamed.pop(index, None)
        self._summary_open.discard(index)
