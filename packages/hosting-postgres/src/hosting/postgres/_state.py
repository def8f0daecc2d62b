"""The PostgreSQL store's session state, session bindings, run event logs, idempotency keys and
identity links."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from psycopg import AsyncConnection

from hosting.core.stores import IdempotencyClaim, StoredEvent, events_to_add

from ._codec import dumps


async def get_session_state(db: AsyncConnection[Any], owner: str, key: str) -> dict[str, Any] | None:
    cursor = await db.execute("SELECT state FROM session_state WHERE owner = %s AND key = %s", (owner, key))
    row = await cursor.fetchone()
    return dict(row[0]) if row is not None else None


async def write_session_state(
    db: AsyncConnection[Any], owner: str, key: str, state: Mapping[str, Any]
) -> None:
    await db.execute(
        "INSERT INTO session_state (owner, key, state, updated_at) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (owner, key) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at",
        (owner, key, dumps(dict(state)), time.time()),
    )


async def bind_session(
    db: AsyncConnection[Any], owner: str, session_key: str, conversation_id: str, replace: bool
) -> str:
    conflict = "DO UPDATE SET conversation_id = EXCLUDED.conversation_id" if replace else "DO NOTHING"
    async with db.transaction():
        # A racing insert of the same key waits for the first to commit, then does nothing: the
        # read below (a statement of its own, so a fresh snapshot) sees the winner.
        await db.execute(
            "INSERT INTO session_bindings (owner, session_key, conversation_id) VALUES (%s, %s, %s)"
            f" ON CONFLICT (owner, session_key) {conflict}",
            (owner, session_key, conversation_id),
        )
        return str(await get_session_binding(db, owner, session_key))


async def get_session_binding(db: AsyncConnection[Any], owner: str, session_key: str) -> str | None:
    cursor = await db.execute(
        "SELECT conversation_id FROM session_bindings WHERE owner = %s AND session_key = %s",
        (owner, session_key),
    )
    row = await cursor.fetchone()
    return str(row[0]) if row is not None else None


async def append_run_events(
    db: AsyncConnection[Any], channel: str, owner: str, response_id: str, events: Sequence[StoredEvent]
) -> None:
    async with db.transaction():
        # The row lock orders this append with the run's other writes (its end among them).
        cursor = await db.execute(
            "SELECT 1 FROM responses WHERE id = %s AND owner = %s AND NOT finished FOR NO KEY UPDATE",
            (response_id, owner),
        )
        if await cursor.fetchone() is None:
            return
        if await write_run_events(db, response_id, events):
            await db.execute("SELECT pg_notify(%s, %s)", (channel, response_id))


async def write_run_events(
    db: AsyncConnection[Any], response_id: str, events: Sequence[StoredEvent], *, finishing: bool = False
) -> bool:
    """Add events to a run's log within the caller's transaction, as one chunk; False if none was new
    (see `events_to_add`: numbers already stored keep their first event)."""
    cursor = await db.execute("SELECT MAX(last) FROM run_log_chunks WHERE response_id = %s", (response_id,))
    row = await cursor.fetchone()
    last = -1 if row is None or row[0] is None else int(row[0])
    fresh = events_to_add(events, last, finishing=finishing)
    if not fresh:
        return False
    await db.execute(
        "INSERT INTO run_log_chunks (response_id, first, last, events) VALUES (%s, %s, %s, %s)",
        (
            response_id,
            fresh[0].number,
            fresh[-1].number,
            dumps([[event.number, dict(event.data)] for event in fresh]),
        ),
    )
    return True


async def read_run_events(
    db: AsyncConnection[Any], owner: str, response_id: str, after: int
) -> tuple[StoredEvent, ...]:
    cursor = await db.execute(
        "SELECT c.events FROM run_log_chunks AS c JOIN responses AS r ON r.id = c.response_id"
        " WHERE c.response_id = %s AND r.owner = %s AND c.last > %s ORDER BY c.first",
        (response_id, owner, after),
    )
    return tuple(
        StoredEvent(int(number), data)
        for (chunk,) in await cursor.fetchall()
        for number, data in chunk
        if int(number) > after
    )


async def claim_idempotency_key(
    db: AsyncConnection[Any], owner: str, key: str, fingerprint: str, response_id: str
) -> IdempotencyClaim:
    # A concurrent insert of the same key waits for the first to commit and then does nothing.
    cursor = await db.execute(
        "INSERT INTO idempotency_keys (owner, key, fingerprint, response_id, created_at)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (owner, key) DO NOTHING RETURNING response_id",
        (owner, key, fingerprint, response_id, time.time()),
    )
    if await cursor.fetchone() is not None:
        return IdempotencyClaim(response_id, fingerprint, created=True)
    cursor = await db.execute(
        "SELECT response_id, fingerprint FROM idempotency_keys WHERE owner = %s AND key = %s", (owner, key)
    )
    row = await cursor.fetchone()
    if row is None:  # the holder was removed between the two statements: claim again
        return await claim_idempotency_key(db, owner, key, fingerprint, response_id)
    return IdempotencyClaim(str(row[0]), str(row[1]), created=False)


async def release_idempotency_key(db: AsyncConnection[Any], owner: str, key: str, response_id: str) -> None:
    await db.execute(
        "DELETE FROM idempotency_keys WHERE owner = %s AND key = %s AND response_id = %s",
        (owner, key, response_id),
    )


async def link_identity(db: AsyncConnection[Any], owner: str, channel: str, address: str) -> None:
    await db.execute(
        "INSERT INTO identity_links (owner, channel, address) VALUES (%s, %s, %s)"
        " ON CONFLICT (owner, channel) DO UPDATE SET address = EXCLUDED.address",
        (owner, channel, address),
    )


async def get_identity_links(db: AsyncConnection[Any], owner: str) -> dict[str, str]:
    cursor = await db.execute("SELECT channel, address FROM identity_links WHERE owner = %s", (owner,))
    return {str(channel): str(address) for channel, address in await cursor.fetchall()}
