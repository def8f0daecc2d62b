"""Ids: unguessable by default, with room for a partition a sharded store can route on.

An id is ``{prefix}_{body}``. The default factory's body is 48 hex digits: the
creation time in milliseconds (12 digits), then 144 random bits from the
operating system's CSPRNG. The time first makes ids of one kind sort by age, so
a store's index on them grows at its end instead of at random places: on
SQLite, writing a stored response costs about half as much that way. The random part keeps them unguessable; the creation time
they show is in every response anyway. `PartitionedIdFactory` puts a short
partition of the owner first, so every id of one user (and so every link of a
chain) lands on the same shard, and an id whose partition does not match the
caller can be turned away before any store lookup.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import threading
import time
from typing import Any, Protocol, runtime_checkable

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
    """Random hex digits from the operating system's CSPRNG, read 4 KiB at a time, per thread.

    A request makes several ids, and one read per id would cost more than the rest of making it.
    Each thread reads ahead for itself, so no two threads ever hand out the same digits, and
    no lock is taken.
    """

    _SIZE = 4096

    def __init__(self) -> None:
        self._local = threading.local()
        # A forked child must not hand out the digits its parent read ahead (and will use too).
        os.register_at_fork(after_in_child=self._drop)

    def _drop(self) -> None:
        self._local = threading.local()

    def hex(self, size: int) -> str:
        local = self._local
        digits = 2 * size
        # This thread's digits read ahead, and how many of them are used.
        state: list[Any] | None = getattr(local, "state", None)
        if state is None or state[1] + digits > len(state[0]):
            state = local.state = [secrets.token_hex(max(self._SIZE, size)), 0]
        offset = state[1]
        state[1] = offset + digits
        return state[0][offset : offset + digits]  # type: ignore[no-any-return]


random_hex = _RandomPool().hex
"""`random_hex(n)`: `n` random bytes from the CSPRNG, as 2n hex digits."""


class _TimePrefix:
    """12 hex digits of the time in milliseconds, formatted once per millisecond."""

    def __init__(self) -> None:
        self._millisecond = -1
        self._prefix = ""

    def current(self) -> str:
        millisecond = time.time_ns() // 1_000_000
        if millisecond != self._millisecond:
            self._millisecond, self._prefix = millisecond, f"{millisecond:012x}"
        return self._prefix


_time_prefix = _TimePrefix().current


def time_ordered_hex(random_bytes: int) -> str:
    """12 hex digits of the time in milliseconds, then `random_bytes` random bytes in hex."""
    return _time_prefix() + random_hex(random_bytes)


@runtime_checkable
class IdFactory(Protocol):
    """Makes ids. `hint` is a related id (the previous response, the conversation) or None."""

    def new_id(self, kind: str, *, owner: str, hint: str | None = None) -> str: ...

    def owns(self, identifier: str, *, owner: str) -> bool:
        """False when the id cannot belong to `owner` (then it is a 404 without a lookup)."""


class RandomIdFactory:
    """The default: ``resp_`` + 48 hex digits, and likewise for other kinds.

    The digits are the creation time in milliseconds (12) and 144 random bits (36) from the
    operating system's CSPRNG, read ahead in blocks (`random_hex`).
    """

    def new_id(self, kind: str, *, owner: str, hint: str | None = None) -> str:
        return f"{PREFIXES.get(kind, kind)}_{_time_prefix()}{random_hex(18)}"

    def owns(self, identifier: str, *, owner: str) -> bool:
        return True


class PartitionedIdFactory:
    """Ids that start with an 8-hex-digit partition derived from the owner.

    Then the creation time in milliseconds (12 hex digits) and 128 random bits (32).

    Args:
        secret: mixed into the partition so that it does not reveal the owner.
    """

    def __init__(self, *, secret: str = "") -> None:
        self._secret = secret.encode()

    def partition(self, owner: str) -> str:
        return hashlib.blake2s(owner.encode(), key=self._secret[:32], digest_size=4).hexdigest()

    def new_id(self, kind: str, *, owner: str, hint: str | None = None) -> str:
        return f"{PREFIXES.get(kind, kind)}_{self.partition(owner)}{time_ordered_hex(16)}"

    def owns(self, identifier: str, *, owner: str) -> bool:
        _, _, body = identifier.partition("_")
        return body[:8] == self.partition(owner)
