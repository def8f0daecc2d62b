"""The PostgreSQL store's operations on conversations and their items."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation

from hosting.core import Item
from hosting.core.stores import ConversationRecord, ItemPage, Order, conversation_session_key, item_from_dict

from ._codec import dumps, item_to_json
from ._decoded import DecodedItems


async def append_items(
    db: AsyncConnection[Any], owner: str, conversation_id: str, items: Sequence[Item], *, touch: bool = True
) -> int | None:
    """Append within the caller's transaction; return the first position taken (None: no such
    conversation of the owner's).

    Bumping the counter locks the conversation's row until the transaction ends, so concurrent
    appends take disjoint ranges, one after the other, and never interleave.
    """
    cursor = await db.execute(
        "UPDATE conversations SET next_position = next_position + %(count)s,"
        " active_at = CASE WHEN %(touch)s THEN %(now)s ELSE active_at END"
        " WHERE id = %(id)s AND owner = %(owner)s RETURNING next_position - %(count)s",
        {"count": len(items), "touch": touch, "now": time.time(), "id": conversation_id, "owner": owner},
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    start = int(row[0])
    if items:
        await db.execute(
            "INSERT INTO conversation_items (conversation_id, position, item_id, item)"
            " SELECT %s, position, item_id, item::json"
            " FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS u(position, item_id, item)",
            (
                conversation_id,
                list(range(start, start + len(items))),
                [item.id for item in items],
                [item_to_json(item) for item in items],
            ),
        )
    return start


def _conversation(row: Sequence[Any]) -> ConversationRecord:
    return ConversationRecord(row[0], row[1], row[2], row[3])


async def create_conversation(
    db: AsyncConnection[Any], record: ConversationRecord, items: Sequence[Item]
) -> None:
    async with db.transaction():
        try:
            await db.execute(
                "INSERT INTO conversations (id, owner, created_at, active_at, metadata) VALUES (%s, %s, %s, %s, %s)",
                (record.id, record.owner, record.created_at, record.created_at, dumps(dict(record.metadata))),
            )
        except UniqueViolation:
            raise ValueError(f"conversation {record.id!r} exists already") from None
        if items:
            # Creation is the activity that counts: the first items do not make it younger.
            await append_items(db, record.owner, record.id, items, touch=False)


async def get_conversation(
    db: AsyncConnection[Any], owner: str, conversation_id: str
) -> ConversationRecord | None:
    cursor = await db.execute(
        "SELECT id, owner, created_at, metadata FROM conversations WHERE id = %s AND owner = %s",
        (conversation_id, owner),
    )
    row = await cursor.fetchone()
    return _conversation(row) if row is not None else None


async def update_conversation(
    db: AsyncConnection[Any], owner: str, conversation_id: str, metadata: Mapping[str, str]
) -> ConversationRecord | None:
    cursor = await db.execute(
        "UPDATE conversations SET metadata = %s, active_at = %s WHERE id = %s AND owner = %s"
        " RETURNING id, owner, created_at, metadata",
        (dumps(dict(metadata)), time.time(), conversation_id, owner),
    )
    row = await cursor.fetchone()
    return _conversation(row) if row is not None else None


async def delete_conversation(db: AsyncConnection[Any], owner: str, conversation_id: str) -> bool:
    async with db.transaction():
        cursor = await db.execute(
            "DELETE FROM conversations WHERE id = %s AND owner = %s RETURNING id", (conversation_id, owner)
        )
        if await cursor.fetchone() is None:
            return False
        await forget_conversations(db, [(conversation_id, owner)])
        return True


async def forget_conversations(db: AsyncConnection[Any], doomed: Sequence[tuple[str, str]]) -> None:
    """Remove what hangs off conversations already deleted from the ``conversations`` table."""
    if not doomed:
        return
    ids = [cid for cid, _ in doomed]
    owners = [owner for _, owner in doomed]
    await db.execute("DELETE FROM conversation_items WHERE conversation_id = ANY(%s)", (ids,))
    await db.execute(
        "DELETE FROM session_state AS s USING unnest(%s::text[], %s::text[]) AS d(owner, key)"
        " WHERE s.owner = d.owner AND s.key = d.key",
        (owners, [conversation_session_key(cid) for cid in ids]),
    )
    await db.execute(
        "DELETE FROM session_bindings AS b USING unnest(%s::text[], %s::text[]) AS d(owner, conversation_id)"
        " WHERE b.owner = d.owner AND b.conversation_id = d.conversation_id",
        (owners, ids),
    )
    await db.execute("DELETE FROM conversation_turns WHERE conversation_id = ANY(%s)", (ids,))


async def append_conversation_items(
    db: AsyncConnection[Any], owner: str, conversation_id: str, items: Sequence[Item]
) -> bool:
    async with db.transaction():
        return await append_items(db, owner, conversation_id, items) is not None


async def _owns(db: AsyncConnection[Any], owner: str, conversation_id: str) -> bool:
    cursor = await db.execute(
        "SELECT 1 FROM conversations WHERE id = %s AND owner = %s", (conversation_id, owner)
    )
    return await cursor.fetchone() is not None


async def _position_of(db: AsyncConnection[Any], conversation_id: str, item_id: str) -> int | None:
    cursor = await db.execute(
        "SELECT MIN(position) FROM conversation_items WHERE conversation_id = %s AND item_id = %s",
        (conversation_id, item_id),
    )
    row = await cursor.fetchone()
    return None if row is None or row[0] is None else int(row[0])


async def list_conversation_items(
    db: AsyncConnection[Any],
    decoded: DecodedItems,
    owner: str,
    conversation_id: str,
    after: str | None,
    limit: int | None,
    order: Order,
) -> ItemPage | None:
    # One snapshot for the ownership check, the cursor and the page.
    async with db.transaction():
        await db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        if not await _owns(db, owner, conversation_id):
            return None
        bound: int | None = -1 if order == "asc" else None
        if after is not None:
            bound = await _position_of(db, conversation_id, after)
            if bound is None:
                return ItemPage(items=(), has_more=False)
        clause, direction = (">", "ASC") if order == "asc" else ("<", "DESC")
        where = "conversation_id = %s" + (f" AND position {clause} %s" if bound is not None else "")
        parameters: list[Any] = [conversation_id] if bound is None else [conversation_id, bound]
        # One more than asked tells whether another page exists.
        cursor = await db.execute(
            f"SELECT position, xmin::text, item::text FROM conversation_items WHERE {where}"
            f" ORDER BY position {direction} LIMIT %s",
            [*parameters, None if limit is None else limit + 1],
        )
        rows = await cursor.fetchall()
    items = tuple(
        decoded.decode_one(("item", conversation_id, position, version), text)
        for position, version, text in rows
    )
    if limit is not None and len(items) > limit:
        return ItemPage(items=items[:limit], has_more=True)
    return ItemPage(items=items, has_more=False)


async def get_conversation_item(
    db: AsyncConnection[Any], owner: str, conversation_id: str, item_id: str
) -> Item | None:
    cursor = await db.execute(
        "SELECT i.item FROM conversation_items AS i JOIN conversations AS c ON c.id = i.conversation_id"
        " WHERE c.id = %s AND c.owner = %s AND i.item_id = %s ORDER BY i.position LIMIT 1",
        (conversation_id, owner, item_id),
    )
    row = await cursor.fetchone()
    return item_from_dict(row[0]) if row is not None else None


async def delete_conversation_item(
    db: AsyncConnection[Any], owner: str, conversation_id: str, item_id: str
) -> bool:
    async with db.transaction():
        if not await _owns(db, owner, conversation_id):
            return False
        cursor = await db.execute(
            "DELETE FROM conversation_items WHERE conversation_id = %(id)s AND position = (SELECT MIN(position)"
            " FROM conversation_items WHERE conversation_id = %(id)s AND item_id = %(item)s) RETURNING 1",
            {"id": conversation_id, "item": item_id},
        )
        if await cursor.fetchone() is None:
            return False
        await db.execute(
            "UPDATE conversations SET active_at = %s WHERE id = %s", (time.time(), conversation_id)
        )
        return True
