"""hosting.postgres: PostgreSQL as the hosting store, for several replicas behind a load balancer.

    from hosting.core import Host
    from hosting.postgres import PostgresStore

    host = Host(agent, channels=[...], store=PostgresStore("postgresql://app@db/app"))

Every replica opens the same database: migrations run once (the others wait), runs
carry their replica's lease, a follower on any replica is woken by LISTEN/NOTIFY
(`PostgresStore.wait_for_run_events`), and `store_from_environ` builds the store
from ``HOSTING_DATABASE_URL``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._config import DATABASE_SCHEMA_ENV, DATABASE_URL_ENV, store_from_environ
from ._redact import redact_url
from ._store import PostgresStore

try:
    __version__ = version("hosting-postgres")
except PackageNotFoundError:  # pragma: no cover
    __version__ = "0.0.0"

__all__ = [
    "DATABASE_SCHEMA_ENV",
    "DATABASE_URL_ENV",
    "PostgresStore",
    "__version__",
    "redact_url",
    "store_from_environ",
]
