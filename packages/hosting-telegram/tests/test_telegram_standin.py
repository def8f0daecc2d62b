"""The stand-in refuses what the real Bot API refuses, so the channel's tests can fail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)

from hosting.telegram.testing import METHODS

from .conftest import ServedStandIn


@pytest.fixture
async def bot(bot_api: ServedStandIn) -> AsyncIterator[Bot]:
    client = Bot(bot_api.api.token, session=AiohttpSession(api=TelegramAPIServer.from_base(bot_api.url)))
    bot_api.api.open_chat(7)
    yield client
    await client.session.close()


async def raw_call(
    bot_api: ServedStandIn, method: str, data: dict[str, Any], token: str | None = None
) -> tuple[int, Any]:
    url = f"{bot_api.url}/bot{token or bot_api.api.token}/{method}"
    async with aiohttp.ClientSession() as session, session.post(url, data=data) as response:
        return response.status, await response.json()


def test_every_method_the_channel_uses_is_modelled() -> None:
    used = {"getme", "getupdates", "sendmessage", "editmessagetext", "sendchataction", "setmycommands"}
    assert used | {"setwebhook", "deletewebhook", "getfile"} <= METHODS.keys()


async def test_send_and_edit(bot: Bot, bot_api: ServedStandIn) -> None:
    sent = await bot.send_message(chat_id=7, text="<b>hi</b> &amp; bye", parse_mode="HTML")
    assert sent.text == "hi & bye"
    edited = await bot.edit_message_text(chat_id=7, message_id=sent.message_id, text="new", parse_mode="HTML")
    assert not isinstance(edited, bool) and edited.text == "new"
    assert bot_api.api.chat(7)[0].versions == ["<b>hi</b> &amp; bye", "new"]


async def test_an_unchanged_edit_is_not_modified(bot: Bot, bot_api: ServedStandIn) -> None:
    sent = await bot.send_message(chat_id=7, text="same", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(chat_id=7, message_id=sent.message_id, text="same", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(chat_id=7, message_id=9999, text="other", parse_mode="HTML")


async def test_text_over_the_limit_empty_or_bad_html_is_refused(bot: Bot, bot_api: ServedStandIn) -> None:
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(chat_id=7, text="x" * 4097)
    # The limit is on visible text: markup does not count.
    await bot.send_message(chat_id=7, text="<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(chat_id=7, text="<b> </b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(chat_id=7, text="1 < 2", parse_mode="HTML")
    assert len(bot_api.api.chat(7)) == 1


async def test_unknown_method_wrong_token_and_wrong_types(bot_api: ServedStandIn) -> None:
    status, body = await raw_call(bot_api, "sendMessages", {"chat_id": "7", "text": "x"})
    assert (status, body["ok"], body["error_code"]) == (404, False, 404)
    status, body = await raw_call(bot_api, "sendMessage", {"chat_id": "7", "text": "x"}, token="1:wrong")
    assert status == 401
    status, body = await raw_call(
        bot_api, "editMessageText", {"chat_id": "7", "message_id": "abc", "text": "x"}
    )
    assert status == 400 and "message_id" in body["description"]
    status, body = await raw_call(bot_api, "sendMessage", {"chat_id": "7"})
    assert status == 400 and "text" in body["description"]
    status, body = await raw_call(
        bot_api, "setMyCommands", {"commands": '[{"command": "Bad Name", "description": "x"}]'}
    )
    assert status == 400 and "BOT_COMMAND_INVALID" in body["description"]
    assert bot_api.api.messages == {} and bot_api.api.commands == []


async def test_a_chat_no_user_opened_is_not_found(bot: Bot, bot_api: ServedStandIn) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(chat_id=8, text="hello?")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_chat_action(chat_id=8, action="typing")
    assert bot_api.api.chat(8) == []


async def test_429_on_demand(bot: Bot, bot_api: ServedStandIn) -> None:
    bot_api.api.fail("sendMessage", retry_after=3)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(chat_id=7, text="x")
    assert caught.value.retry_after == 3
    await bot.send_message(chat_id=7, text="x")
    assert bot_api.api.chat_texts(7) == ["x"]


async def test_get_updates_confirms_by_offset_and_conflicts_with_a_webhook(
    bot: Bot, bot_api: ServedStandIn
) -> None:
    first = bot_api.api.message_update(5, "one")
    second = bot_api.api.message_update(5, "two")
    bot_api.api.queue_update(first)
    bot_api.api.queue_update(second)
    updates = await bot.get_updates(timeout=0)
    assert [update.update_id for update in updates] == [first["update_id"], second["update_id"]]
    assert updates[0].message is not None and updates[0].message.text == "one"
    again = await bot.get_updates(offset=second["update_id"], timeout=0)
    assert [update.update_id for update in again] == [second["update_id"]]
    await bot.set_webhook(url="https://bot.example/hook", secret_token="s3cret")
    with pytest.raises(TelegramConflictError):
        await bot.get_updates(timeout=0)
    await bot.delete_webhook()
    assert len(await bot.get_updates(timeout=0)) == 1


async def test_files_download_by_path(bot: Bot, bot_api: ServedStandIn) -> None:
    file_id = bot_api.api.add_file(b"\x89PNG data", "photos/cat.png")
    file = await bot.get_file(file_id)
    assert file.file_path is not None and file.file_size == 9
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == b"\x89PNG data"
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("nope")


async def test_a_wrong_token_is_unauthorized(bot_api: ServedStandIn) -> None:
    other = Bot("42:other", session=AiohttpSession(api=TelegramAPIServer.from_base(bot_api.url)))
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await other.get_me()
    finally:
        await other.session.close()
