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

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from ._standin_methods import BotAPIMethods, Call, SentMessage
from ._standin_wire import METHODS, BotAPIError, error_response, method_params


@dataclass(slots=True)
class _Failure:
    status: int
    description: str
    retry_after: int | None
    times: int


class BotAPIStandIn(BotAPIMethods):
    """A Bot API server for one bot. Serve it (``hosting.testing.serving(stand_in)``) and point
    the channel's ``api_base_url`` at it.

    Args:
        token: the bot's token (``<bot id>:<secret>``).
        username: the bot's username (without ``@``).
    """

    def __init__(
        self, token: str = "123456789:TEST-stand-in-token", *, username: str = "hosting_test_bot"
    ) -> None:
        super().__init__(token, username)
        self._next_update_id = 1000
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
