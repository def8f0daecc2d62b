"""Request bodies as JSON: a UTF-8 byte order mark is read as the standard library reads it."""

from __future__ import annotations

import json

import pytest

from hosting.core import Host, MemoryStore
from hosting.responses import ResponsesChannel
from hosting.responses._json_body import load_json
from hosting.testing import EchoAgent, InProcessHTTPClient

BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize(
    "raw",
    [
        BOM + b'{"model": "echo", "input": "hi"}',
        BOM + b'{"input": "hi", "metadata": {"n": "1"}, "big": 123456789012345678901234567890}',
    ],
)
def test_a_body_with_a_utf8_byte_order_mark_reads_as_the_standard_library_reads_it(raw: bytes) -> None:
    # RFC 8259 lets a parser ignore the mark, and the standard library does: so did this host.
    assert load_json(raw, max_depth=64) == json.loads(raw)


def test_a_create_whose_body_starts_with_a_byte_order_mark_is_answered() -> None:
    client = InProcessHTTPClient(Host(EchoAgent(), channels=[ResponsesChannel()], store=MemoryStore()))
    try:
        response = client.post(
            "/v1/responses",
            content=BOM + b'{"model": "echo", "input": "hello"}',
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["output"][0]["content"][0]["text"] == "hello"
    finally:
        client.close()
