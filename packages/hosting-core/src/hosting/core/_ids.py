"""Ids: unguessable by default, with room for a partition a sharded store can route on.

An id is ``{prefix}_{body}``. The default factory's body is 48 random hex digits
(192 bits from `secrets`). `PartitionedIdFactory` puts a short partition of the
owner first, so every id of one user (and so every link of a chain) lands on
the same shard, and an id whose partition does not match the caller can be
turned away before any store lookup.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Protocol, runtime_checkable

PREFIXES = {
    "response": "resp",
    "conversation": "conv",
    "message": "msg",
    "item": "item",
    "function_call": "fc",
    "reasoning": "rs",
    "function_result": "fco",
}

_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def is_well_formed_id(value: str) -> bool:
    """Ids we hand out are short and plain; anything else is rejected before it reaches a store."""
    # fullmatch: with match(), ``$`` would accept a trailing newline.
    return bool(_ID_PATTERN.fullmatch(value))


@runtime_checkable
class IdFactory(Protocol):
    """Makes ids. `hint` is a related id (the previous response, the conversation) or None."""

    def new_id(self, kind: str, *, owner: str, hint: str | None = None) -> str: ...

    def owns(self, identifier: str, *, owner: str) -> bool:
        """False when the id cannot belong to `owner` (then it is a 404 without a lookup)."""


class RandomIdFactory:
    """The default: ``resp_`` + 48 random hex digits, and likewise for other kinds.

    The digits come from the operating system's CSPRNG, read 4 KiB at a time: a run makes
    several ids, and one read per id would cost more than the rest of making it.
    """

    _CHUNK = 24

    def __init__(self) -> None:
        self._pool = b""
        self._offset = 0

    def new_id(self, kind: str, *, owner: str, hint: str | None = None) -> str:
        offset = self._offset
        if offset + self._CHUNK > len(self._pool):
            self._pool, offset = secrets.token_bytes(4096), 0
        self._offset = offset + self._CHUNK
        return f"{PREFIXES.get(kind, kind)}_{self._pool[offset : offset + self._CHUNK].hex()}"

    def owns(self, identifier: str, *, owner: str) -> bool:
        return True


class PartitionedIdFactory:
    """Ids that start with an 8-hex-digit partition derived from the owner.

    Args:
        secret: mixed into the partition so that it does not reveal the owner.
    """

    def __init__(self, *, secret: str = "") -> None:
        self._secret = secret.encode()

    def partition(self, owner: str) -> str:
        return hashlib.blake2s(owner.encode(), key=self._secret[:32], digest_size=4).hexdigest()

    def new_id(self, kind: str, *, owner: str, hint: str | None = None) -> str:
        return f"{PREFIXES.get(kind, kind)}_{self.partition(owner)}{secrets.token_hex(20)}"

    def owns(self, identifier: str, *, owner: str) -> bool:
        _, _, body = identifier.partition("_")
        return body[:8] == self.partition(owner)
