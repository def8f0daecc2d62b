"""The SQLite store passes the store conformance suite, each test on a fresh file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hosting.core import SQLiteStore
from hosting.core.stores import Store
from hosting.testing import StoreConformance, retention_options


class TestSQLiteStoreConformance(StoreConformance):
    @pytest.fixture
    async def store(self, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
        store = SQLiteStore(tmp_path / "data", **retention_options(request))
        await store.open()
        yield store
        await store.close()
