"""The SQLite store's worker thread, with group commit.

Every operation runs on this one thread, which owns the one connection. When
several operations are waiting (many requests at once), the worker runs them
all inside one transaction, each in a savepoint of its own, and commits once:
one commit and one wake-up of the event loop per batch instead of per
operation. An operation that fails rolls back only its own savepoint; a commit
that fails fails the whole batch (and tells `abandoned`, so whatever the batch's
operations remembered of their now rolled-back writes can be forgotten). A
result is handed back only after the commit that made it durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_BATCH = 64


@dataclass(slots=True)
class _Job:
    operation: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


_STOP = object()


class SQLiteWorker:
    """Runs operations of a connection on a thread of its own.

    Args:
        connect: opens (and prepares) the connection; called on the worker thread, lazily.
        disconnect: closes it; called on the worker thread when the worker stops.
        abandoned: called on the worker thread with the connection when a batch's commit
            failed and everything its operations did was rolled back.
    """

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        disconnect: Callable[[sqlite3.Connection], None],
        *,
        abandoned: Callable[[sqlite3.Connection], None] | None = None,
        name: str = "hosting-sqlite",
    ) -> None:
        self._connect = connect
        self._disconnect = disconnect
        self._abandoned = abandoned
        self._jobs: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._connection: sqlite3.Connection | None = None
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    async def call(self, operation: Callable[[sqlite3.Connection], Any]) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._jobs.put(_Job(operation, future, loop))
        return await future

    async def stop(self) -> None:
        """Finish every operation queued so far, close the connection and end the thread."""
        self._jobs.put(_STOP)
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join)

    # -- the thread --------------------------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            first = self._jobs.get()
            if first is _STOP:
                self._close()
                return
            batch: list[_Job] = [first]  # type: ignore[list-item]
            stop_after = False
            while len(batch) < MAX_BATCH:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is _STOP:
                    stop_after = True
                    break
                batch.append(job)  # type: ignore[arg-type]
            self._deliver(self._run(batch))
            if stop_after:
                self._close()
                return

    def _run(self, batch: list[_Job]) -> list[tuple[_Job, Any, BaseException | None]]:
        try:
            connection = self._connection if self._connection is not None else self._open()
        except BaseException as error:
            return [(job, None, error) for job in batch]
        if len(batch) == 1:
            job = batch[0]
            try:
                return [(job, job.operation(connection), None)]
            except BaseException as error:
                return [(job, None, error)]
        outcomes: list[tuple[_Job, Any, BaseException | None]] = []
        try:
            connection.execute("BEGIN IMMEDIATE")
        except BaseException as error:
            return [(job, None, error) for job in batch]
        for job in batch:
            try:
                outcomes.append((job, job.operation(connection), None))
            except BaseException as error:
                outcomes.append((job, None, error))
        try:
            connection.execute("COMMIT")
        except BaseException as error:
            if connection.in_transaction:
                # The commit's error is the one to report; a rollback that fails too changes nothing.
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
            if self._abandoned is not None:
                self._abandoned(connection)
            return [(job, None, error) for job in batch]
        return outcomes

    def _open(self) -> sqlite3.Connection:
        self._connection = self._connect()
        return self._connection

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            self._disconnect(connection)

    @staticmethod
    def _deliver(outcomes: list[tuple[_Job, Any, BaseException | None]]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, Any, BaseException | None]]] = {}
        for outcome in outcomes:
            by_loop.setdefault(outcome[0].loop, []).append(outcome)
        for loop, results in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, results)
            except RuntimeError:
                pass  # that loop is closed: nobody is waiting any more


def _settle(results: list[tuple[_Job, Any, BaseException | None]]) -> None:
    for job, value, error in results:
        if job.future.done():
            continue  # the caller was cancelled
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(value)
