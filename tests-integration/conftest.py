"""Fixtures for the integration tests: hosts behind a real uvicorn on 127.0.0.1, and SDK clients."""

from __future__ import annotations

import contextlib
import queue
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import httpx2
import orjson
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types.version import LATEST_HANDSHAKE_VERSION
from openai import AsyncOpenAI, OpenAI

from hosting.core import ApiKeyAuthenticator, Host, MemoryStore
from hosting.responses import ResponsesChannel
from hosting.testing import EchoAgent

API_KEYS = {"key-alice": "alice", "key-bob": "bob"}
SAMPLES = Path(__file__).resolve().parents[1] / "samples"
SAMPLE_START_TIMEOUT = 30.0


def _make_host(agent: Any = None, **options: Any) -> Host:
    options.setdefault("store", MemoryStore())
    options.setdefault("authenticator", ApiKeyAuthenticator(API_KEYS))
    channel = options.pop("channel", None) or ResponsesChannel()
    return Host(agent if agent is not None else EchoAgent(), channels=[channel], **options)


@pytest.fixture
def make_host() -> Callable[..., Host]:
    """``make_host(agent=None, **host_options)``: the Responses channel, a memory store, two users
    (``key-alice`` -> alice, ``key-bob`` -> bob); the agent defaults to an `EchoAgent`."""
    return _make_host


@pytest.fixture
def sdk(served: Callable[..., str]) -> Iterator[Callable[..., OpenAI]]:
    """``sdk(host)``: serve the host on a loopback port and return a sync `OpenAI` client for it."""
    clients: list[OpenAI] = []

    def connect(host: Host, *, api_key: str = "key-alice", **options: Any) -> OpenAI:
        url = served(host)
        options.setdefault("max_retries", 0)
        client = OpenAI(base_url=f"{url}/v1", api_key=api_key, timeout=30, **options)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()


def _async_sdk(url: str, *, api_key: str = "key-alice", **options: Any) -> AsyncOpenAI:
    options.setdefault("max_retries", 0)
    return AsyncOpenAI(base_url=f"{url}/v1", api_key=api_key, timeout=30, **options)


@pytest.fixture
def async_sdk() -> Callable[..., AsyncOpenAI]:
    """``async_sdk(url)``: an `AsyncOpenAI` client for a server started with `hosting.testing.serving`."""
    return _async_sdk


@contextlib.contextmanager
def _sample_process(script: str, *, env: Mapping[str, str], cwd: Path) -> Iterator[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            str(SAMPLES / script),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(env),
        cwd=cwd,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        if process.stdout is not None:
            for line in process.stdout:
                lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    output: list[str] = []
    try:
        deadline = time.monotonic() + SAMPLE_START_TIMEOUT
        while not any(line.startswith("or run:") for line in output):
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError(f"{script} did not start:\n{''.join(output)}")
            with contextlib.suppress(queue.Empty):
                output.append(lines.get(timeout=0.2))
        yield "".join(output)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def sample_process() -> Callable[..., contextlib.AbstractContextManager[str]]:
    """``with sample_process("ui_agent.py", env=..., cwd=...) as banner``: a script of samples/ run
    as a user would, a process on a free port of 127.0.0.1, until its banner (which ends with the
    ``or run:`` line) is printed; stopped afterwards."""
    return _sample_process


# -- MCP over HTTP ---------------------------------------------------------------------------------

MCP_ACCEPT = "application/json, text/event-stream"


@contextlib.asynccontextmanager
async def _mcp_client(url: str, key: str = "key-alice") -> AsyncIterator[ClientSession]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


@pytest.fixture
def mcp_client() -> Callable[..., contextlib.AbstractAsyncContextManager[ClientSession]]:
    """``async with mcp_client(url, key="key-alice") as session``: the official client's initialized
    `ClientSession`, over Streamable HTTP to ``{url}/mcp``, for the caller with API key `key`."""
    return _mcp_client


def _jsonrpc_message(response: httpx.Response) -> dict[str, Any]:
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:] for line in response.text.splitlines() if line.startswith("data:")]
        assert len(data) == 1, response.text
        message: dict[str, Any] = orjson.loads(data[0])
        return message
    decoded: dict[str, Any] = response.json()
    return decoded


@pytest.fixture
def jsonrpc_message() -> Callable[[httpx.Response], dict[str, Any]]:
    """``jsonrpc_message(response)``: the one JSON-RPC message of an MCP answer, sent as JSON or as
    one SSE event (more than one event fails the test)."""
    return _jsonrpc_message


async def _open_mcp_session(http: httpx.AsyncClient, url: str, headers: Mapping[str, str]) -> dict[str, str]:
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": LATEST_HANDSHAKE_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"},
        },
    }
    opened = await http.post(f"{url}/mcp", json=initialize, headers={"accept": MCP_ACCEPT, **headers})
    assert opened.status_code == 200, opened.text
    session = {
        "mcp-session-id": opened.headers["mcp-session-id"],
        "mcp-protocol-version": LATEST_HANDSHAKE_VERSION,
    }
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    answer = await http.post(
        f"{url}/mcp", json=initialized, headers={"accept": MCP_ACCEPT, **headers, **session}
    )
    assert answer.status_code == 202, answer.text
    return session


@pytest.fixture
def open_mcp_session() -> Callable[[httpx.AsyncClient, str, Mapping[str, str]], Awaitable[dict[str, str]]]:
    """``await open_mcp_session(http, url, headers)``: an MCP session opened over plain HTTP, as a
    client would (``initialize``, then ``notifications/initialized``, both sent with `headers`);
    returns the headers that name the session (``mcp-session-id``, ``mcp-protocol-version``)."""
    return _open_mcp_session
