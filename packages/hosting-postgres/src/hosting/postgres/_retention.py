"""Retention for the PostgreSQL store: what expires, in small transactions.

A purge runs in batches, each its own short transaction, so no replica holds
locks on many rows at once; `FOR UPDATE SKIP LOCKED` lets two replicas purge at
the same time without waiting for each other or removing a row twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from ._conversations import forget_conversations
from ._responses import forget_responses


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Limits a purge enforces; None disables a limit."""

    ttl: float | None
    max_responses: int | None
    max_conversations: int | None
    batch: int = 500


async def _rows(db: AsyncConnection[Any], query: str, parameters: tuple[Any, ...]) -> list[tuple[str, str]]:
    cursor = await db.execute(query, parameters)
    return [(str(rid), str(owner)) for rid, owner in await cursor.fetchall()]


async def purge_batch(db: AsyncConnection[Any], policy: RetentionPolicy) -> int:
    """Remove up to one batch of expired responses and of conversations; return how many went.

    A result of 0 means nothing is left to purge.
    """
    cutoff = time.time() - policy.ttl if policy.ttl is not None else None
    async with db.transaction():
        responses: list[tuple[str, str]] = []
        conversations: list[tuple[str, str]] = []
        if cutoff is not None:
            responses += await _rows(
                db,
                "SELECT id, owner FROM responses WHERE finished AND COALESCE(completed_at, created_at) < %s"
                " LIMIT %s FOR UPDATE SKIP LOCKED",
                (cutoff, policy.batch),
            )
            conversations += await _rows(
                db,
                "SELECT id, owner FROM conversations WHERE active_at < %s LIMIT %s FOR UPDATE SKIP LOCKED",
                (cutoff, policy.batch),
            )
        if policy.max_responses is not None and not responses:
            # Everything past the newest `max_responses` finished ones.
            responses += await _rows(
                db,
                "SELECT id, owner FROM responses WHERE finished ORDER BY created_at DESC LIMIT %s OFFSET %s"
                " FOR UPDATE SKIP LOCKED",
                (policy.batch, policy.max_responses),
            )
        if policy.max_conversations is not None and not conversations:
            conversations += await _rows(
                db,
                "SELECT id, owner FROM conversations ORDER BY active_at DESC LIMIT %s OFFSET %s"
                " FOR UPDATE SKIP LOCKED",
                (policy.batch, policy.max_conversations),
            )
        if responses:
            await db.execute("DELETE FROM responses WHERE id = ANY(%s)", ([rid for rid, _ in responses],))
            await forget_responses(db, responses)
        if conversations:
            await db.execute(
                "DELETE FROM conversations WHERE id = ANY(%s)", ([cid for cid, _ in conversations],)
            )
            await forget_conversations(db, conversations)
    return len(responses) + len(conversations)


async def purge_loose_ends(db: AsyncConnection[Any], policy: RetentionPolicy) -> None:
    """Expire session state no response or conversation holds on to, and old idempotency keys."""
    if policy.ttl is None:
        return
    cutoff = time.time() - policy.ttl
    async with db.transaction():
        await db.execute(
            """
            DELETE FROM session_state AS s WHERE s.updated_at < %(cutoff)s
            AND NOT (left(s.key, 9) = 'response:' AND EXISTS (
                SELECT 1 FROM responses AS r WHERE r.id = substr(s.key, 10) AND r.owner = s.owner))
            AND NOT (left(s.key, 13) = 'conversation:' AND EXISTS (
                SELECT 1 FROM conversations AS c WHERE c.id = substr(s.key, 14) AND c.owner = s.owner))
            """,
            {"cutoff": cutoff},
        )
        await db.execute("DELETE FROM idempotency_keys WHERE created_at < %s", (cutoff,))
