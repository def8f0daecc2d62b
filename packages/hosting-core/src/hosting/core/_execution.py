"""Executing a run: the agent driven to its end, its outcome recorded in one write.

The agent runs under the run's time limit; its updates pass the update hooks
and go to the `OutputBuilder`. However the agent ends (completed, an
`ErrorUpdate`, an exception, a cancel, a timeout, shutdown), the run gets one
final record, and a stored run is written once with its event log, its
conversation turn and its session state, in one transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

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
from ._run import Run
from ._store._base import Store

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
    """

    def __init__(
        self,
        store: Store,
        ids: IdFactory,
        *,
        deliveries: Deliveries | None = None,
        update_hooks: Sequence[UpdateHook] = (),
        run_timeout: float | None = None,
    ) -> None:
        self.store = store
        self.ids = ids
        self.deliveries = deliveries
        self.update_hooks = list(update_hooks)
        self.run_timeout = run_timeout

    async def execute(self, run: Run, agent: Agent, context: RunContext) -> None:
        """Run the agent to its end, record the outcome, and finish `run` with its final record."""
        owner = context.isolation.user
        builder = OutputBuilder(run, lambda kind: self.ids.new_id(kind, owner=owner, hint=run.id))
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
        if builder.recording:
            run.emit(RunFinished(status, final.completed_at or 0.0, builder.usage, error, incomplete_reason))
        if run.delivery[0] is not None and status == "completed":
            final = await self._deliver(run, final, context)
        try:
            if run.stored:
                await self._persist(run, final, context)
        except Exception:
            logger.exception("could not store the outcome of run %s", run.id)
        finally:
            run.finish(final)

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

    async def _persist(self, run: Run, final: ResponseRecord, context: RunContext) -> None:
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
        events = (
            [StoredEvent(n, event_to_dict(event)) for n, event in enumerate(run.events)] if written else ()
        )
        await self.store.update_response(
            final,
            append_to_conversation=completed and bool(final.conversation_id),
            session_state=session_state,
            events=events,
            create=not written,
        )

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
