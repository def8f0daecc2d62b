"""A stand-in for the Telegram Bot API, for tests: an ASGI app for one bot.

It implements the methods the channel uses (getMe, getUpdates, sendMessage,
editMessageText, sendChatAction, setMyCommands, setWebhook, deleteWebhook,
getWebhookInfo, getFile and file downloads) and refuses what the real API
refuses: an unknown method (404), a wrong token (401), parameters that do not
validate against aiogram's own model of the method (400), a text that is empty,
over 4096 characters or bad HTML, a chat no user opened, an edit that changes nothing ("message is not
modified"), getUpdates while a webhook is set (409), and, on demand, any method
with a 429 and ``retry_after`` or another error.

Tests act as Telegram's users with `message_update` and then either queue the
update for getUpdates (`queue_update`) or post it to the registered webhook
(`post_to_webhook`), and read what the bot did in `calls`, `chat()` and `chat_texts()`.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiogram import methods as aiogram_methods
from aiogram.methods.base import TelegramMethod
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from ._format import MESSAGE_LIMIT, utf16_length
from ._standin_html import HTMLParseError, visible_text
from ._standin_wire import BotAPIError, chat_id_of, error_response, method_params

METHODS: dict[str, type[TelegramMethod[Any]]] = {
    cls.__api_method__.lower(): cls
    for cls in vars(aiogram_methods).values()
    if isinstance(cls, type) and issubclass(cls, TelegramMethod) and cls is not TelegramMethod
}
"""aiogram's model of every Bot API method, by lower-cased name (method names are case-insensitive)."""


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


@dataclass(slots=True)
class _Failure:
    status: int
    description: str
    retry_after: int | None
    times: int


class BotAPIStandIn:
    """A Bot API server for one bot. Serve it (``hosting.testing.serving(stand_in)``) and point
    the channel's ``api_base_url`` at it.

    Args:
        token: the bot's token (``<bot id>:<secret>``).
        username: the bot's username (without ``@``).
    """

    def __init__(
        self, token: str = "123456789:TEST-stand-in-token", *, username: str = "hosting_test_bot"
    ) -> None:
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
        self._next_update_id = 1000
        self._next_message_id = 1
        self._new_update = asyncio.Event()
        self._failures: dict[str, list[_Failure]] = {}
        self._router = Router(
            routes=[
                Route("/bot{token}/{method}", self._method, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._download, methods=["GET"]),
            ]
        )

    # -- what tests do -----------------------------------------------------------------------------

    def message_update(
        self,
        chat_id: int,
        text: str | None = None,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Ada",
        caption: str | None = None,
        photo: bytes | None = None,
        document: tuple[str, str, bytes] | None = None,
        reply_to_bot: bool = False,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """An update carrying a user's message (not yet delivered), with the next update id.

        `photo` is the image's bytes (kept as a downloadable file); `document` is
        ``(file name, MIME type, bytes)``; `reply_to_bot` makes it a reply to the bot's last
        message in the chat.
        """
        user = user_id if user_id is not None else chat_id
        self.open_chat(chat_id)
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type != "private":
            chat["title"] = f"group {chat_id}"
        message: dict[str, Any] = {
            "message_id": self._message_id(),
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": user, "is_bot": False, "first_name": first_name},
        }
        if text is not None:
            message["text"] = text
            if entities is None and text.startswith("/"):
                command = text.split()[0]
                entities = [{"type": "bot_command", "offset": 0, "length": len(command)}]
            if entities:
                message["entities"] = entities
        if caption is not None:
            message["caption"] = caption
        if photo is not None:
            small = self.add_file(photo[: max(1, len(photo) // 4)], "photos/small.jpg")
            large = self.add_file(photo, "photos/large.jpg")
            message["photo"] = [
                {"file_id": small, "file_unique_id": f"u{small}", "width": 90, "height": 60},
                {"file_id": large, "file_unique_id": f"u{large}", "width": 1280, "height": 853},
            ]
        if document is not None:
            name, mime, content = document
            file_id = self.add_file(content, f"documents/{name}")
            message["document"] = {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_name": name,
                "mime_type": mime,
                "file_size": len(content),
            }
        if reply_to_bot:
            last = max(
                (m for m in self.messages.values() if m.chat_id == chat_id), key=lambda m: m.message_id
            )
            message["reply_to_message"] = {
                "message_id": last.message_id,
                "date": int(time.time()),
                "chat": chat,
                "from": self._me(),
                "text": last.text,
            }
        self._next_update_id += 1
        return {"update_id": self._next_update_id, "message": message}

    def open_chat(self, chat_id: int) -> None:
        """Make a chat known to the bot (a user wrote to it); the bot cannot write to others."""
        self.known_chats.add(chat_id)

    def queue_update(self, update: Mapping[str, Any]) -> None:
        """Make `update` available to getUpdates (again, if it was delivered before)."""
        self._updates.append(dict(update))
        self._updates.sort(key=lambda queued: int(queued["update_id"]))
        self._new_update.set()

    async def post_to_webhook(self, update: Mapping[str, Any], *, secret: str | None = None) -> int:
        """Post `update` to the registered webhook, as Telegram does; returns the HTTP status.

        `secret` overrides the registered secret token (to send a wrong one).
        """
        if self.webhook_url is None:
            raise RuntimeError("no webhook is set")
        token = secret if secret is not None else self.webhook_secret
        headers = {"X-Telegram-Bot-Api-Secret-Token": token} if token else {}
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.webhook_url, json=dict(update), headers=headers) as response,
        ):
            await response.read()
            return response.status

    def fail(
        self,
        method: str,
        *,
        retry_after: int | None = None,
        status: int | None = None,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` fail: with a 429 and `retry_after`, or with
        `status` and `description` (a 403 "bot was blocked by the user", say)."""
        if retry_after is not None:
            failure = _Failure(429, f"Too Many Requests: retry after {retry_after}", retry_after, times)
        else:
            failure = _Failure(status or 400, description or "Bad Request", None, times)
        self._failures.setdefault(method.lower(), []).append(failure)

    def add_file(self, content: bytes, path: str) -> str:
        """Keep a downloadable file; returns its file id."""
        file_id = "F" + hashlib.sha256(content + path.encode()).hexdigest()[:20]
        self.files[file_id] = (f"{path.rsplit('.', 1)[0]}_{file_id}.{path.rsplit('.', 1)[-1]}", content)
        return file_id

    def calls_of(self, method: str) -> list[Call]:
        """The calls of one method, in order."""
        return [call for call in self.calls if call.method == method]

    def chat(self, chat_id: int) -> list[SentMessage]:
        """The bot's messages in a chat, oldest first."""
        return sorted((m for m in self.messages.values() if m.chat_id == chat_id), key=lambda m: m.message_id)

    def chat_texts(self, chat_id: int) -> list[str]:
        """The visible text of the bot's messages in a chat, oldest first."""
        return [message.text for message in self.chat(chat_id)]

    # -- ASGI --------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._router(scope, receive, send)

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return error_response(BotAPIError(401, "Unauthorized"))
        for path, content in self.files.values():
            if path == request.path_params["path"]:
                return Response(content, media_type="application/octet-stream")
        return error_response(BotAPIError(404, "Not Found"))

    async def _method(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return error_response(BotAPIError(401, "Unauthorized"))
        name = request.path_params["method"].lower()
        model = METHODS.get(name)
        handler = getattr(self, f"_do_{name}", None)
        if model is None or handler is None:
            return error_response(BotAPIError(404, "Not Found: method not found"))
        try:
            params = await method_params(request, model)
            self.calls.append(Call(model.__api_method__, params, time.monotonic()))
            self._maybe_fail(name)
            result = await handler(params)
        except BotAPIError as error:
            return error_response(error)
        return JSONResponse({"ok": True, "result": result})

    def _maybe_fail(self, name: str) -> None:
        pending = self._failures.get(name)
        if not pending:
            return
        failure = pending[0]
        failure.times -= 1
        if failure.times <= 0:
            pending.pop(0)
        raise BotAPIError(failure.status, failure.description, failure.retry_after)

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
        deadline = time.monotonic() + float(params.get("timeout") or 0)
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
