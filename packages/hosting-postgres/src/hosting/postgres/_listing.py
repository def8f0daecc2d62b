"""The PostgreSQL store's listings by owner, and items found by id."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from hosting.core import Item
from hosting.core.stores import ConversationPage, ConversationRecord, Order, ResponsePage, item_from_dict

from ._codec import RESPONSE_COLUMNS, response_from_row


async def _cursor(db: AsyncConnection[Any], table: str, owner: str, after: str) -> tuple[float, str] | None:
    cursor = await db.execute(
        f"SELECT created_at, id FROM {table} WHERE id = %s AND owner = %s",
        (after, owner),
    )
    row = await cursor.fetchone()
    return (float(row[0]), str(row[1])) if row is not None else None


def _page_clause(order: Order, cursor: tuple[float, str] | None, limit: int | None) -> tuple[str, list[Any]]:
    """The keyset condition, order and limit of a page (`cursor`: the last row of the page before)."""
    parameters: list[Any] = []
    clause = ""
    if cursor is not None:
        clause = " AND (created_at, id) > (%s, %s)" if order == "asc" else " AND (created_at, id) < (%s, %s)"
        parameters += cursor
    direction = "ASC" if order == "asc" else "DESC"
    clause += f" ORDER BY created_at {direction}, id {direction}"
    if limit is not None:
        clause += " LIMIT %s"
        parameters.append(limit + 1)  # one more tells whether another page exists
    return clause, parameters


async def list_responses(
    db: AsyncConnection[Any],
    owner: str,
    conversation_id: str | None,
    channel: str | None,
    after: str | None,
    limit: int | None,
    order: Order,
) -> ResponsePage:
    cursor = None
    if after is not None:
        cursor = await _cursor(db, "responses", owner, after)
        if cursor is None:
            return ResponsePage((), False)
    where = "owner = %s"
    parameters: list[Any] = [owner]
    if conversation_id is not None:
        where += " AND conversation_id = %s"
        parameters.append(conversation_id)
    if channel is not None:
        where += " AND details->>'channel' = %s"
        parameters.append(channel)
    clause, more = _page_clause(order, cursor, limit)
    result = await db.execute(
        f"SELECT {RESPONSE_COLUMNS} FROM responses WHERE {where}{clause}",
        [*parameters, *more],
    )
    rows = await result.fetchall()
    has_more = limit is not None and len(rows) > limit
    return ResponsePage(tuple(response_from_row(row) for row in rows[:limit]), has_more)


async def list_conversations(
    db: AsyncConnection[Any], owner: str, after: str | None, limit: int | None, order: Order
) -> ConversationPage:
    cursor = None
    if after is not None:
        cursor = await _cursor(db, "conversations", owner, after)
        if cursor is None:
            return ConversationPage((), False)
    clause, more = _page_clause(order, cursor, limit)
    result = await db.execute(
        f"SELECT id, owner, created_at, metadata FROM conversations WHERE owner = %s{clause}",
        [owner, *more],
    )
    rows = await result.fetchall()
    has_more = limit is not None and len(rows) > limit
    return ConversationPage(tuple(ConversationRecord(*row) for row in rows[:limit]), has_more)


async def find_item(db: AsyncConnection[Any], owner: str, item_id: str) -> Item | None:
    cursor = await db.execute(
        "SELECT i.item FROM conversation_items AS i JOIN conversations AS c ON c.id = i.conversation_id"
        " WHERE i.item_id = %s AND c.owner = %s ORDER BY i.position LIMIT 1",
        (item_id, owner),
    )
    row = await cursor.fetchone()
    if row is not None:
        return item_from_dict(row[0])
    # Items of responses live in their rows' JSON arrays.
    cursor = await db.execute(
        "(SELECT j.value FROM responses AS r, json_array_elements(r.output_items) AS j"
        " WHERE r.owner = %(owner)s AND j.value->>'id' = %(id)s LIMIT 1)"
        " UNION ALL (SELECT j.value FROM responses AS r, json_array_elements(r.input_items) AS j"
        " WHERE r.owner = %(owner)s AND j.value->>'id' = %(id)s LIMIT 1) LIMIT 1",
        {"owner": owner, "id": item_id},
    )
    row = await cursor.fetchone()
    return item_from_dict(row[0]) if row is not None else None
