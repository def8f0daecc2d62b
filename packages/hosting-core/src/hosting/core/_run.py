"""One run: its event log in memory and the followers reading it.

A `Run` is owned by the engine, not by the request that started it: the
agent runs in its own task, appends numbered `RunEvent`s here, and any number
of followers (the request that started it, a client that reconnected) read
the log from any point and then wait for more. A finished run loaded from the
store is a `Run` too, already done, so a channel renders both the same way.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator, Callable
from typing import Any

from ._channel import ChannelIdentity, ChannelRequest, DeliveryTarget, HostedRunResult
from ._events import RunEvent
from ._records import ResponseRecord


class RunMode(enum.Enum):
    """How a run executes and when it is written, decided once from its request.

    - ``STREAMED``: in a task of its own; its events are recorded for whoever follows it;
      written as it starts when stored. A channel that starts a run to follow it gets this
      mode, and so does a stored request with an idempotency key whose caller only waits for
      the result, so a retry can follow it.
    - ``BACKGROUND``: in a task of its own, detached from the request; written as it starts.
    - ``INLINE``: in its caller's task, which waits for the result; no events, never stored.
    - ``INLINE_STORED``: in its caller's task; no events; written once, at its end (nobody
      knows its id before then, so a later replay rebuilds its events from the record).
    - ``ELSEWHERE``: a run of another process or an earlier one, read from the store.
    """

    # (value, inline, records_events): plain attributes of each member, read on every run.
    STREAMED = ("streamed", False, True)
    BACKGROUND = ("background", False, True)
    INLINE = ("inline", True, False)
    INLINE_STORED = ("inline_stored", True, False)
    ELSEWHERE = ("elsewhere", False, False)

    def __init__(self, label: str, inline: bool, records_events: bool) -> None:
        self.label = label
        #: Executed by its caller, in the caller's task.
        self.inline = inline
        #: Keeps an event log: someone may follow it while it runs, or resume it later.
        self.records_events = records_events

    @classmethod
    def for_request(cls, request: ChannelRequest, *, followed: bool) -> RunMode:
        """The mode of a run of `request`; `followed`: its caller follows its events."""
        if request.background:
            return cls.BACKGROUND
        if followed or request.stream or (request.store and request.idempotency_key is not None):
            return cls.STREAMED
        return cls.INLINE_STORED if request.store else cls.INLINE


class Run:
    """A run's state: the record as it was created, its events so far, and (when done) its final record."""

    __slots__ = (
        "_changed",
        "_done",
        "_on_finished",
        "_on_follower_left",
        "cancel_reason",
        "created",
        "delivery",
        "events",
        "final",
        "flushed",
        "had_session_state",
        "holds_turn",
        "mode",
        "stored",
        "task",
        "watcher",
        "written_at_start",
    )

    def __init__(
        self,
        record: ResponseRecord,
        mode: RunMode,
        stored: bool,
        had_session_state: bool = False,
        events: list[RunEvent] | None = None,
        final: ResponseRecord | None = None,
        on_follower_left: Callable[[Run], None] | None = None,
        on_finished: Callable[[Run], None] | None = None,
        delivery: tuple[DeliveryTarget, ChannelIdentity | None] = (None, None),
        holds_turn: bool = False,
    ) -> None:
        self.created = record
        self.mode = mode
        self.stored = stored
        #: The store has had its record since it started (else it is written at its end).
        self.written_at_start = stored and not mode.inline
        # Whether the run began with a session state (an emptied one must then be written).
        self.had_session_state = had_session_state
        self.events: list[RunEvent] = events if events is not None else []
        self.final = final
        # The task executing the run (the caller's own for an inline one); set once it exists.
        self.task: asyncio.Task[Any] | None = None
        # Set instead of `task` for a run of another process, followed through the store.
        self.watcher: asyncio.Task[None] | None = None
        self.cancel_reason: str | None = None
        self._changed: asyncio.Event | None = None
        # Made by the first `wait` before the end: a run its caller executes itself never needs one.
        self._done: asyncio.Event | None = None
        self._on_follower_left = on_follower_left
        self._on_finished = on_finished
        # Where the answer is pushed when the run completes, and who asked (for "origin").
        self.delivery = delivery
        # It holds its conversation's turn (`Turns`), given up when it ends.
        self.holds_turn = holds_turn
        # How many of its events are in the store already (written as it goes, see `Executor`).
        self.flushed = 0

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
        if self._on_finished is not None:
            self._on_finished(self)
        if self._done is not None:
            self._done.set()
        changed = self._changed
        if changed is not None:
            self._changed = None
            changed.set()

    async def changed(self) -> None:
        """Wait for the next event or the end."""
        if self.final is not None:
            return
        if self._changed is None:
            self._changed = asyncio.Event()
        await self._changed.wait()

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
