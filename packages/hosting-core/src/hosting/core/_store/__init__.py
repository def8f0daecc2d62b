"""Stores: the contract and the built-in backends."""

from __future__ import annotations

from ._base import Store
from ._memory import MemoryStore
from ._sqlite import SQLiteStore

__all__ = ["MemoryStore", "SQLiteStore", "Store", "default_store"]


def default_store() -> Store:
    """The store a `Host` uses when given none: an `SQLiteStore` under ``HOSTING_DATA_DIR``
    (``.hosting/`` in the working directory by default), so history survives a restart."""
    return SQLiteStore()
