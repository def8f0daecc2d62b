"""A started host with one bare channel: the `ChannelContext` a channel gets, for tests.

Agents and channels are tested through the same surface a channel uses: run,
stream, attach, cancel, the scoped store. The host behind it is started (its
store opened) on entry and shut down on exit, also when the test fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

from hosting.core import Agent, Host, MemoryStore
from hosting.core.channels import ChannelContext, ChannelContribution

Hosted: TypeAlias = Callable[..., Awaitable[ChannelContext]]
"""The type of the ``hosted`` fixture: ``await hosted(agent, **host_options)``."""


class _BareChannel:
    """A channel with no routes that keeps the context it is handed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.context: ChannelContext | None = None

    def contribute(self, context: ChannelContext) -> ChannelContribution:
        self.context = context
        return ChannelContribution()


@asynccontextmanager
async def channel_context(
    agent_or_agents: Agent | Callable[..., Any] | Mapping[str, Agent | Callable[..., Any]],
    /,
    *,
    channel: str = "test",
    **host_options: Any,
) -> AsyncIterator[ChannelContext]:
    """A `ChannelContext` of a started `Host` serving `agent_or_agents`.

    Args:
        agent_or_agents: what the host serves, as `Host` takes it.
        channel: the name of the bare channel (and so of `ChannelRequest.channel` in its runs).
        host_options: passed to `Host`; the store defaults to a fresh `MemoryStore`.

    ``async with channel_context(agent) as context: result = await context.run(request)``
    """
    bare = _BareChannel(channel)
    host_options.setdefault("store", MemoryStore())
    host = Host(agent_or_agents, channels=[bare], **host_options)
    await host.startup()
    try:
        if bare.context is None:  # pragma: no cover - Host calls contribute when it is built
            raise RuntimeError("the host did not hand the channel its context")
        yield bare.context
    finally:
        await host.shutdown()
