"""One turn of a hosted workflow: restore the conversation's checkpoint, run the new input, keep the newest.

A turn is one of two kinds:

- **answers**: the input holds only function results whose call ids are
  requests the workflow is waiting for (human in the loop). The latest
  checkpoint is restored and the answers delivered in one run.
- **input**: anything else. The latest checkpoint (if any) is restored, then
  the input is sent to the workflow's start executor.

Streaming and non-streaming turns restore the same way; only the last run is
streamed or not. The workflow's outputs become our updates; each request for
outside input becomes a `FunctionCall` named ``request_info`` (its call id is
the request id, see `request_call`), which ends the turn: the caller answers it
with a function result in the next one.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from typing import Any, get_args, get_origin

from agent_framework import AgentResponse, AgentResponseUpdate, Content, Workflow, WorkflowEvent
from agent_framework import Message as AFMessage
from hosting.core import ErrorUpdate, FunctionCall, FunctionResult, Item, RunContext, Update

from ._checkpoints import ConversationCheckpoints
from ._messages import to_agent_framework_messages
from ._state import adapter_state, unseen_history
from ._updates import UpdateMapper

REQUEST_INFO_FUNCTION = "request_info"
"""The name of the function call a workflow's request for outside input appears as."""

_FORWARDED = frozenset({"output", "intermediate", "data"})

WorkflowInput = Callable[[RunContext, Sequence[Item]], Any]
"""Builds the start executor's message from the run and the items to send (history it has not seen + input)."""


def _plain(value: Any) -> Any:
    """A JSON-ready form of a request's payload."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        return model_dump(mode="json")
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def request_call(event: WorkflowEvent[Any]) -> FunctionCall:
    """The function call a workflow's ``request_info`` event appears as.

    Arguments: ``{"request_id", "source_executor_id", "request_type", "response_type", "data"}``,
    where ``data`` is the request's payload (a dataclass or pydantic model as an object).
    """
    arguments = {
        "request_id": event.request_id,
        "source_executor_id": event.source_executor_id,
        "request_type": event.request_type.__name__,
        "response_type": getattr(event.response_type, "__name__", str(event.response_type)),
        "data": _plain(event.data),
    }
    return FunctionCall(call_id=event.request_id, name=REQUEST_INFO_FUNCTION, arguments=json.dumps(arguments))


def _answer_value(output: str, response_type: Any) -> Any:
    """The value an answer's text stands for: the text for a `str` request, else its JSON if it parses."""
    if response_type is str:
        return output
    try:
        return json.loads(output)
    except ValueError:
        return output


def _takes_message_list(kind: Any) -> bool:
    """``list[Message]``, or a list of a union holding `Message` (``list[str | Message]``)."""
    if get_origin(kind) is not list:
        return False
    (element,) = get_args(kind) or (None,)
    return element is AFMessage or AFMessage in get_args(element)


def default_workflow_input(workflow: Workflow) -> WorkflowInput:
    """How the input reaches a workflow's start executor, from the types it accepts.

    A list of messages gets the Agent Framework messages; ``Message`` the last
    one; ``str`` the text of the user messages.
    """
    accepted = list(workflow.get_start_executor().input_types)

    def as_messages(context: RunContext, items: Sequence[Item]) -> Any:
        return to_agent_framework_messages(items)

    def as_message(context: RunContext, items: Sequence[Item]) -> Any:
        messages = to_agent_framework_messages(items)
        return messages[-1] if messages else AFMessage("user", [""])

    def as_text(context: RunContext, items: Sequence[Item]) -> Any:
        return context.input_text

    if any(_takes_message_list(kind) for kind in accepted):
        return as_messages
    if AFMessage in accepted:
        return as_message
    if str in accepted:
        return as_text
    raise TypeError(
        f"workflow {workflow.name!r} starts with an executor accepting {accepted}; "
        "give AgentFrameworkAgent a workflow_input= function to build its message"
    )


def _event_updates(mapper: UpdateMapper, event: WorkflowEvent[Any]) -> list[Update]:
    if event.type == "request_info":
        return [*mapper.finish_calls(), request_call(event)]
    if event.type not in _FORWARDED:
        return []
    data = event.data
    author = event.executor_id
    if isinstance(data, AgentResponseUpdate):
        return mapper.feed(data.contents, author=data.author_name or author, message_id=data.message_id)
    if isinstance(data, AgentResponse):
        return mapper.feed_response(data)
    if isinstance(data, AFMessage):
        return mapper.feed_message(data)
    if isinstance(data, list) and data and all(isinstance(entry, AFMessage) for entry in data):
        return [update for message in data for update in mapper.feed_message(message)]
    if isinstance(data, Content):
        return mapper.feed([data], author=author, boundary=True)
    text = data if isinstance(data, str) else json.dumps(_plain(data))
    return mapper.feed([Content.from_text(text)], author=author, boundary=True)


async def _events(
    workflow: Workflow, message: Any = None, *, stream: bool, **arguments: Any
) -> AsyncIterator[WorkflowEvent[Any]]:
    """The events of one workflow run, streamed or all at once."""
    if stream:
        async for event in workflow.run(message, stream=True, **arguments):
            yield event
    else:
        for event in await workflow.run(message, stream=False, **arguments):
            yield event


async def run_workflow_turn(
    workflow: Workflow,
    context: RunContext,
    *,
    stream: bool,
    workflow_input: WorkflowInput | None,
    allowed_types: Sequence[str] = (),
) -> AsyncGenerator[Update, None]:
    """The updates of one workflow turn; the conversation's newest checkpoint goes to session state."""
    state = adapter_state(context)
    answers = [item for item in context.input if isinstance(item, FunctionResult)]
    mapper = UpdateMapper()
    async with ConversationCheckpoints(state, allowed_types=allowed_types) as checkpoints:
        restored = await checkpoints.latest(workflow.name)
        storage = checkpoints.storage
        if answers:
            pending = dict(restored.pending_request_info_events) if restored is not None else {}
            error = _check_answers(context, answers, pending)
            if error is not None:
                yield error
                return
            responses = {
                answer.call_id: _answer_value(answer.output, pending[answer.call_id].response_type)
                for answer in answers
            }
            checkpoint_id = restored.checkpoint_id if restored is not None else None
            events = _events(
                workflow,
                stream=stream,
                checkpoint_id=checkpoint_id,
                checkpoint_storage=storage,
                responses=responses,
            )
        else:
            if restored is not None:
                # Restoring replays what the checkpoint left in flight (nothing, after a finished
                # turn; a pending request, which the caller has seen already): not shown again.
                async for _ in workflow.run(
                    checkpoint_id=restored.checkpoint_id, checkpoint_storage=storage, stream=True
                ):
                    pass
            items = (*(unseen_history(context) if restored is not None else context.history), *context.input)
            convert = workflow_input or default_workflow_input(workflow)
            events = _events(workflow, convert(context, items), stream=stream, checkpoint_storage=storage)
        produced = False
        try:
            async for event in events:
                for update in _event_updates(mapper, event):
                    produced = True
                    yield update
        except ValueError as error:
            if answers and not produced and "request id" in str(error).lower():
                # Agent Framework checks each answer against the request's response type.
                yield ErrorUpdate(
                    "An answer does not match the type its request expects.", code="invalid_request"
                )
                return
            raise
        for update in mapper.finish():
            yield update
        state["covered"] = len(context.history) + len(context.input)
        await checkpoints.keep(workflow.get_last_checkpoint_id(), workflow.name)


def _check_answers(
    context: RunContext, answers: Sequence[FunctionResult], pending: Mapping[str, Any]
) -> ErrorUpdate | None:
    if len(answers) != len(context.input):
        return ErrorUpdate(
            "While the workflow waits for answers, the input may only hold function_call_output items.",
            code="invalid_request",
        )
    for answer in answers:
        if answer.call_id not in pending:
            return ErrorUpdate(
                f"The workflow is not waiting for an answer to call_id '{answer.call_id[:64]}'.",
                code="invalid_request",
            )
    return None
