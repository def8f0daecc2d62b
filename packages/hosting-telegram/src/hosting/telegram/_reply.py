"""An answer streamed into a chat: one message sent, then edited as text arrives.

Deliberate choices:

1. Edits are throttled: at most one call per `interval` seconds per reply (a chat
   takes about one message a second before Telegram answers 429). Text that
   arrives in between is sent with the next edit, never dropped.
2. A 429 sets the time before which nothing is sent (its ``retry_after``); the
   reply goes on collecting text meanwhile. The last flush waits that long and
   tries again, a bounded number of times.
3. Text over Telegram's limit continues in a new message: the messages already
   sent are edited only when their own part changed ("message is not modified"
   is never provoked, and is taken as success should it happen).
4. Tool steps are one italic line each (the tool's name), never their arguments.
5. A typing indicator is repeated every few seconds (Telegram shows it for five)
   until the reply is finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.types import ReplyParameters

from ._format import MESSAGE_LIMIT, Span, html_messages, markdown_spans

logger = logging.getLogger("hosting.telegram")

T = TypeVar("T")

TYPING_EVERY = 4.0
"""Seconds between typing indicators (Telegram shows one for five, or until a message is sent)."""

FINAL_ATTEMPTS = 5
"""How many times the last flush of a reply (and a push) is tried when Telegram answers 429."""


def not_modified(error: TelegramBadRequest) -> bool:
    """Telegram refused an edit because the message has this content already."""
    return "message is not modified" in error.message


async def with_retry_after(call: Callable[[], Awaitable[T]], *, attempts: int = FINAL_ATTEMPTS) -> T:
    """Make a Bot API call, waiting out a 429's ``retry_after`` and trying again (a few times)."""
    for attempt in range(attempts):
        try:
            return await call()
        except TelegramRetryAfter as error:
            if attempt == attempts - 1:
                raise
            logger.info("Telegram asked to wait %s s (%s)", error.retry_after, error.method.__api_method__)
            await asyncio.sleep(error.retry_after)
    raise AssertionError("unreachable")  # pragma: no cover


class StreamedReply:
    """The answer to one message, shown as it is written.

    Args:
        bot: the Bot API client.
        chat_id: the chat to answer in.
        interval: seconds between two calls that change the reply.
        reply_to: the message answered (the first message of the reply quotes it).
        limit: the most visible characters in one message.
    """

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        *,
        interval: float,
        reply_to: int | None = None,
        limit: int = MESSAGE_LIMIT,
    ) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.interval = interval
        self.reply_to = reply_to
        self.limit = limit
        self._pieces: list[tuple[str, str]] = []  # ("text", markdown) or ("step", tool name)
        self._sent: list[tuple[int, str]] = []  # message id and HTML of each message sent
        self._loop = asyncio.get_running_loop()
        self._not_before = 0.0
        self._changed = asyncio.Event()
        self._closing = False
        self._flusher: asyncio.Task[None] | None = None
        self._typing: asyncio.Task[None] | None = None

    @property
    def message_ids(self) -> list[int]:
        """The ids of the messages sent so far."""
        return [message_id for message_id, _ in self._sent]

    def start_typing(self) -> None:
        """Show "typing…" in the chat until the reply is finished."""
        if self._typing is None:
            self._typing = asyncio.create_task(self._keep_typing(), name="hosting-telegram-typing")

    def add_text(self, delta: str) -> None:
        """Append answer text (Markdown, as the agent writes it)."""
        if not delta:
            return
        if self._pieces and self._pieces[-1][0] == "text":
            self._pieces[-1] = ("text", self._pieces[-1][1] + delta)
        else:
            self._pieces.append(("text", delta))
        self._schedule()

    def add_step(self, name: str) -> None:
        """Show a tool step as one line."""
        self._pieces.append(("step", name))
        self._schedule()

    async def finish(self, notice: str | None = None) -> list[int]:
        """Send what is left (and `notice`, a line in italics, if given); returns the message ids."""
        if notice:
            self._pieces.append(("notice", notice))
        self._closing = True
        self._changed.set()
        if self._flusher is not None:
            # Never cancelled mid-call: a message sent but not recorded would be sent twice.
            await self._flusher
            self._flusher = None
        await self._stop_tasks()
        if not self._pieces:
            self._pieces.append(("notice", "(no answer)"))
        now = self._loop.time()
        if self._not_before > now:
            await asyncio.sleep(self._not_before - now)
        await with_retry_after(self._flush)
        return self.message_ids

    async def abort(self) -> None:
        """Stop the tasks of a reply that will not be finished."""
        await self._stop_tasks()

    # -- internals ---------------------------------------------------------------------------------

    def _spans(self) -> list[Span]:
        spans: list[Span] = []
        for kind, text in self._pieces:
            if kind == "text":
                spans += markdown_spans(text)
                continue
            if spans and not spans[-1].text.endswith("\n"):
                spans.append(Span("plain", "\n"))
            line = f"⚙️ {text}" if kind == "step" else text
            spans += [Span("italic", line), Span("plain", "\n")]
        return spans

    def _schedule(self) -> None:
        self._changed.set()
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_when_due(), name="hosting-telegram-reply")

    async def _flush_when_due(self) -> None:
        while True:
            await self._changed.wait()
            wait = self._not_before - self._loop.time()
            if wait > 0 and not self._closing:
                await asyncio.sleep(wait)
            if self._closing:
                return
            self._changed.clear()
            try:
                await self._flush()
            except TelegramRetryAfter as error:
                self._not_before = self._loop.time() + error.retry_after
                self._changed.set()
            except Exception:
                # A failed edit mid-stream is not fatal: the final flush sends the whole text again.
                logger.warning("a streamed edit to chat %s failed", self.chat_id, exc_info=True)

    async def _flush(self) -> None:
        """Bring the chat up to date: edit the messages whose part changed, send the new ones."""
        messages = html_messages(self._spans(), self.limit)
        for index, markup in enumerate(messages):
            if index < len(self._sent):
                message_id, shown = self._sent[index]
                if shown == markup:
                    continue
                await self._edit(message_id, markup)
                self._sent[index] = (message_id, markup)
            else:
                sent = await self.bot.send_message(
                    chat_id=self.chat_id,
                    text=markup,
                    parse_mode="HTML",
                    reply_parameters=(
                        ReplyParameters(message_id=self.reply_to, allow_sending_without_reply=True)
                        if index == 0 and self.reply_to is not None
                        else None
                    ),
                )
                self._sent.append((sent.message_id, markup))
            self._not_before = self._loop.time() + self.interval

    async def _edit(self, message_id: int, markup: str) -> None:
        try:
            await self.bot.edit_message_text(
                chat_id=self.chat_id, message_id=message_id, text=markup, parse_mode="HTML"
            )
        except TelegramBadRequest as error:
            if not not_modified(error):
                raise

    async def _keep_typing(self) -> None:
        while True:
            try:
                await self.bot.send_chat_action(chat_id=self.chat_id, action="typing")
            except Exception:  # the indicator is a courtesy: a failure never stops the answer
                logger.debug("typing indicator for chat %s failed", self.chat_id, exc_info=True)
            await asyncio.sleep(TYPING_EVERY)

    async def _stop_tasks(self) -> None:
        for task in (self._flusher, self._typing):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._flusher = self._typing = None
