"""Photos and documents become image and file input parts, their bytes fetched from Telegram."""

from __future__ import annotations

import asyncio
import base64

import pytest

import hosting.telegram._reply as reply_module
from hosting.core import FilePart, ImagePart, Message, TextPart
from hosting.telegram.testing import wait_until
from hosting.testing import ScriptedAgent

from .conftest import ServedStandIn, telegram_host

PHOTO = b"\xff\xd8\xff\xe0 a small jpeg " + bytes(range(256)) * 4


async def test_a_photo_with_a_caption_is_an_image_and_text(bot_api: ServedStandIn) -> None:
    agent = ScriptedAgent(["A nice picture."])
    host = telegram_host(bot_api, agent)
    api = bot_api.api
    async with host.lifespan():
        api.queue_update(api.message_update(42, caption="What is this?", photo=PHOTO))
        await wait_until(lambda: api.chat_texts(42) == ["A nice picture."])
    [message] = agent.runs[0].input
    assert isinstance(message, Message) and message.role == "user"
    image, text = message.parts
    assert text == TextPart("What is this?")
    assert isinstance(image, ImagePart) and image.url is not None
    prefix = "data:image/jpeg;base64,"
    assert image.url.startswith(prefix)
    assert base64.b64decode(image.url[len(prefix) :]) == PHOTO  # the largest size, not the thumbnail
    [get_file] = api.calls_of("getFile")
    assert get_file.params["file_id"] == api.message_update(1, photo=PHOTO)["message"]["photo"][-1]["file_id"]


async def test_a_document_is_a_file_part(bot_api: ServedStandIn) -> None:
    agent = ScriptedAgent(["Read it."])
    host = telegram_host(bot_api, agent)
    api = bot_api.api
    content = b"name,score\nada,10\n"
    async with host.lifespan():
        api.queue_update(api.message_update(42, document=("scores.csv", "text/csv", content)))
        await wait_until(lambda: api.chat_texts(42) == ["Read it."])
    [message] = agent.runs[0].input
    assert isinstance(message, Message)
    [part] = message.parts
    assert isinstance(part, FilePart)
    assert part.filename == "scores.csv" and part.data is not None
    assert base64.b64decode(part.data) == content


async def test_a_file_over_the_limit_is_refused_politely(bot_api: ServedStandIn) -> None:
    agent = ScriptedAgent(["never"])
    host = telegram_host(bot_api, agent, max_file_bytes=100)
    api = bot_api.api
    async with host.lifespan():
        api.queue_update(api.message_update(42, document=("big.bin", "application/octet-stream", b"x" * 500)))
        await wait_until(lambda: len(api.chat(42)) == 1)
    assert api.chat_texts(42)[0].startswith("That file is too large")
    assert agent.runs == []
    assert api.calls_of("getFile") == []  # refused by its announced size, before any download


async def test_a_file_telegram_cannot_give_ends_the_turn_cleanly(
    bot_api: ServedStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reply_module, "TYPING_EVERY", 0.05)
    agent = ScriptedAgent(["never"])
    host = telegram_host(bot_api, agent)
    api = bot_api.api
    async with host.lifespan():
        update = api.message_update(42, caption="look", photo=PHOTO)
        api.files.clear()  # gone from Telegram's servers: getFile fails
        api.queue_update(update)
        await wait_until(lambda: api.chat_texts(42) == ["⚠️ Sorry, something went wrong."])
        typing = len(api.calls_of("sendChatAction"))
        await asyncio.sleep(0.3)
        assert len(api.calls_of("sendChatAction")) == typing  # the indicator stopped with the turn
    assert agent.runs == []
