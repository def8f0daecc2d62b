"""Ids: unguessable by default, with room for a partition a sharded store can route on.

An id is ``{prefix}_{body}``. The default factory's body is 48 random hex digits
(192 bits from `secrets`). `PartitionedIdFactory` puts a short partition of the
owner first, so every id of one user (and so every link of a chain) lands on
the same shard, and an id whose partition does not match the caller can be
turned away before any store lookup.
"""

from __future__ import annotations

import hashlib
import os
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


class _RandomPool:
    """Random bytes from the operating system's CSPRNG, read 4 KiB at a time.

    A request makes several ids, and one read per id would cost more than the rest of making it.
    """

    _SIZE = 4096

    def __init__(self) -> None:
        self._pool = b""
        self._offset = 0
        # A forked child must not hand out the bytes its parent read ahead (and will use too).
        os.register_at_fork(after_in_child=self._drop)

    def _drop(self) -> None:
        self._pool, self._offset = b"", 0

    def hex(self, size: int) -> str:
        offset = self._offset
        if offset + size > len(self._pool):
            self._pool, offset = secrets.token_bytes(max(self._SIZE, size)), 0
        self._offset = offset + size
        return self._pool[offset : offset + size].hex()


random_hex = _RandomPool().hex
"""`random_hex(n)`: `n` random bytes from the CSPRNG, as 2n hex digits."""


@runtime_checkable
class IdFactory(Protocol):
    """Makes ids. `hint` is a related id (the previous response, the conversation) or None."""

    def new_id(self, kind: str, *, owner: str, hint: str | None = None) -> str: ...

    def owns(self, identifier: str, *, owner: str) -> bool:
        """False when the id cannot belong to `owner` (then it is a 404 without a lookup)."""


class RandomIdFactory:
    """The default: ``resp_`` + 48 random hex digits, and likewise for other kinds.

    The digits come from the operating system's CSPRNG, read ahead in blocks (`random_hex`).
    """

    def new_id(self, kind: str, *, owner: str, hint: str | None = None) -> str:
        return f"{PREFIXES.get(kind, kind)}_{random_hex(24)}"

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
