"""The memory store passes the store conformance suite."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hosting.core import MemoryStore
from hosting.core.stores import Store
from hosting.testing import StoreConformance, retention_options


class TestMemoryStoreConformance(StoreConformance):
    @pytest.fixture
    async def store(self, request: pytest.FixtureRequest) -> AsyncIterator[Store]:
        # The memory store always has size bounds; None in a test's options means "default".
        options = {name: value for name, value in retention_options(request).items() if value is not None}
        store = MemoryStore(**options)
        await store.open()
        yield store
        await store.close()
