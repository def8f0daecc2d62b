"""The Bot API methods the stand-in implements, over the state a bot has at Telegram.

`BotAPIMethods` keeps what Telegram keeps for one bot (the messages it sent, its
commands, its webhook, the files users sent, the updates waiting) and answers
each method as the real API does, refusing what it refuses (see `BotAPIStandIn`).
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from typing import Any

from ._format import MESSAGE_LIMIT, utf16_length
from ._standin_html import HTMLParseError, visible_text
from ._standin_wire import BotAPIError, chat_id_of


@dataclass(frozen=True, slots=True)
class Call:
    """A Bot API call the stand-in received: its method, validated parameters and time."""

    method: str
    params: dict[str, Any]
    at: float


@dataclass(slots=True)
class SentMessage:
    """A message the bot sent, as it is now, with its history of texts (HTML)."""

    chat_id: int
    message_id: int
    html: str
    text: str
    versions: list[str] = field(default_factory=list)


LONG_POLL_CAP = 1.0
"""The longest a getUpdates call waits for an update, whatever its timeout."""


class BotAPIMethods:
    """The state of one bot at Telegram, and the methods that read and change it.

    Args:
        token: the bot's token (``<bot id>:<secret>``).
        username: the bot's username (without ``@``).
    """

    def __init__(self, token: str, username: str) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.username = username
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], SentMessage] = {}
        self.commands: list[dict[str, str]] = []
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.files: dict[str, tuple[str, bytes]] = {}
        self.known_chats: set[int] = set()
        self._updates: list[dict[str, Any]] = []
        self._new_update = asyncio.Event()
        self._next_message_id = 1

    # -- methods -----------------------------------------------------------------------------------

    def _me(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Test bot", "username": self.username}

    def _message_id(self) -> int:
        self._next_message_id += 1
        return self._next_message_id

    async def _do_getme(self, params: dict[str, Any]) -> Any:
        return self._me()

    async def _do_getupdates(self, params: dict[str, Any]) -> Any:
        if self.webhook_url is not None:
            raise BotAPIError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        if offset is not None:
            # Asking from `offset` confirms every earlier update: Telegram forgets them.
            self._updates = [update for update in self._updates if int(update["update_id"]) >= offset]
        # Waits at most LONG_POLL_CAP, not the whole timeout: an empty answer is what Telegram gives
        # when the timeout passes, and a stand-in that never holds a request long stops at once.
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), LONG_POLL_CAP)
        while not self._updates and time.monotonic() < deadline:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())
            except TimeoutError:
                break
        return self._updates[: int(params.get("limit") or 100)]

    def _chat(self, params: dict[str, Any]) -> int:
        chat_id = chat_id_of(params)
        if chat_id not in self.known_chats:
            raise BotAPIError(400, "Bad Request: chat not found")
        return chat_id

    def _check_text(self, params: dict[str, Any]) -> tuple[str, str]:
        markup = str(params.get("text") or "")
        text = markup
        if params.get("parse_mode") is not None:
            if str(params["parse_mode"]).lower() != "html":
                raise BotAPIError(400, "Bad Request: unsupported parse_mode")
            try:
                text = visible_text(markup)
            except HTMLParseError as error:
                raise BotAPIError(400, str(error)) from None
        if not text.strip():
            raise BotAPIError(400, "Bad Request: message text is empty")
        if utf16_length(text) > MESSAGE_LIMIT:
            raise BotAPIError(400, "Bad Request: message is too long")
        return markup, text

    def _message(self, sent: SentMessage, *, edited: bool = False) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "chat": {"id": sent.chat_id, "type": "private" if sent.chat_id > 0 else "group"},
            "from": self._me(),
            "text": sent.text,
        }
        if edited:
            message["edit_date"] = int(time.time())
        return message

    async def _do_sendmessage(self, params: dict[str, Any]) -> Any:
        markup, text = self._check_text(params)
        chat_id = self._chat(params)
        sent = SentMessage(chat_id, self._message_id(), markup, text, [markup])
        self.messages[(chat_id, sent.message_id)] = sent
        return self._message(sent)

    async def _do_editmessagetext(self, params: dict[str, Any]) -> Any:
        markup, text = self._check_text(params)
        sent = self.messages.get((self._chat(params), int(params.get("message_id") or 0)))
        if sent is None:
            raise BotAPIError(400, "Bad Request: message to edit not found")
        if sent.html == markup:
            raise BotAPIError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        sent.html, sent.text = markup, text
        sent.versions.append(markup)
        return self._message(sent, edited=True)

    async def _do_sendchataction(self, params: dict[str, Any]) -> Any:
        self._chat(params)
        return True

    async def _do_setmycommands(self, params: dict[str, Any]) -> Any:
        commands = []
        for command in params.get("commands") or []:
            name, description = command["command"], command["description"]
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise BotAPIError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise BotAPIError(400, "Bad Request: command description is too long or empty")
            commands.append({"command": name, "description": description})
        self.commands = commands
        return True

    async def _do_setwebhook(self, params: dict[str, Any]) -> Any:
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise BotAPIError(400, "Bad Request: secret token contains unallowed characters")
        if not str(params["url"]).startswith(("http://", "https://")):
            raise BotAPIError(400, "Bad Request: bad webhook: invalid URL")
        self.webhook_url, self.webhook_secret = params["url"], secret
        return True

    async def _do_deletewebhook(self, params: dict[str, Any]) -> Any:
        self.webhook_url = self.webhook_secret = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _do_getwebhookinfo(self, params: dict[str, Any]) -> Any:
        return {"url": self.webhook_url or "", "has_custom_certificate": False, "pending_update_count": 0}

    async def _do_getfile(self, params: dict[str, Any]) -> Any:
        stored = self.files.get(params["file_id"])
        if stored is None:
            raise BotAPIError(400, "Bad Request: invalid file_id")
        path, content = stored
        return {
            "file_id": params["file_id"],
            "file_unique_id": f"u{params['file_id']}",
            "file_size": len(content),
            "file_path": path,
        }
