"""The SQLite store's context reads: a chain's history and a conversation's whole listing.

Both are read at the start of every turn, so both go through the connection's
`ContextCache` (see `_context_cache.py`): a repeated read decodes nothing, and
turn N of a chain whose turn N-1 is cached reads one row, its own. Only a cold
read walks the chain, in one recursive statement.

The cache trusts what this connection wrote; ``PRAGMA data_version`` (which
changes only when another connection commits) tells it when someone else wrote,
and then it starts over. The first look happens outside any transaction, so a
hit costs one cheap statement; a miss looks again inside its read transaction,
after that transaction's snapshot began, so what it combines from the cache and
from the file is one consistent state.

Like every operation of the store, these run on its worker thread.
"""

from __future__ import annotations

import sqlite3

from .._records import ItemPage
from .._types import Item
from ._codec import item_from_json, items_from_json
from ._context_cache import ContextCache
from ._sqlite_transaction import transaction

_ROW = (
    "SELECT previous_response_id, depth, finished, input_items, output_items"
    " FROM responses WHERE id = ? AND owner = ?"
)

# The ancestors of a response, oldest first, in one statement however long the chain: each
# recursive step is a primary-key lookup inside SQLite, not a round trip from Python. Steps go to
# strictly smaller depths only (depths are fixed at insert), so even a cycle made by hand ends.
_ANCESTORS = """
    WITH RECURSIVE chain (previous_response_id, depth, finished, input_items, output_items) AS (
        SELECT previous_response_id, depth, finished, input_items, output_items
        FROM responses WHERE id = :id AND owner = :owner AND depth < :below
        UNION ALL
        SELECT r.previous_response_id, r.depth, r.finished, r.input_items, r.output_items
        FROM chain JOIN responses AS r ON r.id = chain.previous_response_id
        WHERE r.owner = :owner AND r.depth < chain.depth
    )
    SELECT finished, input_items, output_items FROM chain ORDER BY depth ASC
"""


def observe(db: sqlite3.Connection, cache: ContextCache) -> None:
    """Drop the cache if another connection committed since the last look."""
    cache.observe(db.execute("PRAGMA data_version").fetchone()[0])


def get_history(
    db: sqlite3.Connection, cache: ContextCache, owner: str, response_id: str
) -> tuple[Item, ...] | None:
    observe(db, cache)
    cached = cache.chain(owner, response_id)
    if cached is not None:
        return cached.items
    with transaction(db, write=False):
        row = db.execute(_ROW, (response_id, owner)).fetchone()
        if row is None:
            return None
        observe(db, cache)
        previous, depth, finished, input_json, output_json = row
        own = items_from_json(input_json) + items_from_json(output_json)
        complete = bool(finished)  # every response of the chain finished: it cannot change
        parent = cache.chain(owner, previous) if previous is not None else None
        if previous is None:
            items = own
        elif parent is not None:
            # A cached chain exists, is the owner's and is finished throughout; the walk would
            # step to it only at a smaller depth, as `_ANCESTORS` does.
            items = parent.items + own if parent.depth < depth else own
        else:
            earlier: list[Item] = []
            for ancestor_finished, ancestor_input, ancestor_output in db.execute(
                _ANCESTORS, {"id": previous, "owner": owner, "below": depth}
            ):
                complete = complete and bool(ancestor_finished)
                earlier.extend(items_from_json(ancestor_input))
                earlier.extend(items_from_json(ancestor_output))
            items = (*earlier, *own)
    if complete:
        cache.keep_chain(owner, response_id, items, depth=int(depth))
    return items


def list_whole_conversation(
    db: sqlite3.Connection, cache: ContextCache, owner: str, conversation_id: str
) -> ItemPage | None:
    """Every item of a conversation, oldest first (what a turn reads as its history)."""
    observe(db, cache)
    cached = cache.listing(owner, conversation_id)
    if cached is not None:
        return ItemPage(items=cached.items, has_more=False)
    with transaction(db, write=False):
        row = db.execute(
            "SELECT next_position FROM conversations WHERE id = ? AND owner = ?", (conversation_id, owner)
        ).fetchone()
        if row is None:
            return None
        observe(db, cache)
        rows = db.execute(
            "SELECT item FROM conversation_items WHERE conversation_id = ? ORDER BY position",
            (conversation_id,),
        ).fetchall()
    items = tuple(item_from_json(text) for (text,) in rows)
    cache.keep_listing(owner, conversation_id, items, int(row[0]))
    return ItemPage(items=items, has_more=False)
