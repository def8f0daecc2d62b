"""Responses stream events -> SSE frames (``event:`` equal to the data's ``type``).

Every event goes through the host's compact encoder (`encode_json`, native):
deltas, most of a stream, cost about 0.3 µs each that way, half of what the
string templates they used to be framed from cost (see ``docs/channels/responses.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hosting.core.channels import encode_json


def encode_event(event: dict[str, Any]) -> bytes:
    """One SSE frame for one wire event."""
    return b"".join((b"event: ", event["type"].encode(), b"\ndata: ", encode_json(event), b"\n\n"))


def encode_events(events: Sequence[dict[str, Any]], *, after: int = -1) -> bytes:
    """SSE frames for wire events, skipping those numbered <= `after` (a resumed stream)."""
    if len(events) == 1:
        event = events[0]
        return encode_event(event) if event["sequence_number"] > after else b""
    return b"".join(encode_event(event) for event in events if event["sequence_number"] > after)
