"""Compact JSON for the wire and the stores.

`encode_json` is on every response's path, so it uses orjson (a native encoder,
about ten times faster than the standard library's here) and falls back to the
standard library for what orjson refuses: integers beyond 64 bits, which a
client may send in a tool's schema or its metadata and must get back unchanged.
Both write the same JSON values: compact, non-ASCII text kept as UTF-8.

The stores decode with the standard library, which keeps big integers exact
(orjson turns them into floats); the Responses channel reads request bodies with
orjson only when no integer in them could exceed 64 bits.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# What orjson would write although the standard library refuses it (datetimes, dataclasses) goes to
# the fallback, which refuses it as before; so do subclasses of str, int, dict and list, which the
# fallback writes as their base type.
_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
)
_fallback = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def encode_json(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON. NaN and the infinities, which JSON lacks, become ``null``."""
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except TypeError:
        return _encode_exotic(value)


def _encode_exotic(value: Any) -> bytes:
    try:
        return _fallback(value).encode()
    except ValueError:  # NaN or an infinity beside a big integer: orjson's rule, by hand
        return json.dumps(_finite(value), separators=(",", ":"), ensure_ascii=False).encode()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {key: _finite(entry) for key, entry in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(entry) for entry in value]
    return value
