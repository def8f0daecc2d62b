"""Responses as tasks, and run events as stream events: the task a stream adds up to is the task
the stored response renders."""

from __future__ import annotations

from a2a.types import Role, TaskState

from hosting.a2a._tasks import TaskStream, task_of
from hosting.core import FunctionCall, Message, Reasoning, TextPart, ToolStep, user_message
from hosting.core.channels import OutputItemAdded, OutputItemDone, OutputTextDelta, RunFinished, RunStarted
from hosting.core.stores import ResponseRecord, RunError

CREATED = ResponseRecord(
    "resp_1",
    "alice",
    1_700_000_000.0,
    "in_progress",
    channel="a2a",
    input_items=(Message("user", (TextPart("hi"),), id="msg_in"),),
    conversation_id="conv_1",
)
ANSWER = Message("assistant", (TextPart("Hello"),), id="msg_out")
STEP = FunctionCall("call_1", "clock", "{}", id="fc_1")


def test_a_stream_adds_up_to_the_stored_task() -> None:
    stream = TaskStream(CREATED)
    assert stream.task.status.state == TaskState.TASK_STATE_WORKING
    sent = []
    for event in [
        RunStarted("in_progress"),
        OutputItemDone(0, STEP),
        OutputItemAdded(1, Message("assistant", (), id="msg_out")),
        OutputTextDelta(1, "msg_out", "Hel"),
        OutputTextDelta(1, "msg_out", "lo"),
        OutputItemDone(1, ANSWER),
        RunFinished("completed", 1_700_000_001.0),
    ]:
        sent.extend(stream.apply(event))
    kinds = [type(event).__name__ for event in sent]
    assert kinds == [
        "TaskStatusUpdateEvent",  # the tool step
        "TaskArtifactUpdateEvent",
        "TaskArtifactUpdateEvent",
        "TaskArtifactUpdateEvent",
        "TaskStatusUpdateEvent",  # completed
    ]
    assert stream.finished
    stored = task_of(
        CREATED.evolve(status="completed", output_items=(STEP, ANSWER), completed_at=1_700_000_001.0)
    )
    assert stream.task.artifacts == stored.artifacts
    assert stream.task.history == stored.history
    assert stream.task.status.state == stored.status.state == TaskState.TASK_STATE_COMPLETED
    assert stream.task.status.timestamp == stored.status.timestamp


def test_a_whole_message_is_one_last_chunk() -> None:
    stream = TaskStream(CREATED)
    (update,) = stream.apply(OutputItemDone(0, ANSWER))
    assert update.artifact.parts[0].text == "Hello"  # type: ignore[union-attr]
    assert update.last_chunk and not update.append  # type: ignore[union-attr]


def test_history_holds_input_then_steps_and_answers_are_artifacts() -> None:
    record = CREATED.evolve(
        status="completed",
        output_items=(
            Reasoning("hmm", id="rs_1"),
            STEP,
            ToolStep("clock", "{}", error="no clock", id="tool_step_1"),
            ANSWER,
        ),
        input_items=(user_message("hi"),),
    )
    task = task_of(record)
    assert (task.id, task.context_id) == ("resp_1", "conv_1")
    assert [message.role for message in task.history] == [Role.ROLE_USER] + [Role.ROLE_AGENT] * 3
    kinds = [message.metadata["kind"] for message in task.history[1:]]
    assert kinds == ["reasoning", "function_call", "tool_step"]
    step = task.history[3].parts[0].data.struct_value
    assert (step["name"], step["arguments"], step["error"], step["server_label"]) == (
        "clock",
        "{}",
        "no clock",
        "agent",
    )
    assert step.fields["output"].HasField("null_value")
    assert [artifact.artifact_id for artifact in task.artifacts] == ["msg_out"]


def test_failed_and_incomplete_runs_are_failed_with_the_reason() -> None:
    failed = task_of(CREATED.evolve(status="failed", error=RunError("agent_error", "it broke")))
    assert failed.status.state == TaskState.TASK_STATE_FAILED
    assert failed.status.message.parts[0].text == "it broke"
    incomplete = task_of(CREATED.evolve(status="incomplete", incomplete_reason="timeout"))
    assert incomplete.status.state == TaskState.TASK_STATE_FAILED
    assert "timeout" in incomplete.status.message.parts[0].text
    queued = task_of(CREATED.evolve(status="queued"))
    assert queued.status.state == TaskState.TASK_STATE_SUBMITTED
    assert not queued.status.HasField("message")


def test_a_repeated_state_is_not_sent_again() -> None:
    stream = TaskStream(CREATED)
    assert stream.apply(RunStarted("in_progress")) == []
    background = TaskStream(CREATED.evolve(status="queued"))
    (update,) = background.apply(RunStarted("in_progress"))
    assert update.status.state == TaskState.TASK_STATE_WORKING  # type: ignore[union-attr]
