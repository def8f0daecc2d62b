"""The run engine: every run of every channel goes through here, once.

A run's lifecycle: `start` (or `run`, which also waits) checks the request, resolves what it
continues from (`History`), writes it when someone could know its id before it ends, and executes
the agent (in a task of its own, or in the caller's, as its `RunMode` says). The agent's updates
become output items and events (`OutputBuilder`); the outcome is recorded in one write: a turn is
appended to its conversation, and session state saved, only when the run completed, so a failed or
cancelled run leaves no half-written history. `attach` finds a run again (live here, followed
through the store when another process runs it, or rebuilt from the store), `cancel` stops it (here,
or by ending it in the store, which the process running it sees at its next heartbeat), and
`startup` / `shutdown` bracket the host's life.

The process is a runner (`Recovery`): its runs carry its id, its lease is kept alive, and runs of
runners that stopped are ended. Turns of one conversation are taken one at a time (`Turns`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Mapping, Sequence
from typing import Literal, TypeAlias

from ._admission import STORAGE_FAILED, check_combination, select_agent, start_failure
from ._agent import Agent, RunContext
from ._channel import ChannelRequest, HostedRunResult
from ._delivery import Deliveries
from ._exceptions import (
    LimitExceededError,
    NotFoundError,
    ServerError,
    ServiceUnavailableError,
)
from ._execution import Executor
from ._history import Continuation, History
from ._hooks import RunHook, UpdateHook, apply_run_hooks
from ._idempotency import IdempotentStarts
from ._ids import IdFactory
from ._isolation import IsolationKeys, current_keys
from ._records import ResponseRecord, now
from ._recovery import Recovery
from ._run import Run, RunMode
from ._store._base import Store
from ._stored_runs import stop_watching, stored_run
from ._turns import ConcurrentTurns, Turns

logger = logging.getLogger("hosting.core")

DisconnectPolicy: TypeAlias = Literal["cancel_unstored", "never_cancel", "always_cancel"]
"""What a dropped stream does to its run: by default a stored run goes on (a client can resume
it) and an unstored one is cancelled, since nobody could fetch it."""


class RunEngine:
    """Runs agents for channels. Built and owned by the `Host`.

    Args:
        agents: the agents by name; the first is the default.
        store: where everything is kept.
        ids: the id factory.
        deliveries: pushes a run's answer to other channels when its request asks for it.
        run_hooks / update_hooks: see `RunHook` / `UpdateHook`.
        run_timeout: seconds a run may take before it ends ``incomplete`` (None: no limit).
        disconnect_policy: see `DisconnectPolicy`.
        max_concurrent_runs_per_user: runs one user may have going at once; beyond, 429.
        retry_after_seconds: the ``Retry-After`` of that 429.
        runner_lease: seconds this process is taken for alive after its last heartbeat; its runs
            are ended by another process that long after it stopped.
        concurrent_turns: see `ConcurrentTurns`.
        event_flush_interval: seconds an event of a followable stored run may wait to be stored.
    """

    def __init__(
        self,
        agents: Mapping[str, Agent],
        *,
        store: Store,
        ids: IdFactory,
        deliveries: Deliveries | None = None,
        run_hooks: Sequence[RunHook] = (),
        update_hooks: Sequence[UpdateHook] = (),
        run_timeout: float | None = None,
        disconnect_policy: DisconnectPolicy = "cancel_unstored",
        max_concurrent_runs_per_user: int | None = None,
        retry_after_seconds: int = 1,
        runner_lease: float = 10.0,
        concurrent_turns: ConcurrentTurns = "queue",
        event_flush_interval: float = 0.05,
    ) -> None:
        if not agents:
            raise ValueError("at least one agent is needed")
        self.agents = dict(agents)
        self.default_agent = next(iter(self.agents))
        self.store = store
        self.ids = ids
        self.history = History(store, ids)
        # Named after where it runs, for an operator reading the store.
        self.runner = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"
        self._live: dict[str, Run] = {}
        self.turns = Turns(store, self.runner, policy=concurrent_turns)
        self.recovery = Recovery(
            store, self.runner, lease=runner_lease, live=lambda: self._live, turns=self.turns
        )
        self.executor = Executor(
            store,
            ids,
            turns=self.turns,
            recovery=self.recovery,
            deliveries=deliveries,
            update_hooks=update_hooks,
            run_timeout=run_timeout,
            event_flush_interval=event_flush_interval,
        )
        self.run_hooks = list(run_hooks)
        self.disconnect_policy = disconnect_policy
        self.max_concurrent_runs_per_user = max_concurrent_runs_per_user
        self.retry_after_seconds = retry_after_seconds
        # How often a run of another process sharing the store is polled for its end.
        self.remote_poll_interval = 0.25
        self._runs_per_user: dict[str, int] = {}
        self.idempotency = IdempotentStarts(store, self.attach)
        self._accepting = True

    @property
    def accepting(self) -> bool:
        """False once shutdown began: new runs are refused with 503."""
        return self._accepting

    @property
    def live_runs(self) -> int:
        return len(self._live)

    def runs_in_progress(self, owner: str) -> int:
        """How many runs `owner` has going in this process."""
        return self._runs_per_user.get(owner, 0)

    def new_id(self, kind: str, *, owner: str, hint: str | None = None) -> str:
        return self.ids.new_id(kind, owner=owner, hint=hint)

    def check_id(
        self, identifier: str, *, owner: str, param: str | None = None, what: str = "response"
    ) -> None:
        """404 for an id that is malformed or cannot be the caller's, before any lookup."""
        self.history.check_id(identifier, owner=owner, param=param, what=what)

    # -- starting a run ----------------------------------------------------------------------------

    async def start(self, request: ChannelRequest) -> Run:
        """Start a run to follow (or, for a repeated idempotency key, return the first one)."""
        run, _ = await self._begin(request, followed=True)
        return run

    async def run(self, request: ChannelRequest) -> HostedRunResult:
        """Start a run and wait for its result.

        A run whose caller only waits for it (`RunMode.INLINE` and `INLINE_STORED`) executes
        in the caller's own task: no task of its own, no hand-off at the end. It is registered
        like any other run, so shutdown still reaches it (through the caller's task).
        """
        run, inline = await self._begin(request, followed=False)
        if inline is not None:
            agent, context = inline
            await self.executor.execute(run, agent, context)
        result = HostedRunResult(run.final) if run.final is not None else await run.wait()
        error = result.record.error
        if error is not None and error.code == "storage_error" and not result.record.background:
            raise ServerError(STORAGE_FAILED, code="storage_error")
        return result

    async def _begin(
        self, request: ChannelRequest, *, followed: bool
    ) -> tuple[Run, tuple[Agent, RunContext] | None]:
        """The run of `request`, started; with what the caller executes itself for an inline one."""
        if not self._accepting:
            raise ServiceUnavailableError("The server is shutting down.", code="shutting_down")
        keys = current_keys()
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
            request = await apply_run_hooks(self.run_hooks, request)
        name, agent = select_agent(self.agents, request.agent)
        check_combination(request)
        mode = RunMode.for_request(request, followed=followed)
        response_id = self.ids.new_id(
            "response", owner=owner, hint=request.previous_response_id or request.conversation_id
        )
        keyed = bool(request.idempotency_key) and request.store
        turn: str | None = None  # the conversation whose turn this run holds (`Turns`)
        try:
            if keyed:
                claimed = await self.idempotency.claim(owner, request, response_id)
                if claimed is not None:
                    return claimed, None
            conversation_id = None
            if request.previous_response_id is None and (request.conversation_id or request.session_key):
                conversation_id = await self.history.conversation_of(request, owner)
            if conversation_id is not None and request.store:
                # A stored turn of a conversation waits for the one before it to end.
                await self.turns.take(owner, conversation_id, response_id)
                turn = conversation_id
                if not self._accepting:  # it waited for its turn past the start of a stop
                    raise ServiceUnavailableError("The server is shutting down.", code="shutting_down")
            if request.previous_response_id is None and conversation_id is None:
                continuation = Continuation()  # a first turn, the common case: nothing to look up
            else:
                continuation = await self.history.continuation(request, owner, conversation_id)
            run, context = self._new_run(request, mode, keys, name, response_id, continuation, turn)
            # Written as it starts when someone could know its id before it ends, so a crash leaves
            # it `failed`, never unknown; a run its caller only waits for is written at its end.
            if run.written_at_start:
                await self.store.create_response(run.created)
        except BaseException as error:
            failure = start_failure(error, response_id)
            if keyed:  # retries waiting on this start get its error; later ones start afresh
                await self.idempotency.failed(owner, request, response_id, failure)
            if turn is not None:
                try:
                    await self.turns.give_up(owner, turn, response_id)
                except Exception:  # the store that failed the start may fail this too (`Turns` retries)
                    logger.exception("could not give up the conversation turn of run %s", response_id)
            if failure is error:
                raise
            raise failure from error
        self._live[response_id] = run
        self._runs_per_user[owner] = self._runs_per_user.get(owner, 0) + 1
        if keyed:
            self.idempotency.started(response_id, run)
        if mode.inline:
            run.task = asyncio.current_task()
            return run, (agent, context)
        run.task = asyncio.create_task(
            self.executor.execute(run, agent, context), name=f"hosting-run-{response_id}"
        )
        return run, None

    def _new_run(
        self,
        request: ChannelRequest,
        mode: RunMode,
        keys: IsolationKeys,
        name: str,
        response_id: str,
        continuation: Continuation,
        turn: str | None,
    ) -> tuple[Run, RunContext]:
        """The run of `request` (its record as created), and its agent's context."""
        owner = keys.user
        input_items = self.history.with_ids(request.input, owner) if request.store else tuple(request.input)
        # In field order, as `Run` and `RunContext` below: a class called with keywords packs
        # them into a dictionary first.
        record = ResponseRecord(
            response_id,
            owner,
            now(),
            "queued" if request.background else "in_progress",
            request.channel,
            request.agent or name,
            input_items,
            (),
            request.previous_response_id,
            continuation.conversation_id,
            None,  # usage, error, incomplete_reason, completed_at: known at its end
            None,
            None,
            None,
            request.background,
            request.attributes,  # a value, as the request is: shared, never changed
            self.runner,
        )
        run = Run(
            record,
            mode,
            request.store,
            bool(continuation.session_state),
            None,  # events: none yet
            None,  # final: not yet
            self._follower_left,
            self._finished,
            (request.deliver_to, request.identity),
            turn is not None,
        )
        context = RunContext(
            response_id,
            continuation.history,
            input_items,
            request.instructions,
            request.options,
            request.tools,
            continuation.session_state,
            keys,
            request.channel,
            name,
            request.previous_response_id,
            continuation.conversation_id,
            request.metadata,
        )
        return run, context

    # -- sessions ----------------------------------------------------------------------------------

    async def conversation_for_session(self, owner: str, session_key: str) -> str:
        """The conversation bound to a channel's session key, created once even when requests race."""
        return await self.history.conversation_for_session(owner, session_key)

    async def reset_session(self, owner: str, session_key: str) -> str:
        """Bind the session key to a fresh conversation; the old one and its history stay stored."""
        return await self.history.reset_session(owner, session_key)

    # -- executing (see `Executor`), then forgetting -------------------------------------------------

    def _finished(self, run: Run) -> None:
        """A run of this process ended: it is no longer live, nor counted against its user."""
        self._live.pop(run.id, None)
        owner = run.created.owner
        remaining = self._runs_per_user.get(owner, 1) - 1
        if remaining > 0:
            self._runs_per_user[owner] = remaining
        else:
            self._runs_per_user.pop(owner, None)

    # -- following, cancelling ---------------------------------------------------------------------

    async def attach(self, owner: str, response_id: str) -> Run:
        """The run of a response: live if it is still going here, else rebuilt from the store."""
        self.check_id(response_id, owner=owner)
        live = self._live.get(response_id) or self.recovery.unwritten(response_id)
        # A live inline run cannot be followed: until its record is stored it is unknown here,
        # as it is to every other process.
        if live is not None and live.created.owner == owner and live.mode.records_events:
            return live
        record = await self.store.get_response(owner, response_id)
        if record is None:
            raise NotFoundError(f"Response with id '{response_id}' not found.")
        # Running in another process that shares the store, or finished: read from the store.
        return await stored_run(self.store, record, poll_interval=self.remote_poll_interval)

    async def cancel(self, owner: str, response_id: str) -> ResponseRecord:
        """Cancel a run. A finished response is returned unchanged."""
        run = await self.attach(owner, response_id)
        if run.done or run.task is None:
            if not run.record.finished:
                # Running in another process (or nowhere): end it in the store, with its terminal
                # event; the process running it sees that at its next heartbeat and stops it.
                stop_watching(run)
                return await self.recovery.end(run.record, "cancelled", None)
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
        await self.recovery.start()

    async def shutdown(self, grace: float, *, settle: float = 1.0) -> None:
        """Stop accepting runs, give live ones `grace` seconds, then end them ``incomplete``.

        A run ended so records its outcome and emits its terminal event, so a stream following
        it closes with that event and a caller waiting for it (an inline run, whose task is the
        request's) gets its result. Those ends get `settle` seconds more; the whole takes at
        most ``grace + settle``.
        """
        self._accepting = False
        tasks = {run.task for run in self._live.values() if run.task is not None}
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        # Every run still live, also one that passed the check just before it was closed.
        ending = [run for run in self._live.values() if run.task is not None and not run.done]
        for run in ending:
            run.cancel_reason = "shutdown"
            if run.task is not None:
                run.task.cancel()
        if ending:
            _, stuck = await asyncio.wait(
                {run.task for run in ending if run.task is not None}, timeout=settle
            )
            if stuck:
                logger.warning("%d run(s) did not end within %.1f s of shutdown", len(stuck), settle)
        await self.recovery.stop()
