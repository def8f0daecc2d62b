"""The SQLite store's runners, their leases, orphaned runs and conversation turns."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from .._records import ResponseRecord, now
from ._codec import response_from_row
from ._sqlite_transaction import transaction

# A runner is alive while its lease runs; a run whose runner is not is an orphan.
_ORPHAN = (
    "finished = 0 AND (runner IS NULL OR (runner != :runner AND runner NOT IN"
    " (SELECT id FROM runners WHERE expires_at > :now)))"
)


def heartbeat(db: sqlite3.Connection, runner: str, lease: float, live: Sequence[str]) -> tuple[str, ...]:
    moment = now()
    with transaction(db):
        db.execute("INSERT OR REPLACE INTO runners (id, expires_at) VALUES (?, ?)", (runner, moment + lease))
        # Runners whose lease ended long ago only make the orphan check slower.
        db.execute("DELETE FROM runners WHERE expires_at < ?", (moment - 3600,))
    if not live:
        return ()
    marks = ",".join("?" * len(live))
    rows = db.execute(f"SELECT id FROM responses WHERE finished = 1 AND id IN ({marks})", tuple(live))
    return tuple(str(row[0]) for row in rows)


def claim_orphaned_runs(db: sqlite3.Connection, runner: str) -> tuple[ResponseRecord, ...]:
    parameters = {"runner": runner, "now": now()}
    with transaction(db):
        rows = db.execute(f"SELECT * FROM responses WHERE {_ORPHAN}", parameters).fetchall()
        if rows:
            db.execute(f"UPDATE responses SET runner = :runner WHERE {_ORPHAN}", parameters)
    return tuple(response_from_row(row).evolve(runner=runner) for row in rows)


def claim_conversation(
    db: sqlite3.Connection, owner: str, conversation_id: str, response_id: str, runner: str
) -> str | None:
    with transaction(db):
        row = db.execute(
            "SELECT t.response_id FROM conversation_turns AS t"
            " WHERE t.conversation_id = ? AND t.response_id != ?"
            " AND t.runner IN (SELECT id FROM runners WHERE expires_at > ?)"
            " AND NOT EXISTS (SELECT 1 FROM responses AS r WHERE r.id = t.response_id AND r.finished = 1)",
            (conversation_id, response_id, now()),
        ).fetchone()
        if row is not None:
            return str(row[0])
        db.execute(
            "INSERT OR REPLACE INTO conversation_turns (conversation_id, response_id, runner) VALUES (?, ?, ?)",
            (conversation_id, response_id, runner),
        )
    return None


def release_conversation(db: sqlite3.Connection, owner: str, conversation_id: str, response_id: str) -> None:
    with transaction(db):
        db.execute(
            "DELETE FROM conversation_turns WHERE conversation_id = ? AND response_id = ?",
            (conversation_id, response_id),
        )
