"""Naming a database without its password (start-up banners, errors, reprs)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit


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
