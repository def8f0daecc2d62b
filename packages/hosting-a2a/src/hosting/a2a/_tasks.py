"""The host's runs as A2A tasks: a stored response as a `Task`, a run's events as stream events.

A task is a response of the host: its id is the response id, its ``contextId`` the conversation.

- ``history``: the user's input messages, then the agent's intermediate steps (reasoning, tool
  calls, tool results) as agent messages marked ``metadata.kind``;
- ``artifacts``: one per answer message of the agent (``artifactId`` is the item id);
- ``status``: the response's status; ``queued`` is ``submitted``, ``in_progress`` is ``working``, and
  ``incomplete`` (a timeout, a shutdown) is ``failed`` with the reason as the status message.

While a run streams, each text delta is a ``TaskArtifactUpdateEvent`` (``append`` after the first,
``lastChunk`` when the message is done), each intermediate step a ``working`` status update
carrying it as its message, and the end one final status update. `TaskStream` keeps the task those
events add up to, so a subscriber who joins late first gets that task, then the rest.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import TypeAlias

from google.protobuf import struct_pb2  # type: ignore[import-untyped]

from a2a.types import (
    Artifact,
    Message,
    Part,
    Role,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from hosting.core import FunctionCall, FunctionResult, Item, Reasoning, ToolStep
from hosting.core import Message as NeutralMessage
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

from ._parts import data_part, parts_out, text_part

StreamEvent: TypeAlias = Task | TaskStatusUpdateEvent | TaskArtifactUpdateEvent

STATES: dict[str, TaskState] = {
    "queued": TaskState.TASK_STATE_SUBMITTED,
    "in_progress": TaskState.TASK_STATE_WORKING,
    "completed": TaskState.TASK_STATE_COMPLETED,
    "failed": TaskState.TASK_STATE_FAILED,
    "cancelled": TaskState.TASK_STATE_CANCELED,
    "incomplete": TaskState.TASK_STATE_FAILED,
}
TERMINAL = frozenset(
    {TaskState.TASK_STATE_COMPLETED, TaskState.TASK_STATE_FAILED, TaskState.TASK_STATE_CANCELED}
)
ANSWER = "answer"


def _timestamp(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)


def _metadata(**values: str) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def message_of(item: NeutralMessage, *, task_id: str, context_id: str) -> Message:
    """A message of the conversation as A2A has it (assistant and system messages are the agent's)."""
    return Message(
        message_id=item.id or "",
        context_id=context_id,
        task_id=task_id,
        role=Role.ROLE_USER if item.role == "user" else Role.ROLE_AGENT,
        parts=parts_out(item.parts),
    )


def step_message(item: Item, *, task_id: str, context_id: str) -> Message | None:
    """An intermediate step of the agent (reasoning, a tool step, a tool call or its result) as an agent
    message; its ``kind`` metadata says which."""
    if isinstance(item, Reasoning):
        kind, parts = "reasoning", [text_part(item.text)]
    elif isinstance(item, FunctionCall):
        call = {"call_id": item.call_id, "name": item.name, "arguments": item.arguments}
        kind, parts = "function_call", [data_part(call)]
    elif isinstance(item, FunctionResult):
        kind, parts = "function_result", [data_part({"call_id": item.call_id, "output": item.output})]
    elif isinstance(item, ToolStep):
        # A tool the agent ran itself: the call and its outcome in one message.
        step: dict[str, str | None] = {
            "name": item.name,
            "arguments": item.arguments,
            "server_label": item.server_label,
            "output": item.output,
            "error": item.error,
        }
        kind, parts = "tool_step", [data_part(step)]
    else:
        return None
    return Message(
        message_id=item.id or "",
        context_id=context_id,
        task_id=task_id,
        role=Role.ROLE_AGENT,
        parts=parts,
        metadata=_metadata(kind=kind),
    )


def status_of(record: ResponseRecord, *, context_id: str) -> TaskStatus:
    """The task status of a response (with the reason as the message when it did not complete)."""
    status = TaskStatus(
        state=STATES[record.status], timestamp=_timestamp(record.completed_at or record.created_at)
    )
    reason = None
    if record.error is not None:
        reason = record.error.message
    elif record.status == "incomplete":
        reason = f"The run ended incomplete ({record.incomplete_reason or 'interrupted'})."
    if reason:
        status.message.CopyFrom(
            Message(
                message_id=f"{record.id}_status",
                context_id=context_id,
                task_id=record.id,
                role=Role.ROLE_AGENT,
                parts=[text_part(reason)],
            )
        )
    return status


def task_of(record: ResponseRecord) -> Task:
    """A stored response as a task (its output as the record has it)."""
    context_id = record.conversation_id or ""
    task = Task(id=record.id, context_id=context_id, status=status_of(record, context_id=context_id))
    task.history.extend(_inputs(record, context_id))
    for item in record.output_items:
        if isinstance(item, NeutralMessage):
            task.artifacts.append(
                Artifact(artifact_id=item.id or "", name=ANSWER, parts=parts_out(item.parts))
            )
        elif (step := step_message(item, task_id=record.id, context_id=context_id)) is not None:
            task.history.append(step)
    return task


def _inputs(record: ResponseRecord, context_id: str) -> Iterable[Message]:
    for item in record.input_items:
        if isinstance(item, NeutralMessage):
            yield message_of(item, task_id=record.id, context_id=context_id)
        elif (step := step_message(item, task_id=record.id, context_id=context_id)) is not None:
            yield step


class TaskStream:
    """Renders a run's events as A2A stream events, keeping the task they add up to in `task`."""

    def __init__(self, created: ResponseRecord) -> None:
        self.record = created
        self.context_id = created.conversation_id or ""
        # The task as it began: no output yet (`created` is the record as the run started).
        self.task = task_of(created.evolve(output_items=()))
        self._artifacts: dict[str, Artifact] = {}

    @property
    def finished(self) -> bool:
        return self.task.status.state in TERMINAL

    def apply(self, event: RunEvent) -> list[StreamEvent]:
        """Fold `event` into `task`; return what a subscriber is sent for it."""
        if isinstance(event, OutputTextDelta):
            return [self._text(event.item_id, event.delta)]
        if isinstance(event, OutputItemDone):
            return self._item_done(event.item)
        if isinstance(event, RunStarted):
            return self._status(TaskStatus(state=STATES[event.status]))
        if isinstance(event, RunFinished):
            final = self.record.evolve(
                status=event.status,
                error=event.error,
                incomplete_reason=event.incomplete_reason,
                completed_at=event.completed_at,
            )
            return self._status(status_of(final, context_id=self.context_id))
        if isinstance(event, OutputItemAdded | ReasoningTextDelta | FunctionArgumentsDelta):
            # Reasoning and tool calls are sent whole when done; an added item has nothing yet.
            return []
        raise TypeError(f"unknown run event {event!r}")  # pragma: no cover - RunEvent is closed

    def _text(self, item_id: str, delta: str) -> TaskArtifactUpdateEvent:
        artifact = self._artifacts.get(item_id)
        append = artifact is not None
        if artifact is None:
            artifact = self.task.artifacts.add(artifact_id=item_id, name=ANSWER)
            artifact.parts.append(text_part(""))
            self._artifacts[item_id] = artifact
        artifact.parts[-1].text += delta
        return TaskArtifactUpdateEvent(
            task_id=self.task.id,
            context_id=self.context_id,
            artifact=Artifact(artifact_id=item_id, name=ANSWER, parts=[text_part(delta)]),
            append=append,
            last_chunk=False,
        )

    def _item_done(self, item: Item) -> list[StreamEvent]:
        if isinstance(item, NeutralMessage):
            item_id = item.id or ""
            streamed = item_id in self._artifacts
            artifact = self._artifacts.pop(item_id, None)
            if artifact is None:
                artifact = self.task.artifacts.add(artifact_id=item_id, name=ANSWER)
            del artifact.parts[:]
            artifact.parts.extend(parts_out(item.parts))
            # Streamed text was sent delta by delta: its end is an empty last chunk.
            parts: list[Part] = [text_part("")] if streamed else list(artifact.parts)
            update = Artifact(artifact_id=item_id, name=ANSWER, parts=parts)
            return [
                TaskArtifactUpdateEvent(
                    task_id=self.task.id,
                    context_id=self.context_id,
                    artifact=update,
                    append=streamed,
                    last_chunk=True,
                )
            ]
        step = step_message(item, task_id=self.task.id, context_id=self.context_id)
        if step is None:  # pragma: no cover - Item is closed
            return []
        self.task.history.append(step)
        status = TaskStatus(state=TaskState.TASK_STATE_WORKING, message=step)
        return self._status(status, always=True)

    def _status(self, status: TaskStatus, *, always: bool = False) -> list[StreamEvent]:
        if not always and status.state == self.task.status.state and not status.HasField("message"):
            return []
        if not status.HasField("timestamp"):
            status.timestamp.GetCurrentTime()
        self.task.status.CopyFrom(status)
        update = TaskStatusUpdateEvent(task_id=self.task.id, context_id=self.context_id)
        update.status.CopyFrom(status)
        return [update]
