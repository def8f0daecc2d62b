"""A throwaway PostgreSQL server for this package's tests, started once per session by
``scripts/postgres.sh`` and always stopped; ``HOSTING_TEST_DATABASE_URL`` points the tests at a
server of your own instead. Each test gets a schema of its own (`fresh_schema`), and `replicas` are
two stores on it, as two replicas hold them."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from hosting.postgres import PostgresStore

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "postgres.sh"


def start_postgres() -> tuple[str, str]:
    """Start a server through the script; return its URL and its directory."""
    result = subprocess.run(
        ["bash", str(SCRIPT), "start"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"scripts/postgres.sh start failed:\n{result.stderr}")
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return values["POSTGRES_URL"], values["POSTGRES_DIR"]


def stop_postgres(directory: str) -> None:
    subprocess.run(
        ["bash", str(SCRIPT), "stop", directory],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a PostgreSQL server for the whole session."""
    own = os.environ.get("HOSTING_TEST_DATABASE_URL")
    if own:
        yield own
        return
    url, directory = start_postgres()
    try:
        yield url
    finally:
        stop_postgres(directory)


@pytest.fixture
async def fresh_schema(postgres_url: str) -> AsyncIterator[str]:
    """A schema name nobody used yet, dropped after the test."""
    schema = f"t_{secrets.token_hex(8)}"
    yield schema
    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as connection:
        await connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
async def replicas(
    postgres_url: str, fresh_schema: str
) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    """Two stores on one database, as two replicas hold them."""
    first = PostgresStore(postgres_url, schema=fresh_schema)
    second = PostgresStore(postgres_url, schema=fresh_schema)
    await asyncio.gather(first.open(), second.open())
    yield first, second
    await asyncio.gather(first.close(), second.close())
