"""The PostgreSQL store's runners, their leases, orphaned runs and conversation turns.

Leases are measured on the database's clock (`_NOW`), never a replica's: two
replicas whose clocks disagree still agree on which runner is alive.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection

from hosting.core.stores import ResponseRecord

from ._codec import RESPONSE_COLUMNS, response_from_row
from ._schema import LOCK_SPACE

_NOW = "EXTRACT(EPOCH FROM clock_timestamp())::float8"

# A runner is alive while its lease runs; a run whose runner is not is an orphan.
_ORPHAN = (
    "NOT finished AND (runner IS NULL OR (runner <> %(runner)s AND runner NOT IN"
    f" (SELECT id FROM runners WHERE expires_at > {_NOW})))"
)


async def heartbeat(
    db: AsyncConnection[Any], runner: str, lease: float, live: Sequence[str]
) -> tuple[str, ...]:
    await db.execute(
        f"INSERT INTO runners (id, expires_at) VALUES (%(id)s, {_NOW} + %(lease)s)"
        " ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at",
        {"id": runner, "lease": lease},
    )
    # Runners whose lease ended long ago only make the orphan check slower.
    await db.execute(f"DELETE FROM runners WHERE expires_at < {_NOW} - 3600")
    if not live:
        return ()
    cursor = await db.execute("SELECT id FROM responses WHERE finished AND id = ANY(%s)", (list(live),))
    finished = {str(row[0]) for row in await cursor.fetchall()}
    return tuple(rid for rid in live if rid in finished)


async def claim_orphaned_runs(db: AsyncConnection[Any], runner: str) -> tuple[ResponseRecord, ...]:
    # SKIP LOCKED: an orphan another claimant is taking right now is theirs; the lock is
    # re-checked against the condition, so a claim committed meanwhile is never taken again.
    cursor = await db.execute(
        f"UPDATE responses SET runner = %(runner)s WHERE id IN"
        f" (SELECT id FROM responses WHERE {_ORPHAN} FOR UPDATE SKIP LOCKED)"
        f" RETURNING {RESPONSE_COLUMNS}",
        {"runner": runner},
    )
    return tuple(response_from_row(row) for row in await cursor.fetchall())


async def claim_conversation(
    db: AsyncConnection[Any], owner: str, conversation_id: str, response_id: str, runner: str
) -> str | None:
    async with db.transaction():
        # One claim of a conversation at a time, across every replica, until this transaction ends.
        await db.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOCK_SPACE, f"conversation:{conversation_id}")
        )
        cursor = await db.execute(
            "SELECT t.response_id FROM conversation_turns AS t"
            " WHERE t.conversation_id = %s AND t.response_id <> %s"
            f" AND t.runner IN (SELECT id FROM runners WHERE expires_at > {_NOW})"
            " AND NOT EXISTS (SELECT 1 FROM responses AS r WHERE r.id = t.response_id AND r.finished)",
            (conversation_id, response_id),
        )
        row = await cursor.fetchone()
        if row is not None:
            return str(row[0])
        await db.execute(
            "INSERT INTO conversation_turns (conversation_id, response_id, runner) VALUES (%s, %s, %s)"
            " ON CONFLICT (conversation_id) DO UPDATE SET response_id = EXCLUDED.response_id,"
            " runner = EXCLUDED.runner",
            (conversation_id, response_id, runner),
        )
    return None


async def release_conversation(
    db: AsyncConnection[Any], owner: str, conversation_id: str, response_id: str
) -> None:
    await db.execute(
        "DELETE FROM conversation_turns WHERE conversation_id = %s AND response_id = %s",
        (conversation_id, response_id),
    )
