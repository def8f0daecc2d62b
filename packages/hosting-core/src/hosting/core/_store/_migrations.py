"""The SQLite schema, as ordered migrations.

The database's ``PRAGMA user_version`` is the number of the last migration
applied. Opening a store applies every later one, each in its own transaction
together with the version bump, so a crash mid-way leaves the previous version
intact. A database written by a newer release (a higher version than this
module knows) is refused rather than guessed at.

Never edit a released migration: append a new one.

Design notes for the reader of a query plan:

- ``responses`` keeps the columns that are queried (owner, status, chain link,
  timestamps) and one JSON document for the rest. Input and output items are
  JSON arrays on the row, so the history of a chain is one recursive query over
  the primary key: each step is an index lookup, and no step is a round trip.
  ``depth`` is one more than the parent's (0 for a root or an orphan); the walk
  only ever steps to a smaller depth, so even a hand-made cycle ends.
- ``conversation_items`` is keyed by (conversation, position); positions come
  from the conversation's ``next_position`` counter, bumped in the same
  transaction as the insert, so concurrent appends get disjoint, ordered ranges.
- Every table that holds a caller's data carries ``owner``, and every query
  filters on it: ownership is a column, never inferred from an id.
"""

from __future__ import annotations

import sqlite3

from .._exceptions import ConfigurationError

_V1 = (
    """
    CREATE TABLE responses (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        created_at REAL NOT NULL,
        status TEXT NOT NULL,
        finished INTEGER NOT NULL,
        previous_response_id TEXT,
        depth INTEGER NOT NULL,
        conversation_id TEXT,
        completed_at REAL,
        input_items TEXT NOT NULL,
        output_items TEXT NOT NULL,
        details TEXT NOT NULL
    )
    """,
    # Retention and the size bound walk finished responses by age.
    "CREATE INDEX responses_finished_age ON responses (finished, COALESCE(completed_at, created_at))",
    "CREATE INDEX responses_finished_created ON responses (finished, created_at)",
    # Start-up recovery finds the runs an earlier process left going.
    "CREATE INDEX responses_unfinished ON responses (finished) WHERE finished = 0",
    """
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        created_at REAL NOT NULL,
        active_at REAL NOT NULL,
        metadata TEXT NOT NULL,
        next_position INTEGER NOT NULL DEFAULT 0
    )
    """,
    "CREATE INDEX conversations_active ON conversations (active_at)",
    """
    CREATE TABLE conversation_items (
        conversation_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        item_id TEXT,
        item TEXT NOT NULL,
        PRIMARY KEY (conversation_id, position)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX conversation_items_by_id ON conversation_items (conversation_id, item_id, position)",
    """
    CREATE TABLE session_state (
        owner TEXT NOT NULL,
        key TEXT NOT NULL,
        state TEXT NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (owner, key)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX session_state_age ON session_state (updated_at)",
    """
    CREATE TABLE session_bindings (
        owner TEXT NOT NULL,
        session_key TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        PRIMARY KEY (owner, session_key)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX session_bindings_conversation ON session_bindings (conversation_id)",
    """
    CREATE TABLE run_events (
        response_id TEXT NOT NULL,
        number INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (response_id, number)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE idempotency_keys (
        owner TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        response_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (owner, key)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX idempotency_keys_response ON idempotency_keys (response_id)",
    "CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at)",
    """
    CREATE TABLE identity_links (
        owner TEXT NOT NULL,
        channel TEXT NOT NULL,
        address TEXT NOT NULL,
        PRIMARY KEY (owner, channel)
    ) WITHOUT ROWID
    """,
)

# A run's event log is read and written whole (replay re-renders it from the start), so it is
# one JSON array of [number, event] pairs per run: one row to write instead of one per event.
_V2 = (
    "CREATE TABLE run_logs (response_id TEXT PRIMARY KEY, events TEXT NOT NULL) WITHOUT ROWID",
    """
    INSERT INTO run_logs (response_id, events)
    SELECT response_id, json_group_array(json_array(number, json(data)))
    FROM (SELECT response_id, number, data FROM run_events ORDER BY response_id, number)
    GROUP BY response_id
    """,
    "DROP TABLE run_events",
)

# Listings by owner and creation; items found by id; one-time tokens, seen keys, delivery failures.
_V3 = (
    "CREATE INDEX responses_by_owner ON responses (owner, created_at, id)",
    "CREATE INDEX conversations_by_owner ON conversations (owner, created_at, id)",
    "CREATE INDEX conversation_items_item ON conversation_items (item_id)",
    """
    CREATE TABLE tokens (
        namespace TEXT NOT NULL,
        token TEXT NOT NULL,
        owner TEXT NOT NULL,
        data TEXT NOT NULL,
        expires_at REAL NOT NULL,
        PRIMARY KEY (namespace, token)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX tokens_expiry ON tokens (expires_at)",
    """
    CREATE TABLE seen_keys (
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        expires_at REAL NOT NULL,
        PRIMARY KEY (namespace, key)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX seen_keys_expiry ON seen_keys (expires_at)",
    """
    CREATE TABLE delivery_failures (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        channel TEXT NOT NULL,
        address TEXT NOT NULL,
        items TEXT NOT NULL,
        error TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        failed_at REAL NOT NULL
    )
    """,
    "CREATE INDEX delivery_failures_by_time ON delivery_failures (failed_at)",
)

# Runners with leases: each run carries the runner executing it; conversation turns held one at a time.
# A run's event log is written as it goes, in chunks (one row per batch, never rewritten).
_V4 = (
    """
    CREATE TABLE run_log_chunks (
        response_id TEXT NOT NULL,
        first INTEGER NOT NULL,
        last INTEGER NOT NULL,
        events TEXT NOT NULL,
        PRIMARY KEY (response_id, first)
    ) WITHOUT ROWID
    """,
    """
    INSERT INTO run_log_chunks (response_id, first, last, events)
    SELECT response_id,
        (SELECT MIN(json_extract(value, '$[0]')) FROM json_each(events)),
        (SELECT MAX(json_extract(value, '$[0]')) FROM json_each(events)),
        events
    FROM run_logs WHERE json_array_length(events) > 0
    """,
    "DROP TABLE run_logs",
    "ALTER TABLE responses ADD COLUMN runner TEXT",
    "CREATE TABLE runners (id TEXT PRIMARY KEY, expires_at REAL NOT NULL) WITHOUT ROWID",
    """
    CREATE TABLE conversation_turns (
        conversation_id TEXT PRIMARY KEY,
        response_id TEXT NOT NULL,
        runner TEXT NOT NULL
    ) WITHOUT ROWID
    """,
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2, _V3, _V4)
"""Migration ``n`` (1-based) brings a database from version ``n - 1`` to ``n``."""

LATEST_VERSION = len(MIGRATIONS)


def schema_version(connection: sqlite3.Connection) -> int:
    row = connection.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(connection: sqlite3.Connection, *, path: str) -> int:
    """Bring the database up to `LATEST_VERSION`; return the version it had before.

    The connection must be in autocommit mode (``isolation_level=None``): each
    migration runs in an explicit ``BEGIN IMMEDIATE`` transaction, which also keeps
    two processes opening one new file from migrating it twice.
    """
    before = schema_version(connection)
    if before > LATEST_VERSION:
        raise ConfigurationError(
            f"The database {path} has schema version {before}, newer than this hosting-core "
            f"supports ({LATEST_VERSION}). Upgrade hosting-core or use another data directory."
        )
    for version in range(before + 1, LATEST_VERSION + 1):
        connection.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(connection) >= version:  # another process got here first
                connection.execute("ROLLBACK")
                continue
            for statement in MIGRATIONS[version - 1]:
                connection.execute(statement)
            # user_version lives in the database header and is part of the transaction.
            connection.execute(f"PRAGMA user_version = {version:d}")
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
    return before
