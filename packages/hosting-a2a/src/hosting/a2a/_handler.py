"""The A2A request handler of one hosted agent: the SDK's methods, answered by the host's run engine.

The SDK's JSON-RPC dispatcher parses requests, checks the protocol version and renders results
and errors; this handler does the work. Every method acts for the caller whose isolation keys the
host's middleware resolved: `CallContextBuilder` copies them into the SDK's call context, and each
method runs its store and engine calls inside `isolation_scope` with them, since parts of a stream
are read in a task the SDK starts (where the request's ContextVar may not be the one set).

Errors of the host become the protocol's: an unknown task or context (or one of another user) is
``TaskNotFoundError``; a request the host refuses is ``InvalidParamsError`` (400) or
``InvalidRequestError`` (409, 413, 429); a server failure is ``InternalError``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Sequence

from starlette.requests import Request

from a2a.server.context import ServerCallContext
from a2a.server.events import Event
from a2a.server.request_handlers import RequestHandler
from a2a.server.request_handlers.request_handler import validate_request_params
from a2a.server.routes import DefaultServerCallContextBuilder
from a2a.types import (
    AgentCard,
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    ExtendedAgentCardNotConfiguredError,
    GetExtendedAgentCardRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    InternalError,
    InvalidParamsError,
    InvalidRequestError,
    ListTaskPushNotificationConfigsRequest,
    ListTaskPushNotificationConfigsResponse,
    ListTasksRequest,
    ListTasksResponse,
    Message,
    PushNotificationNotSupportedError,
    Role,
    SendMessageRequest,
    SubscribeToTaskRequest,
    Task,
    TaskNotCancelableError,
    TaskNotFoundError,
    TaskPushNotificationConfig,
    TaskState,
    UnsupportedOperationError,
)
from a2a.utils.constants import DEFAULT_LIST_TASKS_PAGE_SIZE
from a2a.utils.errors import A2AError
from a2a.utils.task import apply_history_length, validate_history_length, validate_page_size
from hosting.core import IsolationKeys, NotFoundError, RequestError, get_current_isolation_keys
from hosting.core import Message as NeutralMessage
from hosting.core.channels import ChannelContext, ChannelRequest, Run, isolation_scope
from hosting.core.stores import ResponseRecord

from ._parts import parts_in
from ._tasks import STATES, StreamEvent, TaskStream, task_of

KEYS = "hosting.isolation_keys"
"""Where the caller's isolation keys travel in the SDK's call context."""


class CallContextBuilder(DefaultServerCallContextBuilder):
    """The SDK's call context, with the caller's isolation keys (read in the request's own task)."""

    def build(self, request: Request) -> ServerCallContext:
        context = super().build(request)
        context.state[KEYS] = get_current_isolation_keys()
        return context


def a2a_error(error: RequestError) -> A2AError:
    """A host error in the protocol's terms."""
    if isinstance(error, NotFoundError):
        return TaskNotFoundError(message=error.message)
    if error.status_code >= 500:
        return InternalError(message=error.message)
    if error.status_code == 400:
        return InvalidParamsError(message=error.message)
    return InvalidRequestError(message=error.message)


@contextlib.contextmanager
def acting_for(context: ServerCallContext) -> Iterator[None]:
    """Run a block as the caller, turning the host's errors into the protocol's."""
    keys: IsolationKeys | None = context.state.get(KEYS)
    with isolation_scope(keys):
        try:
            yield
        except RequestError as error:
            raise a2a_error(error) from None


class HostedAgentHandler(RequestHandler):
    """Serves one hosted agent's tasks.

    Args:
        context: the channel's context (runs, the caller's store).
        agent: the agent's name on the host.
        input_modes: the media types a message's parts may have.
    """

    def __init__(
        self,
        context: ChannelContext,
        agent: str,
        *,
        input_modes: Sequence[str],
    ) -> None:
        self.context = context
        self.agent = agent
        self.input_modes = tuple(input_modes)

    # -- messages ----------------------------------------------------------------------------------

    @validate_request_params
    async def on_message_send(self, params: SendMessageRequest, context: ServerCallContext) -> Task | Message:
        validate_history_length(params.configuration)
        background = params.configuration.return_immediately
        with acting_for(context):
            run = await self._start(params, background=background)
            if background:
                return apply_history_length(task_of(run.record), params.configuration)
            result = await run.wait()
        return apply_history_length(task_of(result.record), params.configuration)

    @validate_request_params
    async def on_message_send_stream(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        validate_history_length(params.configuration)
        with acting_for(context):
            run = await self._start(params, background=False)
        stream = TaskStream(run.created)
        yield apply_history_length(stream.task, params.configuration)
        async for event in _follow(run, stream, start=0):
            yield event

    async def _start(self, params: SendMessageRequest, *, background: bool) -> Run:
        """Start the run of a message: in its context (conversation), or in a new one."""
        message = params.message
        if message.role == Role.ROLE_AGENT:
            raise InvalidParamsError(message="The message's role must be 'user'.")
        if message.task_id:
            # A task is one run of the agent; it ends with the run and takes no further messages.
            await self._existing(message.task_id)
            raise UnsupportedOperationError(
                message=f"Task {message.task_id} has ended or is still running: send the next message "
                "with its contextId and no taskId."
            )
        parts = parts_in(message.parts, accepted=self.input_modes, limits=self.context.limits)
        context_id = message.context_id
        created = False
        if context_id:
            self.context.check_id(context_id, param="contextId", what="conversation")
            if await self.context.store.get_conversation(context_id) is None:
                raise TaskNotFoundError(message=f"Context '{context_id[:128]}' not found.")
        else:
            context_id = self.context.new_id("conversation")
            await self.context.store.create_conversation(context_id)
            created = True
        request = ChannelRequest(
            channel=self.context.channel_name,
            input=(NeutralMessage("user", parts),),
            agent=self.agent,
            conversation_id=context_id,
            stream=not background,
            background=background,
            attributes={"a2a_message_id": message.message_id},
        )
        try:
            return await self.context.run_stream(request)
        except BaseException:
            if created:  # nothing of a refused message stays behind
                await self.context.store.delete_conversation(context_id)
            raise

    # -- tasks -------------------------------------------------------------------------------------

    async def _existing(self, task_id: str) -> ResponseRecord:
        self.context.check_id(task_id, param="id", what="task")
        record = await self.context.store.get_response(task_id)
        if record is None:
            raise TaskNotFoundError(message=f"Task '{task_id[:128]}' not found.")
        return record

    @validate_request_params
    async def on_get_task(self, params: GetTaskRequest, context: ServerCallContext) -> Task | None:
        validate_history_length(params)
        with acting_for(context):
            record = await self._existing(params.id)
            if record.finished:
                task = task_of(record)
            else:
                # Still running: its output so far is in its events.
                run = await self.context.attach(params.id)
                if run.watcher is not None:  # a run of another process: nobody follows this copy
                    run.watcher.cancel()
                stream = TaskStream(run.created)
                for event in list(run.events):
                    stream.apply(event)
                task = stream.task
        return apply_history_length(task, params)

    @validate_request_params
    async def on_cancel_task(self, params: CancelTaskRequest, context: ServerCallContext) -> Task | None:
        with acting_for(context):
            record = await self._existing(params.id)
            if record.finished:
                raise TaskNotCancelableError(
                    message=f"Task {params.id} has already ended ({TaskState.Name(STATES[record.status])})."
                )
            return task_of(await self.context.cancel(params.id))

    @validate_request_params
    async def on_subscribe_to_task(
        self, params: SubscribeToTaskRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        with acting_for(context):
            await self._existing(params.id)
            run = await self.context.attach(params.id)
        if run.done:
            raise UnsupportedOperationError(message=f"Task {params.id} has ended: get it with GetTask.")
        # The task as the events so far made it, then each event from there on.
        start = len(run.events)
        stream = TaskStream(run.created)
        for event in run.events[:start]:
            stream.apply(event)
        yield stream.task
        async for event in _follow(run, stream, start=start):
            yield event

    @validate_request_params
    async def on_list_tasks(self, params: ListTasksRequest, context: ServerCallContext) -> ListTasksResponse:
        validate_history_length(params)
        page_size = DEFAULT_LIST_TASKS_PAGE_SIZE
        if params.HasField("page_size"):
            validate_page_size(params.page_size)
            page_size = params.page_size
        after = (
            params.status_timestamp_after.ToSeconds() if params.HasField("status_timestamp_after") else None
        )
        with acting_for(context):
            records = [
                record
                for record in await self._all_responses(params.context_id or None)
                if (not params.status or STATES[record.status] == params.status)
                and (after is None or (record.completed_at or record.created_at) >= after)
            ]
        start = 0
        if params.page_token:
            ids = [record.id for record in records]
            if params.page_token not in ids:
                raise InvalidParamsError(message="Unknown pageToken.")
            start = ids.index(params.page_token) + 1
        page = records[start : start + page_size]
        response = ListTasksResponse(
            next_page_token=page[-1].id if page and start + page_size < len(records) else "",
            page_size=page_size,
            total_size=len(records),
        )
        for record in page:
            task = apply_history_length(task_of(record), params)
            if not params.include_artifacts:
                task.ClearField("artifacts")
            response.tasks.append(task)
        return response

    async def _all_responses(self, conversation_id: str | None) -> list[ResponseRecord]:
        """The caller's responses (of one conversation), newest first."""
        records: list[ResponseRecord] = []
        after: str | None = None
        while True:
            page = await self.context.store.list_responses(
                conversation_id=conversation_id, after=after, limit=100, order="desc"
            )
            records.extend(page.records)
            if not page.has_more or not page.records:
                return records
            after = page.records[-1].id

    # -- not offered -------------------------------------------------------------------------------

    async def on_create_task_push_notification_config(
        self, params: TaskPushNotificationConfig, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        raise PushNotificationNotSupportedError

    async def on_get_task_push_notification_config(
        self, params: GetTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        raise PushNotificationNotSupportedError

    async def on_list_task_push_notification_configs(
        self, params: ListTaskPushNotificationConfigsRequest, context: ServerCallContext
    ) -> ListTaskPushNotificationConfigsResponse:
        raise PushNotificationNotSupportedError

    async def on_delete_task_push_notification_config(
        self, params: DeleteTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> None:
        raise PushNotificationNotSupportedError

    async def on_get_extended_agent_card(
        self, params: GetExtendedAgentCardRequest, context: ServerCallContext
    ) -> AgentCard:
        raise ExtendedAgentCardNotConfiguredError


async def _follow(run: Run, stream: TaskStream, *, start: int) -> AsyncIterator[StreamEvent]:
    """The stream events of `run` from event number `start`, until its end.

    The run's follower is closed as soon as this generator is (a client that went away): the
    engine then keeps the stored run going, for a later subscribe or get.
    """
    events = run.follow(start)
    try:
        async for event in events:
            for update in stream.apply(event):
                yield update
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()
