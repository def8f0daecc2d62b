"""The pytest plugin of hosting.testing (registered as the ``hosting`` entry point of ``pytest11``).

Fixtures:
    (automatic) hosts built without a store keep their SQLite file in a temporary directory.
    hosting_store: a fresh `MemoryStore`.
    hosted: a factory, ``await hosted(agent, **host_options)``: the `ChannelContext` of a started
        `Host` (a bare channel, a `MemoryStore` by default), shut down after the test.
    echo_agent: an `EchoAgent`.
    scripted_agent: a factory, ``scripted_agent(script)`` or ``scripted_agent(turns=[...])``.
    openai_client_for: a factory, ``openai_client_for(host)``: an in-process sync `OpenAI` client,
        closed (and the host shut down) after the test.
    async_openai_client_for: a factory, ``async_openai_client_for(host)``: an in-process `AsyncOpenAI`.
    served: a factory, ``served(host)``: runs the app under uvicorn on 127.0.0.1 for the test and
        returns its base URL.
    fake_openai: a factory, ``fake_openai(replies)``: a fake OpenAI-compatible upstream model server
        for the test; returns a `FakeOpenAI` with its ``base_url`` and the requests it received.

This module is imported in every pytest run of a project that installs the package, so
it defines fixtures only; the SDK and the servers load when a fixture is used.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from openai import AsyncOpenAI, OpenAI
    from starlette.types import ASGIApp

    from hosting.core import MemoryStore
    from hosting.core.channels import ChannelContext

    from ._agents import EchoAgent, ScriptedAgent, Step
    from ._upstream import FakeOpenAI, ScriptedReply


@pytest.fixture(autouse=True, scope="session")
def _hosting_data_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A `Host` built without a store keeps its SQLite file in a temporary directory during tests,
    never in the project (unless ``HOSTING_DATA_DIR`` is set already)."""
    if os.environ.get("HOSTING_DATA_DIR"):
        yield
        return
    patch = pytest.MonkeyPatch()
    patch.setenv("HOSTING_DATA_DIR", str(tmp_path_factory.mktemp("hosting-data")))
    try:
        yield
    finally:
        patch.undo()


@pytest.fixture
def hosting_store() -> MemoryStore:
    """A fresh in-memory store for one test."""
    from hosting.core import MemoryStore

    return MemoryStore()


@pytest.fixture
async def hosted() -> AsyncIterator[Callable[..., Awaitable[ChannelContext]]]:
    """Make started hosts: ``context = await hosted(agent, **host_options)`` (see `channel_context`);
    every host made is shut down after the test, also when it fails."""
    from ._harness import channel_context

    async with contextlib.AsyncExitStack() as stack:

        async def make(agent: Any, /, **host_options: Any) -> ChannelContext:
            return await stack.enter_async_context(channel_context(agent, **host_options))

        yield make


@pytest.fixture
def echo_agent() -> EchoAgent:
    """An `EchoAgent`: it answers with every user message of the conversation, one per line."""
    from ._agents import EchoAgent

    return EchoAgent()


@pytest.fixture
def scripted_agent() -> Callable[..., ScriptedAgent]:
    """Make `ScriptedAgent`s: ``scripted_agent(["Hello"])`` or ``scripted_agent(turns=[[...], [...]])``."""
    from ._agents import ScriptedAgent

    def make(
        script: Sequence[Step] | None = None,
        *,
        turns: Sequence[Sequence[Step]] | None = None,
        name: str = "scripted",
    ) -> ScriptedAgent:
        return ScriptedAgent(script, turns=turns, name=name)

    return make


@pytest.fixture
def openai_client_for() -> Iterator[Callable[..., OpenAI]]:
    """Make in-process sync `OpenAI` clients for apps; each is closed after the test."""
    from ._clients import openai_client

    clients: list[OpenAI] = []

    def make(app: ASGIApp, **options: Any) -> OpenAI:
        client = openai_client(app, **options)
        clients.append(client)
        return client

    yield make
    for client in reversed(clients):
        client.close()


@pytest.fixture
def async_openai_client_for() -> Callable[..., AsyncOpenAI]:
    """Make in-process `AsyncOpenAI` clients for apps (they hold no sockets to close)."""
    from ._clients import async_openai_client

    def make(app: ASGIApp, **options: Any) -> AsyncOpenAI:
        return async_openai_client(app, **options)

    return make


@pytest.fixture
def served() -> Iterator[Callable[..., str]]:
    """Serve apps under a real uvicorn on 127.0.0.1 for the test; ``served(app)`` returns the base URL."""
    from ._server import serve

    with contextlib.ExitStack() as stack:

        def start(app: ASGIApp, **options: Any) -> str:
            return stack.enter_context(serve(app, **options))

        yield start


@pytest.fixture
def fake_openai() -> Iterator[Callable[..., FakeOpenAI]]:
    """Start fake OpenAI-compatible model servers for the test: ``fake_openai(["Hello!"]).base_url``."""
    from ._upstream import fake_openai_server

    with contextlib.ExitStack() as stack:

        def start(replies: Sequence[ScriptedReply] = (), **options: Any) -> FakeOpenAI:
            return stack.enter_context(fake_openai_server(replies, **options))

        yield start
