"""The PostgreSQL store's one-time tokens, seen keys and delivery failures."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation

from hosting.core.stores import DeliveryFailure, Token

from ._codec import dumps, items_from_data, items_to_json


async def put_token(
    db: AsyncConnection[Any], namespace: str, token: str, owner: str, data: Mapping[str, Any], ttl: float
) -> None:
    moment = time.time()
    async with db.transaction():
        await db.execute(
            "DELETE FROM tokens WHERE namespace = %s AND token = %s AND expires_at <= %s",
            (namespace, token, moment),
        )
        try:
            await db.execute(
                "INSERT INTO tokens (namespace, token, owner, data, expires_at) VALUES (%s, %s, %s, %s, %s)",
                (namespace, token, owner, dumps(dict(data)), moment + ttl),
            )
        except UniqueViolation:
            raise ValueError(f"token exists already in {namespace!r}") from None


async def take_token(db: AsyncConnection[Any], namespace: str, token: str) -> Token | None:
    # A DELETE takes the row once: of concurrent takes, one gets it and the others find nothing.
    cursor = await db.execute(
        "DELETE FROM tokens WHERE namespace = %s AND token = %s RETURNING owner, data, expires_at",
        (namespace, token),
    )
    row = await cursor.fetchone()
    if row is None or float(row[2]) <= time.time():
        return None
    return Token(str(row[0]), row[1])


async def remember(db: AsyncConnection[Any], namespace: str, key: str, ttl: float) -> bool:
    moment = time.time()
    async with db.transaction():
        await db.execute(
            "DELETE FROM seen_keys WHERE namespace = %s AND key = %s AND expires_at <= %s",
            (namespace, key, moment),
        )
        cursor = await db.execute(
            "INSERT INTO seen_keys (namespace, key, expires_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (namespace, key) DO NOTHING RETURNING 1",
            (namespace, key, moment + ttl),
        )
        return await cursor.fetchone() is not None


async def add_delivery_failure(db: AsyncConnection[Any], failure: DeliveryFailure) -> None:
    await db.execute(
        "INSERT INTO delivery_failures (id, owner, channel, address, items, error, attempts, failed_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner,"
        " channel = EXCLUDED.channel, address = EXCLUDED.address, items = EXCLUDED.items,"
        " error = EXCLUDED.error, attempts = EXCLUDED.attempts, failed_at = EXCLUDED.failed_at",
        (
            failure.id,
            failure.owner,
            failure.channel,
            failure.address,
            items_to_json(failure.items),
            failure.error,
            failure.attempts,
            failure.failed_at,
        ),
    )


async def list_delivery_failures(
    db: AsyncConnection[Any], owner: str | None, limit: int | None
) -> tuple[DeliveryFailure, ...]:
    cursor = await db.execute(
        "SELECT id, owner, channel, address, items, error, attempts, failed_at FROM delivery_failures"
        " WHERE %(owner)s::text IS NULL OR owner = %(owner)s ORDER BY failed_at DESC, id DESC LIMIT %(limit)s",
        {"owner": owner, "limit": limit},
    )
    return tuple(
        DeliveryFailure(
            str(row[0]),
            str(row[1]),
            str(row[2]),
            str(row[3]),
            items_from_data(row[4]),
            str(row[5]),
            int(row[6]),
            float(row[7]),
        )
        for row in await cursor.fetchall()
    )


async def purge_ledger(db: AsyncConnection[Any]) -> None:
    """Drop expired tokens and seen keys."""
    moment = time.time()
    await db.execute("DELETE FROM tokens WHERE expires_at <= %s", (moment,))
    await db.execute("DELETE FROM seen_keys WHERE expires_at <= %s", (moment,))
