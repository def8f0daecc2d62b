"""Choosing the store from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ._store import PostgresStore

DATABASE_URL_ENV = "HOSTING_DATABASE_URL"
DATABASE_SCHEMA_ENV = "HOSTING_DATABASE_SCHEMA"


def store_from_environ(environ: Mapping[str, str] | None = None) -> PostgresStore | None:
    """A `PostgresStore` for ``HOSTING_DATABASE_URL`` (``postgresql://...``), or None when it is unset.

    ``HOSTING_DATABASE_SCHEMA`` picks the schema (default ``public``). The store is not opened:
    the host opens it at start-up.
    """
    environ = os.environ if environ is None else environ
    url = environ.get(DATABASE_URL_ENV, "").strip()
    if not url:
        return None
    schema = environ.get(DATABASE_SCHEMA_ENV, "").strip() or "public"
    return PostgresStore(url, schema=schema)
