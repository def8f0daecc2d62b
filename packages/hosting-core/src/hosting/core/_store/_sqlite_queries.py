"""The SQLite store's operations on responses and conversations, as plain functions of a connection.

They run on the store's worker thread (see `_sqlite.py`), never on the event
loop. Each is one transaction (`_sqlite_transaction.py`). Session state, event
logs, idempotency keys and identity links are in `_sqlite_state.py`.

Writes that change what a context read returns keep the connection's
`ContextCache` true: they drop what they invalidate (early is safe), and extend
a cached conversation only after their transaction ended, so the cache never
holds what a rollback took back. The context reads are in `_sqlite_context.py`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from .._records import (
    ConversationRecord,
    ItemPage,
    Order,
    ResponseRecord,
    StoredEvent,
    conversation_session_key,
    now,
    response_session_key,
)
from .._types import Item
from ._codec import (
    dumps,
    item_from_json,
    item_to_json,
    loads,
    response_from_row,
    response_row,
)
from ._context_cache import ContextCache
from ._sqlite_state import write_run_events, write_session_state
from ._sqlite_transaction import transaction

# A response's depth is one more than its parent's, looked up in the insert itself. It is fixed
# then: an update keeps it, so the walk in `_sqlite_context.get_history` always ends.
_DEPTH = (
    "COALESCE((SELECT p.depth + 1 FROM responses AS p"
    " WHERE p.id = :previous_response_id AND p.owner = :owner), 0)"
)


# -- responses -------------------------------------------------------------------------------------


def create_response(db: sqlite3.Connection, record: ResponseRecord) -> None:
    with transaction(db):
        try:
            _insert_response(db, record)
        except sqlite3.IntegrityError:
            raise ValueError(f"response {record.id!r} exists already") from None


def _insert_response(
    db: sqlite3.Connection, record: ResponseRecord, row: dict[str, Any] | None = None
) -> None:
    db.execute(
        "INSERT INTO responses (id, owner, created_at, status, finished, previous_response_id, depth,"
        " conversation_id, completed_at, input_items, output_items, details, runner) VALUES (:id, :owner,"
        f" :created_at, :status, :finished, :previous_response_id, {_DEPTH}, :conversation_id,"
        " :completed_at, :input_items, :output_items, :details, :runner)",
        row if row is not None else response_row(record),
    )


def _write_response(db: sqlite3.Connection, row: dict[str, Any]) -> bool:
    cursor = db.execute(
        "UPDATE responses SET created_at = :created_at, status = :status, finished = :finished,"
        " previous_response_id = :previous_response_id, conversation_id = :conversation_id,"
        " completed_at = :completed_at, input_items = :input_items, output_items = :output_items,"
        " details = :details, runner = :runner WHERE id = :id AND owner = :owner AND finished = 0",
        row,
    )
    return cursor.rowcount == 1


def _create_or_write(db: sqlite3.Connection, record: ResponseRecord, row: dict[str, Any]) -> bool:
    """Insert a record expected to be new; if its id is stored, update it (when it is the owner's)."""
    try:
        _insert_response(db, record, row)
    except sqlite3.IntegrityError:
        return _write_response(db, row)
    return True


def update_response(
    db: sqlite3.Connection,
    cache: ContextCache,
    record: ResponseRecord,
    append_to_conversation: bool,
    session_state: tuple[str, Mapping[str, Any]] | None,
    events: Sequence[StoredEvent] = (),
    create: bool = False,
) -> bool:
    appended = record.input_items + record.output_items
    if create and not events and not append_to_conversation and session_state is None:
        # A new record and nothing else (an inline run's end, the common stored write): one
        # INSERT, atomic by itself, so no savepoint of its own in the worker's batch (two more
        # statements, and two more hand-offs of the GIL, per write). No cached chain can hold
        # a response that was not stored yet.
        try:
            _insert_response(db, record)
            return True
        except sqlite3.IntegrityError:
            pass  # the id is stored already: rewrite it the careful way, below
    start: int | None = None
    with transaction(db):
        row = response_row(record)
        if not (_create_or_write(db, record, row) if create else _write_response(db, row)):
            return False  # gone (or, with create, the id is another owner's)
        if events:
            write_run_events(db, record.id, events, finishing=record.finished)
        if append_to_conversation and record.conversation_id:
            start = _append_items(db, record.owner, record.conversation_id, appended)
        if session_state is not None:
            write_session_state(db, record.owner, *session_state)
    if start is not None and record.conversation_id:
        cache.appended(record.owner, record.conversation_id, start, appended)
    return True


def get_response(db: sqlite3.Connection, owner: str, response_id: str) -> ResponseRecord | None:
    row = db.execute("SELECT * FROM responses WHERE id = ? AND owner = ?", (response_id, owner)).fetchone()
    return response_from_row(row) if row is not None else None


def delete_response(db: sqlite3.Connection, cache: ContextCache, owner: str, response_id: str) -> bool:
    with transaction(db):
        cursor = db.execute("DELETE FROM responses WHERE id = ? AND owner = ?", (response_id, owner))
        if cursor.rowcount != 1:
            return False
        forget_responses(db, cache, [(response_id, owner)])
        return True


def forget_responses(db: sqlite3.Connection, cache: ContextCache, doomed: Sequence[tuple[str, str]]) -> None:
    """Remove what hangs off responses already deleted from the ``responses`` table."""
    for owner in {owner for _, owner in doomed}:
        cache.forget_chains(owner)  # every chain through a doomed response now stops after it
    db.executemany("DELETE FROM run_log_chunks WHERE response_id = ?", [(rid,) for rid, _ in doomed])
    db.executemany(
        "DELETE FROM session_state WHERE owner = ? AND key = ?",
        [(owner, response_session_key(rid)) for rid, owner in doomed],
    )
    db.executemany(
        "DELETE FROM idempotency_keys WHERE owner = ? AND response_id = ?", [(o, r) for r, o in doomed]
    )


# -- conversations ---------------------------------------------------------------------------------


def _append_items(
    db: sqlite3.Connection, owner: str, conversation_id: str, items: Sequence[Item]
) -> int | None:
    """Append within the caller's write transaction; positions continue the conversation's counter.

    Returns the position of the first item appended, or None when the conversation is gone.
    """
    row = db.execute(
        "SELECT next_position FROM conversations WHERE id = ? AND owner = ?", (conversation_id, owner)
    ).fetchone()
    if row is None:
        return None
    start = int(row[0])
    db.executemany(
        "INSERT INTO conversation_items (conversation_id, position, item_id, item) VALUES (?, ?, ?, ?)",
        [(conversation_id, start + offset, item.id, item_to_json(item)) for offset, item in enumerate(items)],
    )
    db.execute(
        "UPDATE conversations SET next_position = ?, active_at = ? WHERE id = ?",
        (start + len(items), now(), conversation_id),
    )
    return start


def _conversation_from_row(row: sqlite3.Row) -> ConversationRecord:
    return ConversationRecord(row["id"], row["owner"], row["created_at"], loads(row["metadata"]))


def create_conversation(
    db: sqlite3.Connection, cache: ContextCache, record: ConversationRecord, items: Sequence[Item]
) -> None:
    cache.forget_listing(record.owner, record.id)  # a new id has none; a reused one must not keep it
    with transaction(db):
        try:
            db.execute(
                "INSERT INTO conversations (id, owner, created_at, active_at, metadata) VALUES (?, ?, ?, ?, ?)",
                (record.id, record.owner, record.created_at, record.created_at, dumps(dict(record.metadata))),
            )
        except sqlite3.IntegrityError:
            raise ValueError(f"conversation {record.id!r} exists already") from None
        if items:
            _append_items(db, record.owner, record.id, items)
            # Creation is the activity that counts; the append above must not make it younger.
            db.execute("UPDATE conversations SET active_at = created_at WHERE id = ?", (record.id,))


def get_conversation(db: sqlite3.Connection, owner: str, conversation_id: str) -> ConversationRecord | None:
    row = db.execute(
        "SELECT id, owner, created_at, metadata FROM conversations WHERE id = ? AND owner = ?",
        (conversation_id, owner),
    ).fetchone()
    return _conversation_from_row(row) if row is not None else None


def update_conversation(
    db: sqlite3.Connection, owner: str, conversation_id: str, metadata: Mapping[str, str]
) -> ConversationRecord | None:
    with transaction(db):
        cursor = db.execute(
            "UPDATE conversations SET metadata = ?, active_at = ? WHERE id = ? AND owner = ?",
            (dumps(dict(metadata)), now(), conversation_id, owner),
        )
        if cursor.rowcount != 1:
            return None
        return get_conversation(db, owner, conversation_id)


def delete_conversation(
    db: sqlite3.Connection, cache: ContextCache, owner: str, conversation_id: str
) -> bool:
    with transaction(db):
        cursor = db.execute("DELETE FROM conversations WHERE id = ? AND owner = ?", (conversation_id, owner))
        if cursor.rowcount != 1:
            return False
        forget_conversations(db, cache, [(conversation_id, owner)])
        return True


def forget_conversations(
    db: sqlite3.Connection, cache: ContextCache, doomed: Sequence[tuple[str, str]]
) -> None:
    """Remove what hangs off conversations already deleted from the ``conversations`` table."""
    for conversation_id, owner in doomed:
        cache.forget_listing(owner, conversation_id)
    db.executemany("DELETE FROM conversation_items WHERE conversation_id = ?", [(cid,) for cid, _ in doomed])
    db.executemany(
        "DELETE FROM session_state WHERE owner = ? AND key = ?",
        [(owner, conversation_session_key(cid)) for cid, owner in doomed],
    )
    db.executemany(
        "DELETE FROM session_bindings WHERE owner = ? AND conversation_id = ?", [(o, c) for c, o in doomed]
    )


def append_conversation_items(
    db: sqlite3.Connection, cache: ContextCache, owner: str, conversation_id: str, items: Sequence[Item]
) -> bool:
    with transaction(db):
        start = _append_items(db, owner, conversation_id, items)
    if start is None:
        return False
    cache.appended(owner, conversation_id, start, items)
    return True


def _owns_conversation(db: sqlite3.Connection, owner: str, conversation_id: str) -> bool:
    row = db.execute("SELECT 1 FROM conversations WHERE id = ? AND owner = ?", (conversation_id, owner))
    return row.fetchone() is not None


def _position_of(db: sqlite3.Connection, conversation_id: str, item_id: str) -> int | None:
    row = db.execute(
        "SELECT MIN(position) FROM conversation_items WHERE conversation_id = ? AND item_id = ?",
        (conversation_id, item_id),
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def list_conversation_items(
    db: sqlite3.Connection,
    owner: str,
    conversation_id: str,
    after: str | None,
    limit: int | None,
    order: Order,
) -> ItemPage | None:
    with transaction(db, write=False):
        if not _owns_conversation(db, owner, conversation_id):
            return None
        bound = -1 if order == "asc" else None
        if after is not None:
            bound = _position_of(db, conversation_id, after)
            if bound is None:
                return ItemPage(items=(), has_more=False)
        clause, direction = (">", "ASC") if order == "asc" else ("<", "DESC")
        where = "conversation_id = ?" + (f" AND position {clause} ?" if bound is not None else "")
        parameters: tuple[Any, ...] = (conversation_id,) if bound is None else (conversation_id, bound)
        # One more than asked tells whether another page exists.
        fetch = -1 if limit is None else limit + 1
        rows = db.execute(
            f"SELECT item FROM conversation_items WHERE {where} ORDER BY position {direction} LIMIT ?",
            (*parameters, fetch),
        ).fetchall()
    items = tuple(item_from_json(row[0]) for row in rows)
    if limit is not None and len(items) > limit:
        return ItemPage(items=items[:limit], has_more=True)
    return ItemPage(items=items, has_more=False)


def get_conversation_item(
    db: sqlite3.Connection, owner: str, conversation_id: str, item_id: str
) -> Item | None:
    row = db.execute(
        "SELECT i.item FROM conversation_items AS i JOIN conversations AS c ON c.id = i.conversation_id"
        " WHERE c.id = ? AND c.owner = ? AND i.item_id = ? ORDER BY i.position LIMIT 1",
        (conversation_id, owner, item_id),
    ).fetchone()
    return item_from_json(row[0]) if row is not None else None


def delete_conversation_item(
    db: sqlite3.Connection, cache: ContextCache, owner: str, conversation_id: str, item_id: str
) -> bool:
    cache.forget_listing(owner, conversation_id)
    with transaction(db):
        if not _owns_conversation(db, owner, conversation_id):
            return False
        position = _position_of(db, conversation_id, item_id)
        if position is None:
            return False
        db.execute(
            "DELETE FROM conversation_items WHERE conversation_id = ? AND position = ?",
            (conversation_id, position),
        )
        db.execute("UPDATE conversations SET active_at = ? WHERE id = ?", (now(), conversation_id))
        return True
