"""Runs this process does not execute, read from the store: one another process is running
(followed through the store as it goes), or one that has finished (replayed from its log).

Several processes (or replicas) share one store; a client may ask any of them for a run. A run
going on elsewhere is followed by reading its events as they are stored, then its end. A store
that can say when a run's events arrive (``wait_for_run_events``, as a networked store's
notifications do) is waited on; any other is polled. A finished run's events come from its
stored log, or, for a run that kept none (an inline run, written only at its end), are rebuilt
from its final record (`replay_events`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from ._events import RunEvent, event_from_dict
from ._records import ResponseRecord, RunError
from ._replay import replay_events
from ._run import Run, RunMode
from ._store._base import Store


def stop_watching(run: Run) -> None:
    """Stop following a run of another process (its last follower left, or it is ended here)."""
    if run.watcher is not None:
        run.watcher.cancel()


async def stored_run(store: Store, record: ResponseRecord, *, poll_interval: float) -> Run:
    """The run of a stored response this process does not execute, to follow or replay."""
    if not record.finished:
        run = Run(record, mode=RunMode.ELSEWHERE, stored=True, on_follower_left=stop_watching)
        run.watcher = asyncio.create_task(
            _watch(store, run, poll_interval), name=f"hosting-watch-{record.id}"
        )
        return run
    events = await finished_events(store, record)
    created = record.evolve(
        status="queued" if record.background else "in_progress",
        output_items=(),
        usage=None,
        error=None,
        incomplete_reason=None,
        completed_at=None,
    )
    return Run(created, mode=RunMode.ELSEWHERE, stored=True, events=events, final=record)


async def finished_events(store: Store, record: ResponseRecord) -> list[RunEvent]:
    """A finished run's events: its stored log, else (a run that kept none) rebuilt from the record."""
    stored = await store.read_run_events(record.owner, record.id)
    if stored:
        return [event_from_dict(event.data) for event in stored]
    return replay_events(record)


async def _watch(store: Store, run: Run, poll_interval: float) -> None:
    """Follow a run of another process through the store: its events as they are stored, then its end."""
    owner = run.created.owner
    wait_for_events: Callable[[str, float], Awaitable[None]] | None = getattr(
        store, "wait_for_run_events", None
    )
    while True:
        record = await store.get_response(owner, run.id)
        for stored in await store.read_run_events(owner, run.id, after=len(run.events) - 1):
            if stored.number == len(run.events):
                run.emit(event_from_dict(stored.data))
        if record is None:
            run.finish(
                run.created.evolve(status="failed", error=RunError("not_found", "The response is gone."))
            )
            return
        if record.finished:
            if not run.events:  # it kept no log: rebuilt from the record
                for event in replay_events(record):
                    run.emit(event)
            run.finish(record)
            return
        if wait_for_events is not None:  # woken as soon as the other process stores more
            await wait_for_events(run.id, poll_interval)
        else:
            await asyncio.sleep(poll_interval)
