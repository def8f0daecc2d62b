"""This process as a runner: its lease kept alive, other runners' orphans ended, cancels seen.

Every run a host starts carries its runner id. A heartbeat renews the runner's
lease every third of it; a runner that stops (a crash, ``kill -9``) loses its
lease, and its runs become orphans that the next live runner ends: ``failed``,
keeping the output their followers had already seen, with the terminal event
numbered after the last one stored, so a client resuming at the last
``sequence_number`` it saw gets that terminal event. The heartbeat also tells
which of this runner's runs another process has finished (a cancel sent there),
and those are stopped here, and it retries the end of runs whose final write
failed (a full disk), so that no stored run stays ``in_progress`` once the store
takes writes again, and the conversation turns the store would not give up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence

from ._events import RunFinished, RunStarted, event_from_dict, event_to_dict
from ._records import ResponseRecord, RunError, StoredEvent
from ._replay import output_from_events
from ._run import Run
from ._store._base import Store
from ._turns import Turns

logger = logging.getLogger("hosting.core")

INTERRUPTED = "The run was interrupted: the server running it stopped."


class Recovery:
    """Keeps a runner's lease, ends orphaned runs, and stops runs finished elsewhere.

    Args:
        store: the shared store.
        runner: this process's runner id.
        lease: seconds a runner is taken for alive after its last heartbeat.
        live: this runner's live runs by id (read at each heartbeat).
        turns: its conversation turns, whose refused releases each heartbeat retries.
    """

    def __init__(
        self,
        store: Store,
        runner: str,
        *,
        lease: float,
        live: Callable[[], Mapping[str, Run]],
        turns: Turns | None = None,
    ) -> None:
        if lease <= 0:
            raise ValueError("the runner lease must be positive")
        self.store = store
        self.runner = runner
        self.lease = lease
        self.live = live
        self.turns = turns
        # Seconds between heartbeats: a third of the lease, and at most a second, so a cancel
        # sent to another process stops the run here within about a second.
        self.interval = min(lease / 3, 1.0)
        self._task: asyncio.Task[None] | None = None
        # Final records (and terminal events) of runs whose final write failed, to write again.
        self._unwritten: dict[str, tuple[Run, ResponseRecord, tuple[StoredEvent, ...]]] = {}

    async def start(self) -> int:
        """Say this runner is alive, end the orphans there are, and keep the lease; return how many."""
        await self.store.heartbeat(self.runner, lease=self.lease)
        ended = await self.end_orphans()
        self._task = asyncio.create_task(self._keep_alive(), name=f"hosting-runner-{self.runner}")
        return ended

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _keep_alive(self) -> None:
        beats = 0
        every = max(1, round(self.lease / self.interval))
        while True:
            await asyncio.sleep(self.interval)
            beats += 1
            try:
                await self.beat()
                if beats % every == 0:  # orphans appear when a lease runs out: look once a lease
                    await self.end_orphans()
            except Exception:
                logger.warning(
                    "the runner heartbeat failed; retrying in %.1f s", self.interval, exc_info=True
                )

    def end_later(self, run: Run, final: ResponseRecord, events: Sequence[StoredEvent]) -> None:
        """Write the end of `run`, whose final write failed (its record and the events of its log
        not stored yet), at the next heartbeat, and after, until the store takes it. Until then
        the run is found here (`unwritten`), so a follower gets its end from memory."""
        self._unwritten[final.id] = (run, final, tuple(events))

    def unwritten(self, response_id: str) -> Run | None:
        """The finished run of this runner whose end the store has not taken yet, if any."""
        pending = self._unwritten.get(response_id)
        return pending[0] if pending is not None else None

    async def _write_unwritten(self) -> None:
        for run_id, (_, final, events) in list(self._unwritten.items()):
            await self.store.update_response(final, events=events)
            del self._unwritten[run_id]

    async def beat(self) -> None:
        """Renew the lease; stop the runs here that another process finished; write unwritten ends."""
        live = self.live()
        stored = [run_id for run_id, run in live.items() if run.written_at_start]
        for run_id in await self.store.heartbeat(self.runner, lease=self.lease, live=stored):
            run = live.get(run_id)
            if run is not None and run.task is not None and not run.done:
                run.cancel_reason = "cancelled"
                run.task.cancel()
        if self._unwritten:
            try:
                await self._write_unwritten()
            except Exception:
                logger.warning("the store still refuses the end of %d runs", len(self._unwritten))
        if self.turns is not None:
            try:
                await self.turns.release_pending()
            except Exception:
                logger.warning("the store still refuses to give up a conversation turn")

    async def end_orphans(self) -> int:
        """End every run whose runner is gone; return how many."""
        orphans = await self.store.claim_orphaned_runs(self.runner)
        for record in orphans:
            try:
                await self.end(record, "failed", RunError("interrupted", INTERRUPTED))
            except Exception:
                logger.exception("could not end the orphaned run %s", record.id)
        if orphans:
            logger.warning("ended %d runs left going by a runner that stopped", len(orphans))
        return len(orphans)

    async def end(self, record: ResponseRecord, status: str, error: RunError | None) -> ResponseRecord:
        """Write the end of a run that nobody here executes: its final record and terminal event."""
        stored = await self.store.read_run_events(record.owner, record.id)
        events = [event_from_dict(event.data) for event in stored]
        final = record.ended(status, output_from_events(events), error=error)  # type: ignore[arg-type]
        finished = RunFinished(final.status, final.completed_at or 0.0, None, error, None)
        tail = (
            [StoredEvent(stored[-1].number + 1, event_to_dict(finished))]
            if stored
            else [
                # It stored no event yet: a log that starts as every run's does.
                StoredEvent(0, event_to_dict(RunStarted("in_progress"))),
                StoredEvent(1, event_to_dict(finished)),
            ]
        )
        await self.store.update_response(final, events=tail)
        return final
