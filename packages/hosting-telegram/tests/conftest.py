from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from hosting.core import Host, MemoryStore
from hosting.core.stores import Store
from hosting.telegram import TelegramChannel
from hosting.telegram.testing import BotAPIStandIn
from hosting.testing import serving


@dataclass
class ServedStandIn:
    api: BotAPIStandIn
    url: str


@pytest.fixture
async def bot_api() -> AsyncIterator[ServedStandIn]:
    """The Bot API stand-in on a real loopback server."""
    stand_in = BotAPIStandIn()
    async with serving(stand_in) as url:
        yield ServedStandIn(stand_in, url)


def telegram_host(
    bot_api: ServedStandIn,
    agent: Any,
    *,
    store: Store | None = None,
    host_options: dict[str, Any] | None = None,
    **options: Any,
) -> Host:
    """A host serving `agent` over Telegram (long polling, quick edits) against the stand-in."""
    options.setdefault("edit_interval", 0.05)
    options.setdefault("group_edit_interval", 0.05)
    options.setdefault("poll_timeout", 1)
    channel = TelegramChannel(bot_api.api.token, api_base_url=bot_api.url, **options)
    return Host(agent, channels=[channel], store=store or MemoryStore(), **(host_options or {}))
