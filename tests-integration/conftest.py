"""Fixtures for the integration tests: hosts behind a real uvicorn on 127.0.0.1, and SDK clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from openai import AsyncOpenAI, OpenAI

from hosting.core import ApiKeyAuthenticator, Host, MemoryStore
from hosting.responses import ResponsesChannel
from hosting.testing import EchoAgent

API_KEYS = {"key-alice": "alice", "key-bob": "bob"}


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
