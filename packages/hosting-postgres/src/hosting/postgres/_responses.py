"""The PostgreSQL store's operations on responses: write, read, delete, a chain's history.

Each function takes a connection in autocommit mode and is one statement or one
transaction. A write that changes a run also notifies its followers
(`_notify.py`) in the same transaction, so a notification never arrives before
what it announces is visible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation

from hosting.core import Item
from hosting.core.stores import ResponseRecord, StoredEvent, response_session_key

from ._codec import RESPONSE_COLUMNS, response_from_row, response_parameters
from ._conversations import append_items
from ._decoded import DecodedItems
from ._state import write_run_events, write_session_state

# A response's depth is one more than its parent's, looked up in the insert itself. It is fixed
# then (an update keeps it), so the walk in `get_history` always ends.
_INSERT = (
    "INSERT INTO responses (id, owner, created_at, status, finished, previous_response_id, depth,"
    " conversation_id, completed_at, input_items, output_items, details, runner) VALUES (%(id)s, %(owner)s,"
    " %(created_at)s, %(status)s, %(finished)s, %(previous_response_id)s,"
    " COALESCE((SELECT p.depth + 1 FROM responses AS p"
    " WHERE p.id = %(previous_response_id)s AND p.owner = %(owner)s), 0),"
    " %(conversation_id)s, %(completed_at)s, %(input_items)s, %(output_items)s, %(details)s, %(runner)s)"
)

_SET = (
    "created_at = %(created_at)s, status = %(status)s, finished = %(finished)s,"
    " previous_response_id = %(previous_response_id)s, conversation_id = %(conversation_id)s,"
    " completed_at = %(completed_at)s, input_items = %(input_items)s, output_items = %(output_items)s,"
    " details = %(details)s, runner = %(runner)s"
)

# A finished response never changes, and another owner's is never touched.
_UPDATE = f"UPDATE responses SET {_SET} WHERE id = %(id)s AND owner = %(owner)s AND NOT finished RETURNING 1"

# Insert, or (the id being stored) update when it is the owner's and unfinished: one statement.
_UPSERT = (
    f"{_INSERT} ON CONFLICT (id) DO UPDATE SET {_SET}"
    " WHERE responses.owner = %(owner)s AND NOT responses.finished RETURNING 1"
)

# The ancestors of a response, oldest first, in one statement however long the chain. Each step
# is a primary-key lookup: the LATERAL subquery (kept apart by OFFSET 0) is looked up once per
# step, where a plain join lets the planner scan every response of the owner at every step
# (36 ms instead of 1.4 ms for turn 500, measured). The items come as text with their row's
# version (`_decoded.py`), so a row decoded before is not decoded again.
_ANCESTORS = """
    WITH RECURSIVE chain (id, version, previous_response_id, depth, input_items, output_items) AS (
        SELECT id, xmin::text, previous_response_id, depth, input_items, output_items
        FROM responses WHERE id = %(id)s AND owner = %(owner)s
        UNION ALL
        SELECT step.id, step.version, step.previous_response_id, step.depth, step.input_items,
            step.output_items
        FROM chain CROSS JOIN LATERAL (
            SELECT r.id, r.xmin::text AS version, r.previous_response_id, r.depth, r.input_items,
                r.output_items
            FROM responses AS r
            WHERE r.id = chain.previous_response_id AND r.owner = %(owner)s AND r.depth < chain.depth
            OFFSET 0
        ) AS step
    )
    SELECT id, version, input_items::text, output_items::text FROM chain ORDER BY depth ASC
"""


async def notify(db: AsyncConnection[Any], channel: str, response_id: str) -> None:
    """Tell followers of `response_id` that it changed (delivered when the transaction commits)."""
    await db.execute("SELECT pg_notify(%s, %s)", (channel, response_id))


async def create_response(db: AsyncConnection[Any], record: ResponseRecord) -> None:
    try:
        await db.execute(_INSERT, response_parameters(record))
    except UniqueViolation:
        raise ValueError(f"response {record.id!r} exists already") from None


async def update_response(
    db: AsyncConnection[Any],
    channel: str,
    record: ResponseRecord,
    append_to_conversation: bool,
    session_state: tuple[str, Mapping[str, Any]] | None,
    events: Sequence[StoredEvent],
    create: bool,
) -> bool:
    parameters = response_parameters(record)
    if create and not events and not append_to_conversation and session_state is None:
        # The record alone (an inline run's end, the common stored write): one statement, atomic
        # by itself, so no transaction of its own (two round trips fewer).
        cursor = await db.execute(f"{_UPSERT}, (xmax = 0)", parameters)
        row = await cursor.fetchone()
        if row is None:
            return False
        if not row[1] and record.finished:
            await notify(db, channel, record.id)  # it was stored (and maybe followed) before: it ended
        return True
    async with db.transaction():
        cursor = await db.execute(_UPSERT if create else _UPDATE, parameters)
        if await cursor.fetchone() is None:
            return False  # gone, finished, or (with create) another owner's id
        if events:
            await write_run_events(db, record.id, events, finishing=record.finished)
        if append_to_conversation and record.conversation_id:
            await append_items(
                db, record.owner, record.conversation_id, record.input_items + record.output_items
            )
        if session_state is not None:
            await write_session_state(db, record.owner, *session_state)
        if events or record.finished:
            await notify(db, channel, record.id)
    return True


async def get_response(db: AsyncConnection[Any], owner: str, response_id: str) -> ResponseRecord | None:
    cursor = await db.execute(
        f"SELECT {RESPONSE_COLUMNS} FROM responses WHERE id = %s AND owner = %s", (response_id, owner)
    )
    row = await cursor.fetchone()
    return response_from_row(row) if row is not None else None


async def delete_response(db: AsyncConnection[Any], owner: str, response_id: str) -> bool:
    async with db.transaction():
        cursor = await db.execute(
            "DELETE FROM responses WHERE id = %s AND owner = %s RETURNING id", (response_id, owner)
        )
        if await cursor.fetchone() is None:
            return False
        await forget_responses(db, [(response_id, owner)])
        return True


async def forget_responses(db: AsyncConnection[Any], doomed: Sequence[tuple[str, str]]) -> None:
    """Remove what hangs off responses already deleted from the ``responses`` table."""
    if not doomed:
        return
    ids = [rid for rid, _ in doomed]
    owners = [owner for _, owner in doomed]
    await db.execute("DELETE FROM run_log_chunks WHERE response_id = ANY(%s)", (ids,))
    await db.execute(
        "DELETE FROM session_state AS s USING unnest(%s::text[], %s::text[]) AS d(owner, key)"
        " WHERE s.owner = d.owner AND s.key = d.key",
        (owners, [response_session_key(rid) for rid in ids]),
    )
    await db.execute(
        "DELETE FROM idempotency_keys AS k USING unnest(%s::text[], %s::text[]) AS d(owner, response_id)"
        " WHERE k.owner = d.owner AND k.response_id = d.response_id",
        (owners, ids),
    )


async def get_history(
    db: AsyncConnection[Any], decoded: DecodedItems, owner: str, response_id: str
) -> tuple[Item, ...] | None:
    cursor = await db.execute(_ANCESTORS, {"id": response_id, "owner": owner})
    rows = await cursor.fetchall()
    if not rows:
        return None
    items: list[Item] = []
    for rid, version, input_items, output_items in rows:
        items.extend(decoded.decode(("response", rid, version), input_items, output_items))
    return tuple(items)
