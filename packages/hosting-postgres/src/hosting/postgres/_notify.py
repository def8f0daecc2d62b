"""Waking followers of a run when its events are stored, through LISTEN/NOTIFY.

Every write that stores events of a run (or ends it) calls ``pg_notify`` with the
run's id, in the same transaction, so the notification is delivered when, and
only when, what it announces is committed and visible. Each store holds one
connection that LISTENs on its channel and wakes the in-process waiters of that
run: a replica with a thousand followers costs the database one connection.

A notification carries the id only; the waiter reads the events through the
store as usual, under its owner. Notifications are counted, and the count of the
last one of each run is kept (for the most recent runs): a follower that read
the events at count N and then waits returns at once when its run was notified
after N, so a write committed between its read and its wait is never waited
out. One lost while the listening connection was down is made up for by the
waiter's timeout: callers always wait with a bound and read again after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from psycopg import AsyncConnection, sql

logger = logging.getLogger("hosting.postgres")

_BACKOFF = (0.1, 0.25, 0.5, 1.0, 2.0)
_REMEMBERED_RUNS = 10_000  # runs whose last notification is kept (the least recent are forgotten)


class RunNotifier:
    """One listening connection, fanned out to any number of waiters in this process."""

    def __init__(self, conninfo: str, channel: str, connect_options: Mapping[str, Any]) -> None:
        self._conninfo = conninfo
        self._channel = channel
        self._connect_options = dict(connect_options)
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._count = 0
        self._last: OrderedDict[str, int] = OrderedDict()

    @property
    def listening(self) -> bool:
        """True while the listening connection is up and subscribed."""
        return self._ready.is_set()

    def start(self) -> None:
        """Start listening in the background (does nothing when started already)."""
        if self._task is None or self._task.done():
            self._ready.clear()
            self._task = asyncio.get_running_loop().create_task(
                self._listen(), name="hosting-postgres-listen"
            )

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._ready.clear()
        self._wake_all()

    def mark(self) -> int:
        """The count of notifications received so far (to pass to `wait` later)."""
        return self._count

    async def wait(self, response_id: str, timeout: float, *, since: int | None = None) -> None:  # noqa: ASYNC109
        """Return when `response_id` is notified, or after `timeout` seconds; at once when it was
        notified after the `mark` given as `since`."""
        if since is not None and self._last.get(response_id, 0) > since:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.setdefault(response_id, set()).add(waiter)
        try:
            self.start()
            await asyncio.wait({waiter}, timeout=max(0.0, deadline - loop.time()))
        finally:
            waiters = self._waiters.get(response_id)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[response_id]

    def _notified(self, response_id: str) -> None:
        self._count += 1
        self._last[response_id] = self._count
        self._last.move_to_end(response_id)
        if len(self._last) > _REMEMBERED_RUNS:
            self._last.popitem(last=False)
        self._wake(response_id)

    def _wake(self, response_id: str) -> None:
        for waiter in self._waiters.pop(response_id, ()):
            if not waiter.done():
                waiter.set_result(None)

    def _wake_all(self) -> None:
        for response_id in list(self._waiters):
            self._wake(response_id)

    async def _listen(self) -> None:
        failures = 0
        while True:
            try:
                async with await AsyncConnection.connect(
                    self._conninfo, autocommit=True, **self._connect_options
                ) as connection:
                    await connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                    self._ready.set()
                    failures = 0
                    # Whatever was committed while the connection was down went unseen: every
                    # waiter reads again rather than waiting out its timeout.
                    self._wake_all()
                    async for notification in connection.notifies():
                        self._notified(notification.payload)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the connection broke: say so, wake everyone, reconnect
                self._ready.clear()
                self._wake_all()
                delay = _BACKOFF[min(failures, len(_BACKOFF) - 1)]
                failures += 1
                logger.warning(
                    "hosting-postgres: listening connection lost (%s); again in %.2fs", error, delay
                )
                await asyncio.sleep(delay)
