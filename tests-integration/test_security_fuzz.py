"""Fuzzing the Responses channel from its own OpenAPI document, with schemathesis, on a real uvicorn.

The document is the one the channel serves at ``/v1/openapi.json`` (for this host's limits, kept
small so boundaries are cheap to reach). For every operation, schemathesis sends the documented
examples, boundary cases (its coverage phase) and a bounded number of generated requests, valid and
invalid. Each answer must: not be a 5xx; have a status, content type, headers and body the document
declares; reject what the document says is invalid and accept what it says is valid; and, when it is
an error, carry no stack trace or internal detail. Generation is derandomized, so a run is repeatable.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from hosting.core import ApiKeyAuthenticator, Host, Limits, MemoryStore
from hosting.responses import ResponsesChannel
from hosting.testing import EchoAgent, InProcessHTTPClient, serve

LIMITS = Limits(
    max_body_bytes=64 * 1024,
    max_input_items=5,
    max_text_chars=200,
    max_metadata_keys=4,
    max_metadata_key_chars=16,
    max_metadata_value_chars=32,
)
AUTH = {"Authorization": "Bearer key-fuzz"}

# Rules across query parameters cannot be written in OpenAPI: `starting_after` needs `stream=true`
# (a 400 otherwise, as the parameter's description says), so valid-looking data may be refused there.
CROSS_PARAMETER_RULES = {"GET /responses/{response_id}"}

INTERNAL_DETAIL = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|site-packages|\.py\b"
    r"|\b(?:TypeError|KeyError|AttributeError|ValueError|IndexError|RuntimeError|AssertionError"
    r"|UnicodeEncodeError|RecursionError)\b"
)


def make_host() -> Host:
    return Host(
        EchoAgent(),
        channels=[ResponsesChannel()],
        store=MemoryStore(),
        authenticator=ApiKeyAuthenticator({"key-fuzz": "fuzzer"}),
        limits=LIMITS,
    )


def served_document() -> dict[str, Any]:
    """The document as the channel serves it (schemathesis needs it when the tests are collected)."""
    client = InProcessHTTPClient(make_host())
    try:
        answer = client.get("/v1/openapi.json", headers=AUTH)
    finally:
        client.close()
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


DOCUMENT = served_document()
schema = schemathesis.openapi.from_dict(DOCUMENT)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve(make_host()) as url:
        # The server under test serves the very document the cases come from.
        assert httpx.get(f"{url}/v1/openapi.json", headers=AUTH, timeout=10).json() == DOCUMENT
        yield f"{url}/v1"


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_channel_answers_every_generated_request_as_its_document_says(
    case: schemathesis.Case[Any], base_url: str
) -> None:
    response = case.call(base_url=base_url, headers=AUTH, timeout=10)  # each call bounded in time
    excluded = [checks.positive_data_acceptance] if case.operation.label in CROSS_PARAMETER_RULES else []
    case.validate_response(response, headers=AUTH, excluded_checks=excluded)
    if response.status_code >= 400:
        assert not INTERNAL_DETAIL.search(response.text), response.text
        assert response.json()["error"]["message"]


def test_the_internal_detail_pattern_catches_what_it_must() -> None:
    leaks = [
        'Traceback (most recent call last):\n  File "/srv/app/_engine.py", line 12, in run',
        "TypeError: unhashable type: 'list'",
        "/usr/lib/python3.11/site-packages/starlette/routing.py",
    ]
    assert all(INTERNAL_DETAIL.search(leak) for leak in leaks)
    clean = [
        "Invalid value for 'input[0].role': expected one of assistant, developer, system, user.",
        "The server had an error while processing your request.",
        "Response with id 'resp_1' not found.",
    ]
    assert not any(INTERNAL_DETAIL.search(message) for message in clean)
