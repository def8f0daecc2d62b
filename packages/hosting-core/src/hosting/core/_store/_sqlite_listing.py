"""The SQLite store's listings by owner, and items found by id."""

from __future__ import annotations

import sqlite3
from typing import Any

from .._records import ConversationPage, ConversationRecord, Order, ResponsePage
from .._types import Item
from ._codec import item_from_json, loads, response_from_row


def _cursor(db: sqlite3.Connection, table: str, owner: str, after: str | None) -> tuple[float, str] | None:
    row = db.execute(
        f"SELECT created_at, id FROM {table} WHERE id = ? AND owner = ?", (after, owner)
    ).fetchone()
    return (float(row[0]), str(row[1])) if row is not None else None


def _page_clause(order: Order, cursor: tuple[float, str] | None, limit: int | None) -> tuple[str, list[Any]]:
    """The keyset condition, order and limit of a page (`cursor`: the last row of the page before)."""
    parameters: list[Any] = []
    clause = ""
    if cursor is not None:
        clause = " AND (created_at, id) > (?, ?)" if order == "asc" else " AND (created_at, id) < (?, ?)"
        parameters += cursor
    direction = "ASC" if order == "asc" else "DESC"
    clause += f" ORDER BY created_at {direction}, id {direction}"
    if limit is not None:
        clause += " LIMIT ?"
        parameters.append(limit + 1)  # one more tells whether another page exists
    return clause, parameters


def list_responses(
    db: sqlite3.Connection,
    owner: str,
    conversation_id: str | None,
    channel: str | None,
    after: str | None,
    limit: int | None,
    order: Order,
) -> ResponsePage:
    cursor = None
    if after is not None:
        cursor = _cursor(db, "responses", owner, after)
        if cursor is None:
            return ResponsePage((), False)
    where = "owner = ?"
    parameters: list[Any] = [owner]
    if conversation_id is not None:
        where += " AND conversation_id = ?"
        parameters.append(conversation_id)
    if channel is not None:
        where += " AND json_extract(details, '$.channel') = ?"
        parameters.append(channel)
    clause, more = _page_clause(order, cursor, limit)
    rows = db.execute(f"SELECT * FROM responses WHERE {where}{clause}", [*parameters, *more]).fetchall()
    has_more = limit is not None and len(rows) > limit
    return ResponsePage(tuple(response_from_row(row) for row in rows[:limit]), has_more)


def list_conversations(
    db: sqlite3.Connection, owner: str, after: str | None, limit: int | None, order: Order
) -> ConversationPage:
    cursor = None
    if after is not None:
        cursor = _cursor(db, "conversations", owner, after)
        if cursor is None:
            return ConversationPage((), False)
    clause, more = _page_clause(order, cursor, limit)
    rows = db.execute(
        f"SELECT id, owner, created_at, metadata FROM conversations WHERE owner = ?{clause}", [owner, *more]
    ).fetchall()
    has_more = limit is not None and len(rows) > limit
    records = tuple(
        ConversationRecord(row["id"], row["owner"], row["created_at"], loads(row["metadata"]))
        for row in rows[:limit]
    )
    return ConversationPage(records, has_more)


def find_item(db: sqlite3.Connection, owner: str, item_id: str) -> Item | None:
    row = db.execute(
        "SELECT i.item FROM conversation_items AS i JOIN conversations AS c ON c.id = i.conversation_id"
        " WHERE i.item_id = ? AND c.owner = ? ORDER BY i.position LIMIT 1",
        (item_id, owner),
    ).fetchone()
    if row is not None:
        return item_from_json(row[0])
    # Items of responses live in their rows' JSON arrays: the owner's responses, newest first.
    row = db.execute(
        "SELECT j.value FROM responses AS r, json_each(r.output_items) AS j"
        " WHERE r.owner = ? AND json_extract(j.value, '$.id') = ?"
        " UNION ALL SELECT j.value FROM responses AS r, json_each(r.input_items) AS j"
        " WHERE r.owner = ? AND json_extract(j.value, '$.id') = ? LIMIT 1",
        (owner, item_id, owner, item_id),
    ).fetchone()
    return item_from_json(row[0]) if row is not None else None
