"""One Telegram update, handled once: a command, or a turn of the agent streamed into the chat.

Who a chat talks as:

- a private chat of a Telegram user linked to a host user (``/link``) is that user;
- a private chat of any other Telegram user is ``telegram:<user id>``;
- a group is ``telegram-group:<chat id>``, whoever speaks in it (a group is read
  by all its members, so nobody's own conversations are ever answered from there).

Each chat is a session (``telegram:<chat id>``) the host binds to a conversation
of that user; ``/new`` binds it to a fresh one. In a group the bot answers only
a message that mentions it, replies to it, or is a command.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Coroutine
from functools import partial
from typing import Any

from aiogram import Bot
from aiogram.types import Message as TelegramMessage
from aiogram.types import Update, User

from hosting.core import FunctionCall, IsolationKeys, RequestError, ToolStep
from hosting.core.channels import (
    ChannelContext,
    ChannelIdentity,
    ChannelRequest,
    OutputItemAdded,
    OutputTextDelta,
    RunFinished,
    isolation_scope,
)

from ._commands import Commands, Conversation, parse_command
from ._format import Span, html_messages
from ._inputs import InputRefused, message_input
from ._reply import StreamedReply, with_retry_after
from ._state import ChannelState

logger = logging.getLogger("hosting.telegram")


class UpdateHandler:
    """Handles updates for one bot.

    Args:
        context: the channel's context.
        bot: the Bot API client.
        state: the channel's records (seen updates, links).
        commands: runs the chat commands.
        channel_name: the channel's name.
        edit_interval: seconds between two edits of a streamed answer (in a private chat).
        group_edit_interval: the same in a group.
        max_file_bytes: the largest photo or document taken as input.
    """

    def __init__(
        self,
        context: ChannelContext,
        bot: Bot,
        state: ChannelState,
        commands: Commands,
        *,
        channel_name: str,
        edit_interval: float,
        group_edit_interval: float,
        max_file_bytes: int,
    ) -> None:
        self.context = context
        self.bot = bot
        self.state = state
        self.commands = commands
        self.channel_name = channel_name
        self.edit_interval = edit_interval
        self.group_edit_interval = group_edit_interval
        self.max_file_bytes = max_file_bytes
        self.me: User | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- task bookkeeping --------------------------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background; `drain` waits for it at shutdown."""
        task = asyncio.create_task(work, name="hosting-telegram-update")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, grace: float) -> None:
        """Let running turns finish (within `grace` seconds), then cancel what is left."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- one update --------------------------------------------------------------------------------

    async def accept(self, update: Update) -> bool:
        """Handle `update` in the background, unless it was handled before. True when it is new."""
        if not await self.state.first_time(update.update_id):
            logger.info("update %s was delivered again; it is not handled twice", update.update_id)
            return False
        self.spawn(self.handle(update))
        return True

    async def handle(self, update: Update) -> None:
        """Answer the message of an update (other kinds of update are ignored)."""
        message = update.message
        if message is None or message.from_user is None or message.from_user.is_bot:
            return
        try:
            await self._handle_message(message, message.from_user)
        except Exception:
            logger.exception("update %s could not be handled", update.update_id)
            with contextlib.suppress(Exception):
                await self.bot.send_message(
                    chat_id=message.chat.id, text="⚠️ Sorry, something went wrong.", parse_mode="HTML"
                )

    async def _handle_message(self, message: TelegramMessage, sender: User) -> None:
        private = message.chat.type == "private"
        text = message.text or message.caption or ""
        call = parse_command(text)
        if call is not None and call.bot is not None and not self._is_me(call.bot):
            return  # a command for another bot in the group
        if not private and call is None:
            addressed, text = self._addressed(message, text)
            if not addressed:
                return
        conversation = await self._conversation(message, sender)
        if call is not None:
            answer = await self.commands.run(call, conversation)
            for markup in html_messages([Span("plain", answer)]):
                await with_retry_after(
                    partial(self.bot.send_message, chat_id=message.chat.id, text=markup, parse_mode="HTML")
                )
            return
        await self._answer(message, text, conversation, sender)

    def _is_me(self, username: str) -> bool:
        return self.me is not None and (self.me.username or "").lower() == username.lower()

    def _addressed(self, message: TelegramMessage, text: str) -> tuple[bool, str]:
        """Whether a group message is for the bot (mentions it, or replies to it), and its text
        without the mention."""
        me = self.me
        if me is None:
            return False, text
        replied = message.reply_to_message
        addressed = replied is not None and replied.from_user is not None and replied.from_user.id == me.id
        if me.username:
            mention = re.compile(rf"@{re.escape(me.username)}(?![A-Za-z0-9_])", re.IGNORECASE)
            found = mention.search(text)
            if found is not None:
                text = f"{text[: found.start()].rstrip()} {text[found.end() :].lstrip()}".strip()
                addressed = True
        return addressed, text

    async def _conversation(self, message: TelegramMessage, sender: User) -> Conversation:
        private = message.chat.type == "private"
        if private:
            user = await self.state.linked_user(sender.id) or f"telegram:{sender.id}"
        else:
            user = f"telegram-group:{message.chat.id}"
        return Conversation(
            keys=IsolationKeys(user=user),
            session_key=f"telegram:{message.chat.id}",
            chat_id=message.chat.id,
            telegram_user=sender.id,
            private=private,
        )

    async def _answer(
        self, message: TelegramMessage, text: str, conversation: Conversation, sender: User
    ) -> None:
        reply = StreamedReply(
            self.bot,
            message.chat.id,
            interval=self.edit_interval if conversation.private else self.group_edit_interval,
            reply_to=None if conversation.private else message.message_id,
        )
        reply.start_typing()
        try:
            await self._run_turn(reply, message, text, conversation, sender)
        finally:
            # Also when the turn failed or was cancelled (at shutdown): no typing task outlives it.
            await reply.abort()

    async def _run_turn(
        self,
        reply: StreamedReply,
        message: TelegramMessage,
        text: str,
        conversation: Conversation,
        sender: User,
    ) -> None:
        try:
            item = await message_input(self.bot, message, text=text, max_file_bytes=self.max_file_bytes)
        except InputRefused as refused:
            await reply.finish(str(refused))
            return
        if item is None:
            return
        request = ChannelRequest(
            channel=self.channel_name,
            input=(item,),
            session_key=conversation.session_key,
            stream=True,
            identity=ChannelIdentity(self.channel_name, str(message.chat.id), sender.full_name),
            attributes={"telegram": {"chat_id": message.chat.id, "message_id": message.message_id}},
        )
        notice: str | None = None
        try:
            with isolation_scope(conversation.keys):
                run = await self.context.run_stream(request)
                async for event in run.follow():
                    if isinstance(event, OutputTextDelta):
                        reply.add_text(event.delta)
                    elif isinstance(event, OutputItemAdded) and isinstance(
                        event.item, FunctionCall | ToolStep
                    ):
                        reply.add_step(event.item.name)
                    elif isinstance(event, RunFinished):
                        notice = _finish_notice(event)
        except RequestError as error:
            notice = f"⚠️ {error.message}"
        await reply.finish(notice)


def _finish_notice(event: RunFinished) -> str | None:
    """A line (plain text) for a run that did not complete."""
    if event.status == "completed":
        return None
    if event.status == "failed":
        detail = f": {event.error.message}" if event.error is not None and event.error.message else ""
        return f"⚠️ The agent could not answer{detail}"
    if event.status == "incomplete":
        return "(the answer was cut short)"
    return f"({event.status})"
