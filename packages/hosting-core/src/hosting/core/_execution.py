"""Executing a run: the agent driven to its end, its outcome recorded in one write.

The agent runs under the run's time limit; its updates pass the update hooks
and go to the `OutputBuilder`. However the agent ends (completed, an
`ErrorUpdate`, an exception, a cancel, a timeout, shutdown), the run gets one
final record, and a stored run is written once with the rest of its event log,
its conversation turn and its session state, in one transaction, before its
followers see the terminal event: a follower never sees an end the store does
not have. When that write fails, the run ends ``failed`` (code
``storage_error``) for its followers and its caller, and `Recovery` ends the
stored run once the store takes writes again.

A stored run someone can follow writes its events as it goes, in batches (at
most `event_flush_interval` seconds after each event), so after a crash a
client resuming at the last number it saw finds what it saw.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from ._admission import STORAGE_FAILED
from ._agent import Agent, RunContext
from ._delivery import Deliveries, report_to_dict
from ._events import RunFinished, RunStarted, event_to_dict
from ._hooks import UpdateHook, apply_update_hooks
from ._ids import IdFactory
from ._output import OutputBuilder, Reported
from ._records import (
    ResponseRecord,
    ResponseStatus,
    RunError,
    StoredEvent,
    conversation_session_key,
    response_session_key,
)
from ._recovery import Recovery
from ._run import Run
from ._run_log import log_run
from ._store._base import Store
from ._turns import Turns

logger = logging.getLogger("hosting.core")

GENERIC_AGENT_ERROR = "The agent failed to produce a response."
"""What a caller sees of an agent that raised (its traceback goes to the log)."""


class Executor:
    """Executes runs against one store.

    Args:
        store: where a stored run's outcome is written.
        ids: makes the ids of output items.
        deliveries: pushes a completed run's output where its request asked (`ChannelRequest.deliver_to`).
        update_hooks: see `UpdateHook`.
        run_timeout: seconds a run may take before it ends ``incomplete`` (None: no limit).
        turns: gives up a run's conversation turn when it ends.
        recovery: ends, later, a stored run whose final write failed.
        event_flush_interval: seconds an event of a followable stored run may wait to be stored.
    """

    def __init__(
        self,
        store: Store,
        ids: IdFactory,
        *,
        turns: Turns,
        recovery: Recovery,
        deliveries: Deliveries | None = None,
        update_hooks: Sequence[UpdateHook] = (),
        run_timeout: float | None = None,
        event_flush_interval: float = 0.05,
    ) -> None:
        self.store = store
        self.ids = ids
        self.turns = turns
        self.recovery = recovery
        self.deliveries = deliveries
        self.update_hooks = list(update_hooks)
        self.run_timeout = run_timeout
        self.event_flush_interval = event_flush_interval

    async def execute(self, run: Run, agent: Agent, context: RunContext) -> None:
        """Run the agent to its end, record the outcome, and finish `run` with its final record."""
        started = time.monotonic()
        flusher: asyncio.Task[None] | None = None
        if run.written_at_start and run.mode.records_events:
            flusher = asyncio.create_task(self._flush_events(run), name=f"hosting-flush-{run.id}")
        try:
            builder = OutputBuilder(run, self.ids)
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
            final = run.created.ended(
                status,
                tuple(builder.output),
                usage=builder.usage,
                error=error,
                incomplete_reason=incomplete_reason,
            )
            if run.delivery[0] is not None and status == "completed":
                final = await self._deliver(run, final, context)
            # A run nobody follows makes no events (`OutputBuilder.recording`): no terminal one either.
            finished = (
                RunFinished(status, final.completed_at or 0.0, builder.usage, error, incomplete_reason)
                if builder.recording
                else None
            )
            if flusher is not None:
                flusher.cancel()  # the final write takes the events not written yet
            try:
                if run.stored:
                    await self._persist(run, final, context, finished)
            except Exception:
                logger.exception("could not store the outcome of run %s", run.id)
                final, finished = self._unstored(run, final, finished)
            finally:
                if finished is not None:
                    run.emit(finished)
                run.finish(final)
        finally:
            if flusher is not None and not flusher.done():
                flusher.cancel()
            if run.holds_turn and run.created.conversation_id is not None:
                try:
                    await self.turns.give_up(run.created.owner, run.created.conversation_id, run.id)
                except Exception:
                    logger.exception("could not give up the conversation turn of run %s", run.id)
            if run.final is not None:
                log_run(run.final, agent=context.agent_name, channel=context.channel, started=started)

    def _unstored(
        self, run: Run, final: ResponseRecord, finished: RunFinished | None
    ) -> tuple[ResponseRecord, RunFinished | None]:
        """The end of a run whose outcome the store refused: ``failed`` (``storage_error``) for its
        followers and caller, and left to `Recovery` to write once the store takes writes again."""
        error = RunError("storage_error", STORAGE_FAILED)
        final = final.evolve(status="failed", error=error, incomplete_reason=None)
        if finished is not None:
            finished = RunFinished("failed", finished.completed_at, final.usage, error, None)
        if run.written_at_start:
            log = run.events
            unstored = [StoredEvent(n, event_to_dict(log[n])) for n in range(run.flushed, len(log))]
            if finished is not None:
                unstored.append(StoredEvent(len(log), event_to_dict(finished)))
            self.recovery.end_later(run, final, unstored)
        return final, finished

    async def _flush_events(self, run: Run) -> None:
        """Write `run`'s events as they come, a batch at most `event_flush_interval` after each."""
        owner = run.created.owner
        failing = False
        while not run.done:
            if len(run.events) <= run.flushed:
                await run.changed()
                continue
            await asyncio.sleep(self.event_flush_interval)
            events = run.events
            start, end = run.flushed, len(events)
            if end <= start or run.done:
                continue
            batch = [StoredEvent(n, event_to_dict(events[n])) for n in range(start, end)]
            try:
                await self.store.append_run_events(owner, run.id, batch)
            except Exception as error:
                if not failing:
                    logger.warning("could not store events of run %s yet (%s); retrying", run.id, error)
                failing = True
                await asyncio.sleep(1.0)  # a full disk does not empty in milliseconds
                continue
            failing = False
            run.flushed = max(run.flushed, end)

    async def _drive(self, agent: Agent, context: RunContext, builder: OutputBuilder) -> None:
        """Feed the agent's updates to `builder`, until the agent ends or yields an `ErrorUpdate`."""
        stream = agent.run(context)
        add = builder.add
        hooks = self.update_hooks
        try:
            if hooks:
                async for raw in stream:
                    update = await apply_update_hooks(hooks, raw, context)
                    if update is not None:
                        add(update)
            else:
                async for raw in stream:  # the hot loop: one call per update
                    add(raw)
        except Reported as reported:
            builder.reported = RunError(reported.update.code, reported.update.message)
        finally:
            # An async generator that ran to its end (no frame left) has nothing to close.
            aclose = getattr(stream, "aclose", None)
            if aclose is not None and getattr(stream, "ag_frame", True) is not None:
                await aclose()

    async def _persist(
        self, run: Run, final: ResponseRecord, context: RunContext, finished: RunFinished | None
    ) -> None:
        completed = final.status == "completed"
        # Most agents keep no session state: an empty state that was empty is not written.
        session_state: tuple[str, dict[str, Any]] | None = None
        if completed and (context.session_state or run.had_session_state):
            key = (
                conversation_session_key(final.conversation_id)
                if final.conversation_id
                else response_session_key(run.id)
            )
            session_state = (key, context.session_state)
        # The record, its event log, the conversation turn and the session state go in one
        # transaction: a crash never leaves a finished run without its events. A run first
        # written now had an id nobody knew, so nobody saw its event numbers: it keeps no log,
        # and a later replay rebuilds its events from the record (`replay_events`).
        written = run.written_at_start
        events: list[StoredEvent] = []
        if written:
            log = run.events
            events = [StoredEvent(n, event_to_dict(log[n])) for n in range(run.flushed, len(log))]
            if finished is not None:
                events.append(StoredEvent(len(log), event_to_dict(finished)))
        stored = await self.store.update_response(
            final,
            append_to_conversation=completed and bool(final.conversation_id),
            session_state=session_state,
            events=events,
            create=not written,
        )
        if not stored and written:
            # Finished already: another process ended it (a cancel sent there), or the run is gone.
            logger.info("run %s was ended elsewhere; its outcome here is not stored", run.id)

    async def _deliver(self, run: Run, final: ResponseRecord, context: RunContext) -> ResponseRecord:
        """Push a completed run's output where its request asked; the report goes with the record.

        After the run's last event (followers are done) and before its final write (so the
        report is stored with it).
        """
        target, origin = run.delivery
        if self.deliveries is None:
            return final
        try:
            report = await self.deliveries.deliver(
                final.output_items, keys=context.isolation, target=target, origin=origin
            )
            kept = report_to_dict(report)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            kept = {"pushed": [], "skipped": [], "failed": {"*": "the run was stopped while delivering"}}
        except Exception:
            logger.exception("delivering the answer of run %s failed", run.id)
            kept = {"pushed": [], "skipped": [], "failed": {"*": "delivery failed"}}
        return final.evolve(attributes={**final.attributes, "delivery": kept})
