"""The SQLite store's one-time tokens, seen keys and delivery failures."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from .._records import DeliveryFailure, Token, now
from ._codec import dumps, items_from_json, items_to_json, loads
from ._sqlite_transaction import transaction


def put_token(
    db: sqlite3.Connection, namespace: str, token: str, owner: str, data: Mapping[str, Any], ttl: float
) -> None:
    moment = now()
    with transaction(db):
        db.execute(
            "DELETE FROM tokens WHERE namespace = ? AND token = ? AND expires_at <= ?",
            (namespace, token, moment),
        )
        try:
            db.execute(
                "INSERT INTO tokens (namespace, token, owner, data, expires_at) VALUES (?, ?, ?, ?, ?)",
                (namespace, token, owner, dumps(dict(data)), moment + ttl),
            )
        except sqlite3.IntegrityError:
            raise ValueError(f"token exists already in {namespace!r}") from None


def take_token(db: sqlite3.Connection, namespace: str, token: str) -> Token | None:
    with transaction(db):
        row = db.execute(
            "DELETE FROM tokens WHERE namespace = ? AND token = ? RETURNING owner, data, expires_at",
            (namespace, token),
        ).fetchone()
    if row is None or float(row[2]) <= now():
        return None
    return Token(str(row[0]), loads(row[1]))


def remember(db: sqlite3.Connection, namespace: str, key: str, ttl: float) -> bool:
    moment = now()
    with transaction(db):
        db.execute(
            "DELETE FROM seen_keys WHERE namespace = ? AND key = ? AND expires_at <= ?",
            (namespace, key, moment),
        )
        cursor = db.execute(
            "INSERT OR IGNORE INTO seen_keys (namespace, key, expires_at) VALUES (?, ?, ?)",
            (namespace, key, moment + ttl),
        )
    return cursor.rowcount == 1


def add_delivery_failure(db: sqlite3.Connection, failure: DeliveryFailure) -> None:
    with transaction(db):
        db.execute(
            "INSERT OR REPLACE INTO delivery_failures"
            " (id, owner, channel, address, items, error, attempts, failed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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


def list_delivery_failures(
    db: sqlite3.Connection, owner: str | None, limit: int | None
) -> tuple[DeliveryFailure, ...]:
    where, parameters = ("WHERE owner = ?", [owner]) if owner is not None else ("", [])
    rows = db.execute(
        f"SELECT id, owner, channel, address, items, error, attempts, failed_at FROM delivery_failures {where}"
        " ORDER BY failed_at DESC, id DESC LIMIT ?",
        [*parameters, -1 if limit is None else limit],
    ).fetchall()
    return tuple(
        DeliveryFailure(
            str(row[0]),
            str(row[1]),
            str(row[2]),
            str(row[3]),
            items_from_json(row[4]),
            str(row[5]),
            int(row[6]),
            float(row[7]),
        )
        for row in rows
    )


def purge_ledger(db: sqlite3.Connection) -> None:
    """Drop expired tokens and seen keys."""
    moment = now()
    with transaction(db):
        db.execute("DELETE FROM tokens WHERE expires_at <= ?", (moment,))
        db.execute("DELETE FROM seen_keys WHERE expires_at <= ?", (moment,))
