"""Helpers for hosting-agent-framework's tests: a host around an adapter, and runs through its engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from hosting.core import Host, Item, MemoryStore, user_message
from hosting.core.channels import ChannelContext, ChannelContribution, ChannelRequest


class NoRoutesChannel:
    """A channel with no routes: tests drive the host's engine directly."""

    name = "test"

    def contribute(self, context: ChannelContext) -> ChannelContribution:
        return ChannelContribution()


def make_host(agent: Any, *, store: Any = None) -> Host:
    return Host(agent, channels=[NoRoutesChannel()], store=store or MemoryStore())


def ask(*items: Item | str, **fields: Any) -> ChannelRequest:
    """A request with these input items (a `str` is a user message)."""
    parts = tuple(user_message(item) if isinstance(item, str) else item for item in items)
    return ChannelRequest(channel="test", input=parts, **fields)


@pytest.fixture
async def started() -> AsyncIterator[list[Host]]:
    """The hosts `start` made for a test; each is shut down after it."""
    hosts: list[Host] = []
    yield hosts
    for host in hosts:
        await host.shutdown()


async def start(hosts: list[Host], agent: Any, *, store: Any = None) -> Host:
    host = make_host(agent, store=store)
    await host.startup()
    hosts.append(host)
    return host
