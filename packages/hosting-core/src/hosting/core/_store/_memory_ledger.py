"""The memory store's one-time tokens, seen keys and delivery failures."""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from typing import Any

from .._records import DeliveryFailure, Token


class MemoryLedger:
    """Tokens, seen keys and delivery failures in dicts; mixed into `MemoryStore`.

    Expired entries are dropped when they are next looked at, and by `purge_ledger`.
    """

    def __init__(self, *, max_failures: int = 10_000) -> None:
        self._tokens: dict[tuple[str, str], tuple[Token, float]] = {}
        self._seen: dict[tuple[str, str], float] = {}
        self._failures: list[DeliveryFailure] = []
        self._max_failures = max_failures

    async def put_token(
        self, namespace: str, token: str, *, owner: str, data: Mapping[str, Any], ttl: float
    ) -> None:
        key = (namespace, token)
        held = self._tokens.get(key)
        if held is not None and held[1] > time.time():
            raise ValueError(f"token exists already in {namespace!r}")
        self._tokens[key] = (Token(owner, copy.deepcopy(dict(data))), time.time() + ttl)

    async def take_token(self, namespace: str, token: str) -> Token | None:
        held = self._tokens.pop((namespace, token), None)
        if held is None or held[1] <= time.time():
            return None
        return held[0]

    async def remember(self, namespace: str, key: str, *, ttl: float) -> bool:
        now = time.time()
        until = self._seen.get((namespace, key))
        if until is not None and until > now:
            return False
        self._seen[(namespace, key)] = now + ttl
        return True

    async def add_delivery_failure(self, failure: DeliveryFailure) -> None:
        self._failures.append(failure)
        del self._failures[: -self._max_failures]

    async def list_delivery_failures(
        self, *, owner: str | None = None, limit: int | None = None
    ) -> tuple[DeliveryFailure, ...]:
        chosen = [failure for failure in reversed(self._failures) if owner is None or failure.owner == owner]
        return tuple(chosen if limit is None else chosen[:limit])

    def purge_ledger(self) -> None:
        """Drop expired tokens and seen keys."""
        now = time.time()
        self._tokens = {key: held for key, held in self._tokens.items() if held[1] > now}
        self._seen = {key: until for key, until in self._seen.items() if until > now}
