"""Stores: the contract and the built-in backends."""

from __future__ import annotations

from ._base import Store
from ._memory import MemoryStore

__all__ = ["MemoryStore", "Store", "default_store"]


def default_store() -> Store:
    """The store a `Host` uses when given none."""
    return MemoryStore()
