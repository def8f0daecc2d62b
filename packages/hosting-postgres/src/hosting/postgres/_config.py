"""Choosing the store from the environment, and naming a database without its password."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

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


def redact_url(url: str) -> str:
    """`url` with its password replaced by ``***`` (in the authority and in a ``password=`` part)."""
    text = re.sub(r"(?i)(password=)[^&\s]*", r"\1***", url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    if parts.password is None:
        return text
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
