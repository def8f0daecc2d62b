"""Retention for the SQLite store: what expires, in small transactions.

A purge runs in batches, each its own short write transaction, so the store's
worker thread serves requests between batches instead of stalling behind one
long delete.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from .._records import now
from ._context_cache import ContextCache
from ._sqlite_queries import forget_conversations, forget_responses
from ._sqlite_transaction import transaction


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Limits a purge enforces; None disables a limit."""

    ttl: float | None
    max_responses: int | None
    max_conversations: int | None
    batch: int = 500


def purge_batch(db: sqlite3.Connection, cache: ContextCache, policy: RetentionPolicy) -> int:
    """Remove up to one batch of expired responses and of conversations; return how many went.

    A result of 0 means nothing is left to purge.
    """
    cutoff = now() - policy.ttl if policy.ttl is not None else None
    with transaction(db):
        responses: list[tuple[str, str]] = []
        conversations: list[tuple[str, str]] = []
        if cutoff is not None:
            responses += db.execute(
                "SELECT id, owner FROM responses WHERE finished = 1"
                " AND COALESCE(completed_at, created_at) < ? LIMIT ?",
                (cutoff, policy.batch),
            ).fetchall()
            conversations += db.execute(
                "SELECT id, owner FROM conversations WHERE active_at < ? LIMIT ?", (cutoff, policy.batch)
            ).fetchall()
        if policy.max_responses is not None and not responses:
            # Everything past the newest `max_responses` finished ones.
            responses += db.execute(
                "SELECT id, owner FROM responses WHERE finished = 1 ORDER BY created_at DESC LIMIT ? OFFSET ?",
                (policy.batch, policy.max_responses),
            ).fetchall()
        if policy.max_conversations is not None and not conversations:
            conversations += db.execute(
                "SELECT id, owner FROM conversations ORDER BY active_at DESC LIMIT ? OFFSET ?",
                (policy.batch, policy.max_conversations),
            ).fetchall()
        responses = [(str(rid), str(owner)) for rid, owner in responses]
        conversations = [(str(cid), str(owner)) for cid, owner in conversations]
        db.executemany("DELETE FROM responses WHERE id = ?", [(rid,) for rid, _ in responses])
        forget_responses(db, cache, responses)
        db.executemany("DELETE FROM conversations WHERE id = ?", [(cid,) for cid, _ in conversations])
        forget_conversations(db, cache, conversations)
    return len(responses) + len(conversations)


def purge_loose_ends(db: sqlite3.Connection, policy: RetentionPolicy) -> None:
    """Expire session state no response or conversation holds on to, and old idempotency keys."""
    if policy.ttl is None:
        return
    cutoff = now() - policy.ttl
    with transaction(db):
        # substr() leaves the parent's id bare, so the EXISTS checks are primary-key lookups.
        db.execute(
            """
            DELETE FROM session_state WHERE updated_at < :cutoff
            AND NOT (substr(key, 1, 9) = 'response:' AND EXISTS (
                SELECT 1 FROM responses AS r WHERE r.id = substr(session_state.key, 10)
                AND r.owner = session_state.owner))
            AND NOT (substr(key, 1, 13) = 'conversation:' AND EXISTS (
                SELECT 1 FROM conversations AS c WHERE c.id = substr(session_state.key, 14)
                AND c.owner = session_state.owner))
            """,
            {"cutoff": cutoff},
        )
        db.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (cutoff,))
