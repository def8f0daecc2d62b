"""hosting.telegram.testing: a stand-in for the Telegram Bot API, to test a bot without Telegram.

    stand_in = BotAPIStandIn()
    async with serving(stand_in) as api:          # hosting.testing.serving: a real loopback server
        channel = TelegramChannel(stand_in.token, api_base_url=api)
        ...
        stand_in.queue_update(stand_in.message_update(42, "Hello"))
        ... stand_in.chat_texts(42)

It checks every call against aiogram's model of the method and refuses what
Telegram refuses (see `BotAPIStandIn`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ._standin import BotAPIStandIn
from ._standin_html import HTMLParseError, visible_text
from ._standin_methods import Call, SentMessage
from ._standin_wire import METHODS

__all__ = ["METHODS", "BotAPIStandIn", "Call", "HTMLParseError", "SentMessage", "visible_text", "wait_until"]


async def wait_until(condition: Callable[[], object], *, within: float = 5.0, every: float = 0.01) -> None:
    """Wait until `condition()` is true, checking every `every` seconds for at most `within`.

    Raises:
        TimeoutError: the condition did not become true in time.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError(f"the condition did not hold within {within} s")
        await asyncio.sleep(every)
