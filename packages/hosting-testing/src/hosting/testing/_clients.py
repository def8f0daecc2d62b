"""Official openai SDK clients wired to an app in process (no socket).

The SDK sends its requests through `httpx2`, and also accepts a classic `httpx`
client; we hand it an `httpx` client whose transport calls the ASGI app
directly. Such transports buffer whole responses: streams arrive complete, which
is right for asserting on events, and wrong for timing (use `serve` for that).
"""

from __future__ import annotations

from typing import Any

import httpx
from openai import AsyncOpenAI, OpenAI
from starlette.testclient import TestClient
from starlette.types import ASGIApp

DEFAULT_API_KEY = "test-key"


def openai_client(
    app: ASGIApp, *, prefix: str = "/v1", api_key: str = DEFAULT_API_KEY, **options: Any
) -> OpenAI:
    """A sync `OpenAI` client that calls `app` in process.

    Args:
        app: the host (or any ASGI app serving the Responses API).
        prefix: where the Responses channel is mounted.
        api_key: sent as ``Authorization: Bearer``.
        options: passed to `OpenAI` (``default_headers``, ``max_retries``, ...).
    """
    http_client = TestClient(app, base_url="http://hosting.test", raise_server_exceptions=False)
    options.setdefault("max_retries", 0)
    return OpenAI(api_key=api_key, base_url=f"http://hosting.test{prefix}", http_client=http_client, **options)


def async_openai_client(
    app: ASGIApp, *, prefix: str = "/v1", api_key: str = DEFAULT_API_KEY, **options: Any
) -> AsyncOpenAI:
    """An `AsyncOpenAI` client that calls `app` in process, on the test's event loop."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    http_client = httpx.AsyncClient(transport=transport, base_url="http://hosting.test")
    options.setdefault("max_retries", 0)
    return AsyncOpenAI(
        api_key=api_key,
        base_url=f"http://hosting.test{prefix}",
        http_client=http_client,  # type: ignore[arg-type]
        **options,
    )
