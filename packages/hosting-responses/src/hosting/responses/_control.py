"""Run control on the wire: idempotency keys, resumable streams, cancellation checks.

The run engine owns background runs, attach/resume, cancellation and idempotency
claims for every channel; this module only translates the Responses API's way of
asking for them:

- ``Idempotency-Key`` header -> ``ChannelRequest.idempotency_key``, with a
  fingerprint of the body (SHA-256 of its canonical JSON: sorted keys, compact,
  without ``stream``),
  so a retry of the same request attaches to the first run and another body under
  the same key is a 409;
- ``GET /responses/{id}?stream=true&starting_after=N`` -> replay the run's events
  numbered above N, then follow it live.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from starlette.types import Scope

from ._errors import invalid

IDEMPOTENCY_HEADER = "idempotency-key"
_IDEMPOTENCY_HEADER_RAW = IDEMPOTENCY_HEADER.encode()
MAX_IDEMPOTENCY_KEY_CHARS = 255


def fingerprint(body: Any) -> str:
    """A stable hash of a JSON body: the same request gives the same fingerprint, whatever its key order.

    ``stream`` is left out: it says how to deliver the run, not which run, so a retry that
    streams attaches to the stream of the first attempt.
    """
    if isinstance(body, dict):
        body = {key: value for key, value in body.items() if key != "stream"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_key(scope: Scope) -> str | None:
    """The request's ``Idempotency-Key``, checked; None when absent.

    Read from the raw headers: Starlette's `Headers` mapping answers a missing name through
    an exception, and nearly every request lacks this one.
    """
    for name, value in scope["headers"]:
        if name == _IDEMPOTENCY_HEADER_RAW:
            key: str = value.decode("latin-1")
            break
    else:
        return None
    key = key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY_CHARS or not key.isprintable():
        raise invalid(
            f"The Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} printable characters.",
            "Idempotency-Key",
            code="invalid_value",
        )
    return key


def _flag(query: Mapping[str, str], name: str) -> bool:
    raw = query.get(name)
    if raw is None or raw == "":
        return False
    lowered = raw.lower()
    if lowered not in ("true", "false", "1", "0"):
        raise invalid(f"Invalid value for '{name}': expected true or false.", name, code="invalid_value")
    return lowered in ("true", "1")


def stream_query(query: Mapping[str, str]) -> tuple[bool, int]:
    """``stream`` and ``starting_after`` of a retrieve call (-1: from the first event)."""
    stream = _flag(query, "stream")
    raw = query.get("starting_after")
    if raw is None or raw == "":
        return stream, -1
    try:
        after = int(raw)
    except ValueError:
        raise invalid(
            "Invalid type for 'starting_after': expected an integer.", "starting_after", code="invalid_type"
        ) from None
    if after < 0:
        raise invalid("'starting_after' must be 0 or more.", "starting_after", code="invalid_value")
    if not stream:
        raise invalid("'starting_after' needs 'stream=true'.", "starting_after", code="invalid_value")
    return stream, after
