"""The PostgreSQL schema, as ordered migrations applied at start-up.

The table ``hosting_schema`` holds the number of the last migration applied.
Opening a store applies every later one, each in its own transaction together
with the version bump, so a failure mid-way leaves the previous version intact.
A database written by a newer release is refused rather than guessed at.

Several replicas often start at once: a session-level advisory lock, keyed by
the schema's name, lets one of them migrate while the others wait, and those
then find the work done. Never edit a released migration: append a new one.

Design notes (the same shape as the SQLite store's, so the two behave alike):

- ``responses`` keeps the columns that are queried and one JSON document for the
  rest; input and output items are JSON arrays on the row, so a chain's history
  is one recursive query over the primary key. ``depth`` is one more than the
  parent's and the walk only steps to smaller depths, so even a cycle ends.
- ``conversation_items`` is keyed by (conversation, position); positions come
  from the conversation's ``next_position`` counter, bumped under the
  conversation row's lock, so concurrent appends get disjoint, ordered ranges.
- A run's event log is written as it goes, one chunk (a JSON array) per write.
- Every table that holds a caller's data carries ``owner``, and every query
  filters on it: ownership is a column, never inferred from an id.
- Ids sort byte by byte (``COLLATE "C"``), as in every other backend, whatever
  the database's locale: listings page by (creation time, id).
- Leases (``runners.expires_at``) are on the database's clock, so replicas whose
  clocks disagree still agree on who is alive.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from hosting.core import ConfigurationError

_V1 = (
    """
    CREATE TABLE responses (
        id text COLLATE "C" PRIMARY KEY,
        owner text NOT NULL,
        created_at double precision NOT NULL,
        status text NOT NULL,
        finished boolean NOT NULL,
        previous_response_id text,
        depth integer NOT NULL,
        conversation_id text,
        completed_at double precision,
        input_items json NOT NULL,
        output_items json NOT NULL,
        details json NOT NULL,
        runner text
    )
    """,
    "CREATE INDEX responses_finished_age ON responses (COALESCE(completed_at, created_at)) WHERE finished",
    "CREATE INDEX responses_finished_created ON responses (created_at) WHERE finished",
    "CREATE INDEX responses_unfinished ON responses (runner) WHERE NOT finished",
    "CREATE INDEX responses_by_owner ON responses (owner, created_at, id)",
    """
    CREATE TABLE conversations (
        id text COLLATE "C" PRIMARY KEY,
        owner text NOT NULL,
        created_at double precision NOT NULL,
        active_at double precision NOT NULL,
        metadata json NOT NULL,
        next_position bigint NOT NULL DEFAULT 0
    )
    """,
    "CREATE INDEX conversations_active ON conversations (active_at)",
    "CREATE INDEX conversations_by_owner ON conversations (owner, created_at, id)",
    """
    CREATE TABLE conversation_items (
        conversation_id text NOT NULL,
        position bigint NOT NULL,
        item_id text,
        item json NOT NULL,
        PRIMARY KEY (conversation_id, position)
    )
    """,
    "CREATE INDEX conversation_items_by_id ON conversation_items (conversation_id, item_id, position)",
    "CREATE INDEX conversation_items_item ON conversation_items (item_id)",
    """
    CREATE TABLE session_state (
        owner text NOT NULL,
        key text NOT NULL,
        state json NOT NULL,
        updated_at double precision NOT NULL,
        PRIMARY KEY (owner, key)
    )
    """,
    "CREATE INDEX session_state_age ON session_state (updated_at)",
    """
    CREATE TABLE session_bindings (
        owner text NOT NULL,
        session_key text NOT NULL,
        conversation_id text NOT NULL,
        PRIMARY KEY (owner, session_key)
    )
    """,
    "CREATE INDEX session_bindings_conversation ON session_bindings (conversation_id)",
    """
    CREATE TABLE run_log_chunks (
        response_id text NOT NULL,
        first bigint NOT NULL,
        last bigint NOT NULL,
        events json NOT NULL,
        PRIMARY KEY (response_id, first)
    )
    """,
    """
    CREATE TABLE idempotency_keys (
        owner text NOT NULL,
        key text NOT NULL,
        fingerprint text NOT NULL,
        response_id text NOT NULL,
        created_at double precision NOT NULL,
        PRIMARY KEY (owner, key)
    )
    """,
    "CREATE INDEX idempotency_keys_response ON idempotency_keys (response_id)",
    "CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at)",
    """
    CREATE TABLE identity_links (
        owner text NOT NULL,
        channel text NOT NULL,
        address text NOT NULL,
        PRIMARY KEY (owner, channel)
    )
    """,
    """
    CREATE TABLE tokens (
        namespace text NOT NULL,
        token text NOT NULL,
        owner text NOT NULL,
        data json NOT NULL,
        expires_at double precision NOT NULL,
        PRIMARY KEY (namespace, token)
    )
    """,
    "CREATE INDEX tokens_expiry ON tokens (expires_at)",
    """
    CREATE TABLE seen_keys (
        namespace text NOT NULL,
        key text NOT NULL,
        expires_at double precision NOT NULL,
        PRIMARY KEY (namespace, key)
    )
    """,
    "CREATE INDEX seen_keys_expiry ON seen_keys (expires_at)",
    """
    CREATE TABLE delivery_failures (
        id text PRIMARY KEY,
        owner text NOT NULL,
        channel text NOT NULL,
        address text NOT NULL,
        items json NOT NULL,
        error text NOT NULL,
        attempts integer NOT NULL,
        failed_at double precision NOT NULL
    )
    """,
    "CREATE INDEX delivery_failures_by_time ON delivery_failures (failed_at)",
    "CREATE TABLE runners (id text PRIMARY KEY, expires_at double precision NOT NULL)",
    """
    CREATE TABLE conversation_turns (
        conversation_id text PRIMARY KEY,
        response_id text NOT NULL,
        runner text NOT NULL
    )
    """,
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1,)
"""Migration ``n`` (1-based) brings a schema from version ``n - 1`` to ``n``."""

LATEST_VERSION = len(MIGRATIONS)

# The first key of the two-key advisory locks this package takes (the second is a hash of a
# name): a number of its own, so the locks never meet those of other software in one database.
LOCK_SPACE = 0x686F7374  # "host"


async def schema_version(connection: AsyncConnection[Any]) -> int:
    await connection.execute(
        "CREATE TABLE IF NOT EXISTS hosting_schema (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),"
        " version integer NOT NULL)"
    )
    row = await (await connection.execute("SELECT version FROM hosting_schema")).fetchone()
    return 0 if row is None else int(row[0])


async def migrate(connection: AsyncConnection[Any], *, schema: str) -> int:
    """Bring the schema up to `LATEST_VERSION`; return the version it had before.

    The connection must be in autocommit mode with `schema` first on its search path; it
    holds the migration lock of that schema while it works, so concurrent callers queue.
    """
    lock = (LOCK_SPACE, f"migrate:{schema}")
    await connection.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", lock)
    try:
        # Under the lock: two replicas creating one schema at once would collide.
        await connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        before = await schema_version(connection)
        if before > LATEST_VERSION:
            raise ConfigurationError(
                f"The PostgreSQL schema {schema!r} has version {before}, newer than this hosting-postgres "
                f"supports ({LATEST_VERSION}). Upgrade hosting-postgres or use another schema."
            )
        for version in range(before + 1, LATEST_VERSION + 1):
            async with connection.transaction():
                for statement in MIGRATIONS[version - 1]:
                    await connection.execute(statement)
                await connection.execute(
                    "INSERT INTO hosting_schema (only_row, version) VALUES (true, %s)"
                    " ON CONFLICT (only_row) DO UPDATE SET version = EXCLUDED.version",
                    (version,),
                )
        return before
    finally:
        await connection.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", lock)
