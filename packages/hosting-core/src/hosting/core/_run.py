"""One run: its event log in memory and the followers reading it.

A `Run` is owned by the engine, not by the request that started it: the
agent runs in its own task, appends numbered `RunEvent`s here, and any number
of followers (the request that started it, a client that reconnected) read
the log from any point and then wait for more. A finished run loaded from the
store is a `Run` too, already done, so a channel renders both the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from ._channel import HostedRunResult
from ._events import RunEvent
from ._store._base import ResponseRecord


class Run:
    """A run's state: the record as it was created, its events so far, and (when done) its final record."""

    __slots__ = (
        "_changed",
        "_done",
        "_on_follower_left",
        "cancel_reason",
        "created",
        "events",
        "final",
        "followed",
        "had_session_state",
        "pending",
        "stored",
        "task",
        "watcher",
        "written",
    )

    def __init__(
        self,
        record: ResponseRecord,
        *,
        stored: bool,
        events: list[RunEvent] | None = None,
        final: ResponseRecord | None = None,
        on_follower_left: Callable[[Run], None] | None = None,
    ) -> None:
        self.created = record
        self.stored = stored
        self.events: list[RunEvent] = events if events is not None else []
        self.final = final
        self.task: asyncio.Task[Any] | None = None
        # For a run its caller executes itself (`RunEngine.run`): what it will execute.
        self.pending: tuple[Any, Any] | None = None
        # Set instead of `task` for a run of another process, followed through the store.
        self.watcher: asyncio.Task[None] | None = None
        self.cancel_reason: str | None = None
        self.had_session_state = False
        # False for a run its caller executes inline, waiting for the result only: see the engine.
        self.followed = True
        # Whether the store has the run's record from its start (else it is written at its end).
        self.written = True
        self._changed: asyncio.Event | None = None
        # Made by the first `wait` before the end: a run its caller executes itself never needs one.
        self._done: asyncio.Event | None = None
        self._on_follower_left = on_follower_left

    @property
    def id(self) -> str:
        return self.created.id

    @property
    def done(self) -> bool:
        return self.final is not None

    @property
    def record(self) -> ResponseRecord:
        """The latest known record: the final one when done, else the one created at start."""
        return self.final if self.final is not None else self.created

    # -- writer side (the engine) ------------------------------------------------------------------

    def emit(self, event: RunEvent) -> None:
        self.events.append(event)
        changed = self._changed
        if changed is not None:
            self._changed = None
            changed.set()

    def finish(self, final: ResponseRecord) -> None:
        self.final = final
        if self._done is not None:
            self._done.set()
        changed = self._changed
        if changed is not None:
            self._changed = None
            changed.set()

    # -- reader side (channels) --------------------------------------------------------------------

    async def follow(self, start: int = 0) -> AsyncIterator[RunEvent]:
        """Yield the events from number `start` on, then each new one, until the run is done.

        Closing the iterator before the end (a client disconnected) tells the engine, which
        keeps stored runs going and, by default, cancels runs nobody could fetch again.
        """
        index = start
        reached_end = False
        try:
            while True:
                events = self.events
                while index < len(events):
                    yield events[index]
                    index += 1
                if self.final is not None and index >= len(self.events):
                    reached_end = True
                    return
                if self._changed is None:
                    self._changed = asyncio.Event()
                await self._changed.wait()
        finally:
            if not reached_end and self.final is None and self._on_follower_left is not None:
                self._on_follower_left(self)

    async def wait(self) -> HostedRunResult:
        """Wait until the run is done and return its result."""
        if self.final is None:
            if self._done is None:
                self._done = asyncio.Event()
            await self._done.wait()
        if self.final is None:  # pragma: no cover - _done is only set together with final
            raise RuntimeError("run finished without a record")
        return HostedRunResult(self.final)

    def __repr__(self) -> str:
        return f"Run({self.id!r}, status={self.record.status!r}, events={len(self.events)})"
