"""The PostgreSQL store passes the store conformance suite, each test in a schema of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hosting.core.stores import Store
from hosting.postgres import PostgresStore
from hosting.testing import StoreConformance, retention_options


class TestPostgresStoreConformance(StoreConformance):
    @pytest.fixture
    async def store(
        self, request: pytest.FixtureRequest, postgres_url: str, fresh_schema: str
    ) -> AsyncIterator[Store]:
        store = PostgresStore(postgres_url, schema=fresh_schema, **retention_options(request))
        await store.open()
        yield store
        await store.close()


async def test_the_store_satisfies_the_protocol(postgres_url: str, fresh_schema: str) -> None:
    assert isinstance(PostgresStore(postgres_url, schema=fresh_schema), Store)
