"""What the conformance suite does not cover: migrations when replicas start at once, a schema
from a newer release, the options refused, and the store named by the environment."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest
from psycopg import sql

from hosting.core import ConfigurationError
from hosting.core.stores import ResponseRecord
from hosting.postgres import PostgresStore, redact_url, store_from_environ


async def _version(url: str, schema: str) -> list[int]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
        cursor = await connection.execute(
            sql.SQL("SELECT version FROM {}.hosting_schema").format(sql.Identifier(schema))
        )
        return [int(row[0]) for row in await cursor.fetchall()]


async def test_replicas_starting_at_once_migrate_the_schema_once(
    postgres_url: str, fresh_schema: str
) -> None:
    stores = [PostgresStore(postgres_url, schema=fresh_schema) for _ in range(6)]
    try:
        await asyncio.gather(*(store.open() for store in stores))
        assert await _version(postgres_url, fresh_schema) == [1]
        record = ResponseRecord(id="resp_shared", owner="alice", created_at=time.time(), status="completed")
        await stores[0].create_response(record)
        assert all([await store.get_response("alice", record.id) == record for store in stores])
    finally:
        await asyncio.gather(*(store.close() for store in stores))


async def test_reopening_a_migrated_schema_keeps_its_data(postgres_url: str, fresh_schema: str) -> None:
    store = PostgresStore(postgres_url, schema=fresh_schema)
    record = ResponseRecord(id="resp_kept", owner="alice", created_at=time.time(), status="completed")
    await store.open()
    await store.create_response(record)
    await store.close()
    again = PostgresStore(postgres_url, schema=fresh_schema)
    await again.open()
    try:
        assert await again.get_response("alice", record.id) == record
        assert await _version(postgres_url, fresh_schema) == [1]
    finally:
        await again.close()


async def test_a_schema_from_a_newer_release_is_refused(postgres_url: str, fresh_schema: str) -> None:
    store = PostgresStore(postgres_url, schema=fresh_schema)
    await store.open()
    await store.close()
    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as connection:
        await connection.execute(
            sql.SQL("UPDATE {}.hosting_schema SET version = 99").format(sql.Identifier(fresh_schema))
        )
    with pytest.raises(ConfigurationError, match="newer"):
        await PostgresStore(postgres_url, schema=fresh_schema).open()


async def test_an_unreachable_database_fails_the_start(fresh_schema: str) -> None:
    store = PostgresStore("postgresql://nobody@127.0.0.1:1/none", schema=fresh_schema, connect_timeout=1.0)
    with pytest.raises(ConnectionError, match=r"postgresql://nobody@127\.0\.0\.1:1/none within 1s"):
        await store.open()
    assert store._pool is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"schema": "Public"}, "schema"),
        ({"schema": "x; DROP TABLE responses"}, "schema"),
        ({"ttl": 0}, "ttl"),
        ({"max_responses": 0}, "max_responses"),
        ({"max_conversations": 0}, "max_conversations"),
        ({"max_connections": 0}, "max_connections"),
        ({"purge_batch": 0}, "purge_batch"),
    ],
)
def test_bad_options_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        PostgresStore("postgresql://localhost/db", **options)  # type: ignore[arg-type]


def test_an_empty_url_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="URL"):
        PostgresStore("")


def test_the_environment_chooses_the_store() -> None:
    assert store_from_environ({}) is None
    assert store_from_environ({"HOSTING_DATABASE_URL": "  "}) is None
    store = store_from_environ({"HOSTING_DATABASE_URL": "postgresql://app:s3cret@db:5432/app"})
    assert isinstance(store, PostgresStore)
    assert store.url == "postgresql://app:s3cret@db:5432/app" and store.schema == "public"
    assert "s3cret" not in repr(store)
    other = store_from_environ(
        {"HOSTING_DATABASE_URL": "postgresql+psycopg://app@db/app", "HOSTING_DATABASE_SCHEMA": "tenant_a"}
    )
    assert other is not None and other.url == "postgresql://app@db/app" and other.schema == "tenant_a"


def test_a_url_is_shown_without_its_password() -> None:
    assert redact_url("postgresql://app:s3cret@db:5432/app") == "postgresql://app:***@db:5432/app"
    assert redact_url("postgresql://app@db/app") == "postgresql://app@db/app"
    assert (
        redact_url("host=db user=app password=s3cret dbname=app")
        == "host=db user=app password=*** dbname=app"
    )
    assert redact_url("postgresql://db/app?password=s3cret&sslmode=require") == (
        "postgresql://db/app?password=***&sslmode=require"
    )


async def test_leases_are_on_the_databases_clock_not_a_replicas(
    postgres_url: str, fresh_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = PostgresStore(postgres_url, schema=fresh_schema)
    await store.open()
    try:
        real = time.time
        # This replica's clock is an hour behind: its 60 s lease must still count as running.
        monkeypatch.setattr(time, "time", lambda: real() - 3600)
        await store.heartbeat("slow-clock", lease=60)
        record = ResponseRecord(id="resp_live", owner="alice", created_at=real(), status="in_progress")
        await store.create_response(record.evolve(runner="slow-clock"))
        monkeypatch.setattr(time, "time", real)
        await store.heartbeat("other", lease=60)
        assert await store.claim_orphaned_runs("other") == ()
        await store.heartbeat("slow-clock", lease=0.05)
        await asyncio.sleep(0.1)
        claimed = await store.claim_orphaned_runs("other")
        assert [run.id for run in claimed] == ["resp_live"]
    finally:
        await store.close()
