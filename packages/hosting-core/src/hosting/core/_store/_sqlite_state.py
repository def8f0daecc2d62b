"""The SQLite store's operations on session state, run event logs, idempotency keys and
identity links, as plain functions of a connection (run on the worker thread)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from .._records import IdempotencyClaim, StoredEvent, events_to_add, now
from ._codec import dumps, loads
from ._sqlite_transaction import transaction


def get_session_state(db: sqlite3.Connection, owner: str, key: str) -> dict[str, Any] | None:
    row = db.execute("SELECT state FROM session_state WHERE owner = ? AND key = ?", (owner, key)).fetchone()
    return dict(loads(row[0])) if row is not None else None


def write_session_state(db: sqlite3.Connection, owner: str, key: str, state: Mapping[str, Any]) -> None:
    """Save session state within the caller's write transaction."""
    db.execute(
        "INSERT OR REPLACE INTO session_state (owner, key, state, updated_at) VALUES (?, ?, ?, ?)",
        (owner, key, dumps(dict(state)), now()),
    )


def put_session_state(db: sqlite3.Connection, owner: str, key: str, state: Mapping[str, Any]) -> None:
    with transaction(db):
        write_session_state(db, owner, key, state)


def bind_session(
    db: sqlite3.Connection, owner: str, session_key: str, conversation_id: str, replace: bool
) -> str:
    verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
    with transaction(db):
        db.execute(
            f"{verb} INTO session_bindings (owner, session_key, conversation_id) VALUES (?, ?, ?)",
            (owner, session_key, conversation_id),
        )
        return str(get_session_binding(db, owner, session_key))


def get_session_binding(db: sqlite3.Connection, owner: str, session_key: str) -> str | None:
    row = db.execute(
        "SELECT conversation_id FROM session_bindings WHERE owner = ? AND session_key = ?",
        (owner, session_key),
    ).fetchone()
    return str(row[0]) if row is not None else None


def append_run_events(
    db: sqlite3.Connection, owner: str, response_id: str, events: Sequence[StoredEvent]
) -> None:
    with transaction(db):
        row = db.execute(
            "SELECT 1 FROM responses WHERE id = ? AND owner = ? AND finished = 0", (response_id, owner)
        ).fetchone()
        if row is not None:
            write_run_events(db, response_id, events)


def _load_events(db: sqlite3.Connection, response_id: str, after: int = -1) -> list[StoredEvent]:
    rows = db.execute(
        "SELECT events FROM run_log_chunks WHERE response_id = ? AND last > ? ORDER BY first",
        (response_id, after),
    ).fetchall()
    return [
        StoredEvent(int(number), data)
        for row in rows
        for number, data in loads(row[0])
        if int(number) > after
    ]


def write_run_events(
    db: sqlite3.Connection, response_id: str, events: Sequence[StoredEvent], *, finishing: bool = False
) -> None:
    """Add events to a run's log within the caller's write transaction, as one chunk (see
    `events_to_add`: numbers already stored keep their first event)."""
    row = db.execute("SELECT MAX(last) FROM run_log_chunks WHERE response_id = ?", (response_id,)).fetchone()
    last = -1 if row is None or row[0] is None else int(row[0])
    fresh = events_to_add(events, last, finishing=finishing)
    if not fresh:
        return
    encoded = dumps([[event.number, dict(event.data)] for event in fresh])
    db.execute(
        "INSERT INTO run_log_chunks (response_id, first, last, events) VALUES (?, ?, ?, ?)",
        (response_id, fresh[0].number, fresh[-1].number, encoded),
    )


def get_response_exists(db: sqlite3.Connection, owner: str, response_id: str) -> bool:
    row = db.execute("SELECT 1 FROM responses WHERE id = ? AND owner = ?", (response_id, owner)).fetchone()
    return row is not None


def read_run_events(
    db: sqlite3.Connection, owner: str, response_id: str, after: int
) -> tuple[StoredEvent, ...]:
    if not get_response_exists(db, owner, response_id):
        return ()
    return tuple(_load_events(db, response_id, after))


def claim_idempotency_key(
    db: sqlite3.Connection, owner: str, key: str, fingerprint: str, response_id: str
) -> IdempotencyClaim:
    with transaction(db):
        cursor = db.execute(
            "INSERT OR IGNORE INTO idempotency_keys (owner, key, fingerprint, response_id, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (owner, key, fingerprint, response_id, now()),
        )
        created = cursor.rowcount == 1
        row = db.execute(
            "SELECT response_id, fingerprint FROM idempotency_keys WHERE owner = ? AND key = ?", (owner, key)
        ).fetchone()
    return IdempotencyClaim(str(row[0]), str(row[1]), created=created)


def release_idempotency_key(db: sqlite3.Connection, owner: str, key: str, response_id: str) -> None:
    with transaction(db):
        db.execute(
            "DELETE FROM idempotency_keys WHERE owner = ? AND key = ? AND response_id = ?",
            (owner, key, response_id),
        )


def link_identity(db: sqlite3.Connection, owner: str, channel: str, address: str) -> None:
    with transaction(db):
        db.execute(
            "INSERT OR REPLACE INTO identity_links (owner, channel, address) VALUES (?, ?, ?)",
            (owner, channel, address),
        )


def get_identity_links(db: sqlite3.Connection, owner: str) -> dict[str, str]:
    rows = db.execute("SELECT channel, address FROM identity_links WHERE owner = ?", (owner,)).fetchall()
    return {str(channel): str(address) for channel, address in rows}
