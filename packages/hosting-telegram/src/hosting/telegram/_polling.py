"""Updates by long polling: getUpdates in a loop, started with the host.

It stops when the host begins to stop (the channel's ``on_drain``), before the
engine refuses runs: an update taken after that would only be refused, while one
left with Telegram is delivered again at the next start (an update is confirmed
only by the ``offset`` of the next call, so the rest of a batch cut short is kept).

Each call asks for updates after the last one handed on (its ``offset`` tells
Telegram to forget the earlier ones) and waits up to `timeout` seconds for one.
A failed call is retried after a pause that doubles up to a minute (and after
``retry_after`` on a 429), so a Telegram outage neither stops the loop nor
floods the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter

from ._updates import UpdateHandler

logger = logging.getLogger("hosting.telegram")

MAX_PAUSE = 60.0


class Poller:
    """The getUpdates loop of one bot.

    Args:
        bot: the Bot API client.
        handler: handles each update once.
        timeout: seconds one getUpdates call waits for an update.
        pause: seconds before the first retry after a failed call.
    """

    def __init__(self, bot: Bot, handler: UpdateHandler, *, timeout: int = 30, pause: float = 1.0) -> None:
        self.bot = bot
        self.handler = handler
        self.timeout = timeout
        self.pause = pause
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="hosting-telegram-polling")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        offset: int | None = None
        pause = self.pause
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset,
                    timeout=self.timeout,
                    allowed_updates=["message"],
                    request_timeout=self.timeout + 10,
                )
            except TelegramRetryAfter as error:
                await asyncio.sleep(error.retry_after)
                continue
            except Exception as error:
                logger.warning("getUpdates failed (%s); trying again in %.0f s", type(error).__name__, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, MAX_PAUSE)
                continue
            pause = self.pause
            for update in updates:
                offset = update.update_id + 1
                try:
                    await self.handler.accept(update)
                except Exception:
                    logger.exception("update %s could not be taken", update.update_id)
