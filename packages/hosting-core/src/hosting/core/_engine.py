"""The run engine: every run of every channel goes through here, once.

It resolves history and session state from the store, applies run hooks, runs
the agent in a task of its own (so a dropped connection does not lose the run),
turns the agent's updates into a numbered event log, and records the outcome:
a turn is appended to its conversation, and session state saved, only when the
run completed, so a failed or cancelled run leaves no half-written history.

It also owns cancellation, per-run time limits, idempotency keys, disconnect
policy and graceful shutdown.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias

from ._agent import Agent, RunContext
from ._channel import ChannelRequest, HostedRunResult
from ._events import (
    OutputItemAdded,
    OutputItemDone,
    OutputTextDelta,
    ReasoningTextDelta,
    RunEvent,
    RunFinished,
    RunStarted,
    event_from_dict,
    event_to_dict,
)
from ._exceptions import ConflictError, InvalidRequestError, LimitExceededError, NotFoundError, RequestError
from ._fast_init import constructor
from ._ids import IdFactory, is_well_formed_id
from ._isolation import IsolationKeys, get_current_isolation_keys
from ._replay import replay_events, whole_item_events
from ._run import Run
from ._store._base import (
    ConversationRecord,
    ResponseRecord,
    ResponseStatus,
    RunError,
    Store,
    StoredEvent,
    new_record,
    now,
)
from ._types import (
    ErrorUpdate,
    FunctionCall,
    FunctionResult,
    Item,
    ItemBreak,
    Message,
    Reasoning,
    ReasoningDelta,
    TextDelta,
    TextPart,
    Update,
    Usage,
    with_id,
)

logger = logging.getLogger("hosting.core")

# What every run builds, built without the cost of calling a class (see `constructor`).
_new_context = constructor(RunContext)
_new_result = constructor(HostedRunResult)
_new_message = constructor(Message)
_new_text = constructor(TextPart)

RunHook: TypeAlias = Callable[[ChannelRequest], ChannelRequest | Awaitable[ChannelRequest | None] | None]
"""Called before the agent runs. Return a changed request, or None to keep it; raise
`RejectedError` to refuse it (the channel shows the error's message and status)."""

UpdateHook: TypeAlias = Callable[[Update, RunContext], Update | Awaitable[Update | None] | None]
"""Called on each update the agent yields. Return it (changed or not), or None to drop it."""

DisconnectPolicy: TypeAlias = Literal["cancel_unstored", "never_cancel", "always_cancel"]

GENERIC_AGENT_ERROR = "The agent failed to produce a response."


def _session_key_for_response(response_id: str) -> str:
    return f"response:{response_id}"


def _session_key_for_conversation(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


class RunEngine:
    """Runs agents for channels. Built and owned by the `Host`.

    Args:
        agents: the agents by name; the first is the default.
        store: where everything is kept.
        ids: the id factory.
        run_hooks / update_hooks: see `RunHook` / `UpdateHook`.
        run_timeout: seconds a run may take before it ends ``incomplete`` (None: no limit).
        disconnect_policy: what a dropped stream does to its run: by default a stored run goes on
            (a client can resume it) and an unstored one is cancelled, since nobody could fetch it.
        max_concurrent_runs_per_user: runs one user may have going at once; beyond, 429.
        retry_after_seconds: the ``Retry-After`` of that 429.
    """

    def __init__(
        self,
        agents: Mapping[str, Agent],
        *,
        store: Store,
        ids: IdFactory,
        run_hooks: Sequence[RunHook] = (),
        update_hooks: Sequence[UpdateHook] = (),
        run_timeout: float | None = None,
        disconnect_policy: DisconnectPolicy = "cancel_unstored",
        max_concurrent_runs_per_user: int | None = None,
        retry_after_seconds: int = 1,
    ) -> None:
        if not agents:
            raise ValueError("at least one agent is needed")
        self.agents = dict(agents)
        self.default_agent = next(iter(self.agents))
        self.store = store
        self.ids = ids
        self.run_hooks = list(run_hooks)
        self.update_hooks = list(update_hooks)
        self.run_timeout = run_timeout
        self.disconnect_policy = disconnect_policy
        self.max_concurrent_runs_per_user = max_concurrent_runs_per_user
        self.retry_after_seconds = retry_after_seconds
        self._live: dict[str, Run] = {}
        self._runs_per_user: dict[str, int] = {}
        self.remote_poll_interval = 0.25
        self._starting: dict[str, asyncio.Future[Run]] = {}
        self._session_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._accepting = True

    # -- helpers -----------------------------------------------------------------------------------

    @staticmethod
    def current_keys() -> IsolationKeys:
        return get_current_isolation_keys() or IsolationKeys()

    def new_id(self, kind: str, *, owner: str, hint: str | None = None) -> str:
        return self.ids.new_id(kind, owner=owner, hint=hint)

    def check_id(
        self, identifier: str, *, owner: str, param: str | None = None, what: str = "response"
    ) -> None:
        """404 for an id that is malformed or cannot be the caller's, before any lookup."""
        if not is_well_formed_id(identifier) or not self.ids.owns(identifier, owner=owner):
            raise NotFoundError(f"No {what} found with id '{identifier[:128]}'.", param=param)

    @property
    def live_runs(self) -> int:
        return len(self._live)

    # -- starting a run ----------------------------------------------------------------------------

    async def start(self, request: ChannelRequest, *, inline: bool = False) -> Run:
        """Start a run (or, for a repeated idempotency key, return the first one) and return it."""
        if not self._accepting:
            raise RequestError("The server is shutting down.", status_code=503, code="shutting_down")
        keys = self.current_keys()
        owner = keys.user
        limit = self.max_concurrent_runs_per_user
        if limit is not None and self._runs_per_user.get(owner, 0) >= limit:
            raise LimitExceededError(
                f"Too many runs in progress for this user (limit {limit}). Retry later.",
                status_code=429,
                code="rate_limit_exceeded",
                headers={"Retry-After": str(self.retry_after_seconds)},
            )
        if self.run_hooks:
            request = await self._apply_run_hooks(request)
        name, agent = self._select_agent(request.agent)

        if request.background and not request.store:
            raise InvalidRequestError("A background response requires store to be true.", param="background")
        if request.conversation_id and request.previous_response_id:
            raise InvalidRequestError(
                "Use either conversation or previous_response_id, not both.", param="previous_response_id"
            )
        if request.conversation_id and not request.store:
            raise InvalidRequestError(
                "A response in a conversation requires store to be true.", param="store"
            )

        response_id = self.new_id(
            "response", owner=owner, hint=request.previous_response_id or request.conversation_id
        )
        if request.idempotency_key and request.store:
            claimed = await self._claim_idempotency(owner, request.idempotency_key, request, response_id)
            if claimed is not None:
                return claimed
        try:
            run = await self._prepare(request, keys, name, agent, response_id, inline=inline)
        except BaseException as error:
            starting = self._starting.pop(response_id, None)
            if starting is not None and not starting.done():
                starting.set_exception(
                    error if isinstance(error, Exception) else RuntimeError("start aborted")
                )
                starting.exception()  # mark retrieved: the retry that waits on it re-raises on its own
            raise
        starting = self._starting.pop(response_id, None)
        if starting is not None and not starting.done():
            starting.set_result(run)
        return run

    async def run(self, request: ChannelRequest) -> HostedRunResult:
        """Start a run and wait for its result.

        A run whose caller only waits for the result (not streamed, not in the background)
        executes in the caller's own task: no task of its own, no hand-off at the end. It is
        registered like any other run, so it can still be followed, and shutdown still reaches
        it (through the caller's task).
        """
        inline = not request.stream and not request.background
        run = await self.start(request, inline=inline)
        if run.pending is not None:
            agent, context = run.pending
            run.pending = None
            await self._execute(run, agent, context)
        if run.final is not None:  # it ran here, or was a finished one (an idempotent retry)
            return _new_result(run.final)
        return await run.wait()

    async def _apply_run_hooks(self, request: ChannelRequest) -> ChannelRequest:
        for hook in self.run_hooks:
            result = hook(request)
            if inspect.isawaitable(result):
                result = await result
            if result is not None:
                request = result
        return request

    def _select_agent(self, requested: str | None) -> tuple[str, Agent]:
        if requested is not None and requested in self.agents:
            return requested, self.agents[requested]
        if requested is None or len(self.agents) == 1:
            return self.default_agent, self.agents[self.default_agent]
        raise InvalidRequestError(
            f"The model '{requested[:128]}' does not exist. Available: {', '.join(sorted(self.agents))}.",
            param="model",
            code="model_not_found",
        )

    async def _claim_idempotency(
        self, owner: str, key: str, request: ChannelRequest, response_id: str
    ) -> Run | None:
        fingerprint = request.fingerprint or ""
        # Registered before the claim, so a concurrent retry in this process can wait for the run.
        self._starting[response_id] = asyncio.get_running_loop().create_future()
        claim = await self.store.claim_idempotency_key(owner, key, fingerprint, response_id)
        if claim.created:
            return None
        self._starting.pop(response_id, None)
        if claim.fingerprint != fingerprint:
            raise ConflictError(
                "This Idempotency-Key was already used with a different request body.",
                param="Idempotency-Key",
                code="idempotency_key_reused",
            )
        starting = self._starting.get(claim.response_id)
        if starting is not None:
            return await asyncio.shield(starting)
        return await self.attach(owner, claim.response_id)

    async def _resolve_history(
        self, request: ChannelRequest, owner: str
    ) -> tuple[tuple[Item, ...], str | None, dict[str, Any]]:
        """History, conversation id and session state for a request."""
        store = self.store
        conversation_id = request.conversation_id
        if (
            request.session_key is not None
            and conversation_id is None
            and request.previous_response_id is None
        ):
            conversation_id = await self.conversation_for_session(owner, request.session_key)
        if request.previous_response_id is not None:
            previous = request.previous_response_id
            self.check_id(previous, owner=owner, param="previous_response_id")
            history = await store.get_history(owner, previous)
            if history is None:
                raise NotFoundError(
                    f"Previous response with id '{previous}' not found.", param="previous_response_id"
                )
            state = await store.get_session_state(owner, _session_key_for_response(previous))
            return history, None, state or {}
        if conversation_id is not None:
            self.check_id(conversation_id, owner=owner, param="conversation", what="conversation")
            page = await store.list_conversation_items(owner, conversation_id)
            if page is None:
                raise NotFoundError(
                    f"Conversation with id '{conversation_id}' not found.", param="conversation"
                )
            state = await store.get_session_state(owner, _session_key_for_conversation(conversation_id))
            return page.items, conversation_id, state or {}
        return (), None, {}

    def _with_ids(self, items: Sequence[Item], owner: str) -> tuple[Item, ...]:
        """Give every input item an id, so it can be listed and referenced later."""
        result: list[Item] = []
        for item in items:
            if item.id is None:
                kind = {
                    Message: "message",
                    FunctionCall: "function_call",
                    FunctionResult: "function_result",
                }.get(type(item), "reasoning")
                item = with_id(item, self.new_id(kind, owner=owner))
            result.append(item)
        return tuple(result)

    async def _prepare(
        self,
        request: ChannelRequest,
        keys: IsolationKeys,
        name: str,
        agent: Agent,
        response_id: str,
        *,
        inline: bool = False,
    ) -> Run:
        owner = keys.user
        if (
            request.previous_response_id is not None
            or request.conversation_id is not None
            or request.session_key is not None
        ):
            history, conversation_id, state = await self._resolve_history(request, owner)
        else:  # a first turn, the common case: nothing to look up
            history, conversation_id, state = (), None, {}
        input_items = self._with_ids(request.input, owner) if request.store else tuple(request.input)
        record = new_record(
            id=response_id,
            owner=owner,
            created_at=now(),
            status="queued" if request.background else "in_progress",
            channel=request.channel,
            agent=request.agent or name,
            input_items=input_items,
            previous_response_id=request.previous_response_id,
            conversation_id=conversation_id,
            background=request.background,
            attributes=dict(request.attributes),
        )
        # A run is written as it starts when someone could know its id before it ends (a stream
        # shows it at once, a background create answers with it, an idempotency key may be
        # retried), so a crash leaves it `failed`, never unknown. A run its caller only waits for
        # reveals its id with its result: it is written once, at its end.
        written_at_start = request.store and not (inline and request.idempotency_key is None)
        if written_at_start:
            await self.store.create_response(record)
        context = _new_context(
            response_id=response_id,
            history=history,
            input=input_items,
            instructions=request.instructions,
            options=request.options,
            tools=request.tools,
            session_state=state,
            isolation=keys,
            channel=request.channel,
            agent_name=name,
            previous_response_id=request.previous_response_id,
            conversation_id=conversation_id,
            metadata=request.metadata,
        )
        run = Run(record, stored=request.store, on_follower_left=self._follower_left)
        run.followed = not inline
        run.written = written_at_start
        run.had_session_state = bool(state)
        self._live[response_id] = run
        self._runs_per_user[owner] = self._runs_per_user.get(owner, 0) + 1
        if inline:
            run.task = asyncio.current_task()  # `run` executes it in this task, right after
            run.pending = (agent, context)
        else:
            run.task = asyncio.create_task(
                self._execute(run, agent, context), name=f"hosting-run-{response_id}"
            )
        return run

    # -- sessions ----------------------------------------------------------------------------------

    async def conversation_for_session(self, owner: str, session_key: str) -> str:
        """The conversation bound to a channel's session key, created once even when requests race."""
        bound = await self.store.get_session_binding(owner, session_key)
        if bound is not None and await self.store.get_conversation(owner, bound) is not None:
            return bound
        lock = self._session_locks.setdefault((owner, session_key), asyncio.Lock())
        async with lock:
            bound = await self.store.get_session_binding(owner, session_key)
            if bound is not None and await self.store.get_conversation(owner, bound) is not None:
                return bound
            fresh = self.new_id("conversation", owner=owner)
            winner = await self.store.bind_session(owner, session_key, fresh, replace=bound is not None)
            if await self.store.get_conversation(owner, winner) is None:
                try:
                    await self.store.create_conversation(ConversationRecord(winner, owner, now()))
                except ValueError:
                    pass  # another process created it between our check and now
            return winner

    async def reset_session(self, owner: str, session_key: str) -> str:
        """Bind the session key to a fresh conversation; the old one and its history stay stored."""
        fresh = self.new_id("conversation", owner=owner)
        await self.store.create_conversation(ConversationRecord(fresh, owner, now()))
        return await self.store.bind_session(owner, session_key, fresh, replace=True)

    # -- executing ---------------------------------------------------------------------------------

    async def _execute(self, run: Run, agent: Agent, context: RunContext) -> None:
        builder = _OutputBuilder(run, self, context.isolation.user)
        status: ResponseStatus = "completed"
        error: RunError | None = None
        incomplete_reason: str | None = None
        if run.created.status == "queued":
            await asyncio.sleep(0)  # let the creating request answer `queued` before the run starts
        if builder.recording:
            run.emit(RunStarted("in_progress"))
        try:
            if self.run_timeout is None:
                await self._drive(agent, context, builder)
            else:
                async with asyncio.timeout(self.run_timeout):
                    await self._drive(agent, context, builder)
            if builder.reported is not None:
                status = "failed"
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            if run.cancel_reason == "shutdown":
                status, incomplete_reason = "incomplete", "shutdown"
            else:
                status = "cancelled"
        except TimeoutError:
            status, incomplete_reason = "incomplete", "run_timeout"
        except Exception:
            logger.exception("agent %r failed in run %s", context.agent_name, run.id)
            status, error = "failed", RunError("server_error", GENERIC_AGENT_ERROR)
        if error is None:
            # An `ErrorUpdate`'s message stays the run's error, also when a timeout or a cancel
            # came after it (while the agent's generator was closing).
            error = builder.reported
        builder.close_open_item()
        final = _ended(run.created, status, tuple(builder.output), builder.usage, error, incomplete_reason)
        if builder.recording:
            run.emit(
                RunFinished(
                    status=status,
                    completed_at=final.completed_at or 0.0,
                    usage=builder.usage,
                    error=error,
                    incomplete_reason=incomplete_reason,
                )
            )
        try:
            if run.stored:
                await self._persist(run, final, context)
        except Exception:
            logger.exception("could not store the outcome of run %s", run.id)
        finally:
            run.finish(final)
            self._live.pop(run.id, None)
            remaining = self._runs_per_user.get(final.owner, 1) - 1
            if remaining > 0:
                self._runs_per_user[final.owner] = remaining
            else:
                self._runs_per_user.pop(final.owner, None)

    async def _drive(self, agent: Agent, context: RunContext, builder: _OutputBuilder) -> None:
        """Feed the agent's updates to `builder`, until the agent ends or yields an `ErrorUpdate`."""
        stream = agent.run(context)
        add = builder.add
        try:
            if self.update_hooks:
                async for raw in stream:
                    update = await self._apply_update_hooks(raw, context)
                    if update is not None:
                        add(update)
            else:
                async for raw in stream:  # the hot loop: one call per update
                    add(raw)
        except _Reported as reported:
            builder.reported = RunError(reported.update.code, reported.update.message)
        finally:
            # An async generator that ran to its end (no frame left) has nothing to close.
            aclose = getattr(stream, "aclose", None)
            if aclose is not None and getattr(stream, "ag_frame", True) is not None:
                await aclose()

    async def _apply_update_hooks(self, update: Update | str, context: RunContext) -> Update | None:
        current: Update | None = TextDelta(update) if isinstance(update, str) else update
        for hook in self.update_hooks:
            if current is None:
                return None
            result = hook(current, context)
            current = await result if inspect.isawaitable(result) else result
        return current

    async def _persist(self, run: Run, final: ResponseRecord, context: RunContext) -> None:
        completed = final.status == "completed"
        # Most agents keep no session state: an empty state that was empty is not written.
        session_state: tuple[str, dict[str, Any]] | None = None
        if completed and (context.session_state or run.had_session_state):
            key = (
                _session_key_for_conversation(final.conversation_id)
                if final.conversation_id
                else _session_key_for_response(run.id)
            )
            session_state = (key, context.session_state)
        # The record, its event log, the conversation turn and the session state go in one
        # transaction: a crash never leaves a finished run without its events. A run first
        # written now had an id nobody knew, so nobody saw its event numbers: it keeps no log,
        # and a later replay rebuilds its events from the record (`replay_events`).
        events = (
            [StoredEvent(number, event_to_dict(event)) for number, event in enumerate(run.events)]
            if run.written
            else ()
        )
        await self.store.update_response(
            final,
            append_to_conversation=completed and bool(final.conversation_id),
            session_state=session_state,
            events=events,
            create=not run.written,
        )

    # -- following, cancelling ---------------------------------------------------------------------

    async def attach(self, owner: str, response_id: str) -> Run:
        """The run of a response: live if it is still going here, else rebuilt from the store."""
        self.check_id(response_id, owner=owner)
        live = self._live.get(response_id)
        # A live run that records no events (inline, written at its end) cannot be followed: until
        # its record is stored it is unknown here, as it is to every other process.
        if live is not None and live.created.owner == owner and (live.followed or live.written):
            return live
        record = await self.store.get_response(owner, response_id)
        if record is None:
            raise NotFoundError(f"Response with id '{response_id}' not found.")
        if not record.finished:
            # Running in another process that shares the store: follow it through the store.
            run = Run(record, stored=True, on_follower_left=_stop_watching)
            run.watcher = asyncio.create_task(
                self._watch_elsewhere(run, owner), name=f"hosting-watch-{response_id}"
            )
            return run
        events = await self._finished_events(record)
        created = record.evolve(
            status="queued" if record.background else "in_progress",
            output_items=(),
            usage=None,
            error=None,
            incomplete_reason=None,
            completed_at=None,
        )
        return Run(created, stored=True, events=events, final=record)

    async def _watch_elsewhere(self, run: Run, owner: str) -> None:
        """Poll the store until a run of another process ends, then replay its stored events."""
        while True:
            await asyncio.sleep(self.remote_poll_interval)
            record = await self.store.get_response(owner, run.id)
            if record is None:
                run.finish(
                    run.created.evolve(status="failed", error=RunError("not_found", "The response is gone."))
                )
                return
            if record.finished:
                for event in await self._finished_events(record):
                    run.emit(event)
                run.finish(record)
                return

    async def _finished_events(self, record: ResponseRecord) -> list[RunEvent]:
        """A finished run's events: its stored log, else (a run that kept none) rebuilt from the record."""
        stored = await self.store.read_run_events(record.owner, record.id)
        if stored:
            return [event_from_dict(event.data) for event in stored]
        return replay_events(record)

    async def cancel(self, owner: str, response_id: str) -> ResponseRecord:
        """Cancel a run. A finished response is returned unchanged."""
        run = await self.attach(owner, response_id)
        if run.done or run.task is None:
            if not run.record.finished:
                # Not running in this process: nothing to interrupt, so record the cancellation.
                final = run.record.evolve(status="cancelled", completed_at=now())
                await self.store.update_response(final)
                return final
            return run.record
        run.cancel_reason = "cancelled"
        run.task.cancel()
        result = await run.wait()
        return result.record

    def _follower_left(self, run: Run) -> None:
        policy = self.disconnect_policy
        if run.created.background or run.task is None or run.done:
            return
        if policy == "always_cancel" or (policy == "cancel_unstored" and not run.stored):
            run.cancel_reason = "disconnected"
            run.task.cancel()

    # -- lifecycle ---------------------------------------------------------------------------------

    async def startup(self) -> None:
        self._accepting = True
        interrupted = await self.store.fail_interrupted_runs("The run was interrupted by a server restart.")
        if interrupted:
            logger.warning("marked %d runs left in progress by an earlier process as failed", interrupted)

    async def shutdown(self, grace: float) -> None:
        """Stop accepting runs, give live ones `grace` seconds, then end them ``incomplete``."""
        self._accepting = False
        tasks = [run.task for run in self._live.values() if run.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for run in list(self._live.values()):
                if run.task is not None and run.task in pending:
                    run.cancel_reason = "shutdown"
                    run.task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)


def _ended(
    created: ResponseRecord,
    status: ResponseStatus,
    output: tuple[Item, ...],
    usage: Usage | None,
    error: RunError | None,
    incomplete_reason: str | None,
) -> ResponseRecord:
    """The final record of a run: `created` with its outcome, ended now.

    `created.evolve(...)` with these six fields, at a third of its cost (every run ends here):
    the fields are passed by position, in the order of `ResponseRecord`'s fields.
    """
    return new_record(
        created.id,
        created.owner,
        created.created_at,
        status,
        created.channel,
        created.agent,
        created.input_items,
        output,
        created.previous_response_id,
        created.conversation_id,
        usage,
        error,
        incomplete_reason,
        now(),
        created.background,
        created.attributes,
    )


class _Reported(Exception):
    """An agent yielded an `ErrorUpdate`: the run stops and fails with its message."""

    def __init__(self, update: ErrorUpdate) -> None:
        super().__init__(update.message)
        self.update = update


def _stop_watching(run: Run) -> None:
    if run.watcher is not None:
        run.watcher.cancel()


class _OutputBuilder:
    """Groups an agent's updates into output items and emits their events."""

    __slots__ = (
        "_open_id",
        "_open_kind",
        "_open_text",
        "engine",
        "output",
        "owner",
        "recording",
        "reported",
        "run",
        "usage",
    )

    def __init__(self, run: Run, engine: RunEngine, owner: str) -> None:
        self.run = run
        self.engine = engine
        self.owner = owner
        self.output: list[Item] = []
        self.usage: Usage | None = None
        # The error of an `ErrorUpdate` the agent yielded (which ends the run).
        self.reported: RunError | None = None
        self._open_kind: type[TextDelta] | type[ReasoningDelta] | None = None
        self._open_id = ""
        self._open_text: list[str] = []
        # Events matter only to someone who follows the run (whoever started it, unless it runs
        # inline) or to a later replay of its stored log. An inline run whose id nobody knows
        # before its end has neither (a replay rebuilds its events from the record), so it
        # records none: its outcome is its record.
        self.recording = run.followed or run.written

    def _new_id(self, kind: str) -> str:
        return self.engine.new_id(kind, owner=self.owner, hint=self.run.id)

    def add(self, update: Update | str) -> None:
        kind: type[TextDelta] | type[ReasoningDelta]
        if type(update) is str:  # the common case, checked first: plain text from the agent
            text, kind = update, TextDelta
        elif isinstance(update, TextDelta | ReasoningDelta | str):
            text, kind = (update, TextDelta) if isinstance(update, str) else (update.text, type(update))
        else:
            self._add_other(update)
            return
        if not text:
            return
        if self._open_kind is not kind:
            self.close_open_item()
            self._open(kind)
        self._open_text.append(text)
        if self.recording:
            delta = OutputTextDelta if kind is TextDelta else ReasoningTextDelta
            self.run.emit(delta(len(self.output), self._open_id, text))

    def _add_other(self, update: Update) -> None:
        if isinstance(update, ErrorUpdate):
            raise _Reported(update)
        if isinstance(update, Usage):
            self.usage = update if self.usage is None else self.usage + update
        elif isinstance(update, ItemBreak):
            self.close_open_item()
        elif isinstance(update, Message | FunctionCall | FunctionResult | Reasoning):
            self.close_open_item()
            self._add_whole(update)
        else:
            raise TypeError(f"an agent yielded {type(update).__name__}, which is not an update")

    def _open(self, kind: type[TextDelta] | type[ReasoningDelta]) -> None:
        self._open_kind = kind
        self._open_text = []
        self._open_id = self._new_id("message" if kind is TextDelta else "reasoning")
        if self.recording:
            started: Item = (
                Message("assistant", (), id=self._open_id)
                if kind is TextDelta
                else Reasoning("", id=self._open_id)
            )
            self.run.emit(OutputItemAdded(len(self.output), started))

    def close_open_item(self) -> None:
        if self._open_kind is None:
            return
        text = "".join(self._open_text)
        item: Item = (
            _new_message("assistant", (_new_text(text),), id=self._open_id)
            if self._open_kind is TextDelta
            else Reasoning(text, id=self._open_id)
        )
        if self.recording:
            self.run.emit(OutputItemDone(len(self.output), item))
        self.output.append(item)
        self._open_kind = None
        self._open_text = []

    def _add_whole(self, item: Item) -> None:
        if isinstance(item, FunctionCall):
            item_id = item.id or self._new_id("function_call")
            # The id's last digits: its first ones are a partition and the time, alike in a burst.
            call_id = item.call_id or f"call_{item_id.partition('_')[2][-24:]}"
            item = FunctionCall(call_id, item.name, item.arguments, id=item_id)
        elif item.id is None:  # by isinstance, not type(): a subclass of an item type is one too
            kind = next(name for cls, name in _ID_KINDS.items() if isinstance(item, cls))
            item = with_id(item, self._new_id(kind))
        if self.recording:  # the same events a replay rebuilds for this item from the stored record
            for event in whole_item_events(len(self.output), item):
                self.run.emit(event)
        self.output.append(item)


_ID_KINDS: dict[type[Item], str] = {
    Message: "message",
    FunctionResult: "function_result",
    Reasoning: "reasoning",
}
