"""Transactions of the SQLite store's operations, alone or inside the worker's batch.

An operation run alone gets its own transaction: ``BEGIN IMMEDIATE`` for a
write (the write lock up front, so two writers never deadlock on an upgrade),
a deferred ``BEGIN`` for a read of several statements (one snapshot). Inside
the worker's group commit (`_sqlite_worker.py`) the batch's transaction is
already open, and the operation becomes one savepoint of it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress


@contextmanager
def transaction(db: sqlite3.Connection, *, write: bool = True) -> Iterator[None]:
    if db.in_transaction:
        # Inside the worker's group commit: this operation is a savepoint of the batch.
        db.execute("SAVEPOINT operation")
        try:
            yield
        except BaseException:
            db.execute("ROLLBACK TO operation")
            db.execute("RELEASE operation")
            raise
        db.execute("RELEASE operation")
        return
    db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    try:
        db.execute("COMMIT")
    except BaseException:
        # A failed commit (disk full, I/O error) can leave the transaction open; the next
        # operation would then nest in it as a savepoint and never be committed. (When SQLite
        # ended it already, this rollback fails, and the commit's error is the one to report.)
        with suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
