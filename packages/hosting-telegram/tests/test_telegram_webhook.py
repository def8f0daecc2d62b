"""Webhook mode end to end: the secret token, bad bodies, redelivered updates (also after a restart)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from aiogram.exceptions import TelegramUnauthorizedError
from starlette.applications import Starlette
from starlette.routing import Mount

from hosting.core import ApiKeyAuthenticator, ConfigurationError, Host, MemoryStore, SQLiteStore
from hosting.telegram import SECRET_HEADER, TelegramChannel
from hosting.telegram.testing import wait_until
from hosting.testing import EchoAgent, ScriptedAgent, serving

from .conftest import ServedStandIn, telegram_host

SECRET = "s3cret-token_1"


async def test_the_webhook_is_registered_at_start_up_and_no_polling_happens(bot_api: ServedStandIn) -> None:
    host = telegram_host(
        bot_api,
        ScriptedAgent(["hi"]),
        webhook_secret=SECRET,
        webhook_url="https://bot.example/telegram/webhook",
    )
    async with host.lifespan():
        assert bot_api.api.webhook_url == "https://bot.example/telegram/webhook"
        assert bot_api.api.webhook_secret == SECRET
        await asyncio.sleep(0.2)
    assert bot_api.api.calls_of("setWebhook")[0].params["allowed_updates"] == ["message"]
    assert bot_api.api.calls_of("getUpdates") == [] and bot_api.api.calls_of("deleteWebhook") == []


async def test_updates_by_webhook_are_answered_once(bot_api: ServedStandIn) -> None:
    agent = ScriptedAgent(["pong"])
    host = telegram_host(bot_api, agent, webhook_secret=SECRET)
    async with serving(host) as url:
        bot_api.api.webhook_url, bot_api.api.webhook_secret = f"{url}/telegram/webhook", SECRET
        update = bot_api.api.message_update(42, "ping")
        assert await bot_api.api.post_to_webhook(update) == 200
        await wait_until(lambda: bot_api.api.chat_texts(42) == ["pong"])
        # Telegram delivers it again (it did not see our answer in time, say): handled once.
        assert await bot_api.api.post_to_webhook(update) == 200
        await asyncio.sleep(0.3)
    assert len(agent.runs) == 1
    assert bot_api.api.chat_texts(42) == ["pong"]


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({}, b'{"update_id": 1}', 401),
        ({SECRET_HEADER: "wrong"}, b'{"update_id": 1}', 401),
        ({SECRET_HEADER: SECRET}, b"not json", 400),
        ({SECRET_HEADER: SECRET}, b"[1, 2]", 400),
        ({SECRET_HEADER: SECRET}, b'{"message": {"text": "no update id"}}', 400),
        ({SECRET_HEADER: SECRET}, b'{"update_id": "x"}', 400),
    ],
)
async def test_bad_webhook_requests_are_refused_and_change_nothing(
    bot_api: ServedStandIn, headers: dict[str, str], body: bytes, status: int
) -> None:
    agent = ScriptedAgent(["pong"])
    store = MemoryStore()
    host = telegram_host(bot_api, agent, store=store, webhook_secret=SECRET)
    async with serving(host) as url, httpx.AsyncClient() as client:
        response = await client.post(f"{url}/telegram/webhook", content=body, headers=headers)
        assert response.status_code == status
        assert response.json()["error"]["message"]
        # The same update id, properly sent, is still new: the refusal remembered nothing.
        good = bot_api.api.message_update(42, "ping") | {"update_id": 1}
        response = await client.post(f"{url}/telegram/webhook", json=good, headers={SECRET_HEADER: SECRET})
        assert response.status_code == 200
        await wait_until(lambda: bot_api.api.chat_texts(42) == ["pong"])
    assert len(agent.runs) == 1


async def test_updates_are_handled_once_across_a_restart(bot_api: ServedStandIn, tmp_path: Path) -> None:
    first_agent, second_agent = EchoAgent(), EchoAgent()
    update = bot_api.api.message_update(42, "remember me")
    host = telegram_host(bot_api, first_agent, store=SQLiteStore(tmp_path), webhook_secret=SECRET)
    async with serving(host) as url:
        bot_api.api.webhook_url, bot_api.api.webhook_secret = f"{url}/telegram/webhook", SECRET
        assert await bot_api.api.post_to_webhook(update) == 200
        await wait_until(lambda: len(bot_api.api.chat(42)) == 1)
    answered = bot_api.api.chat_texts(42)

    host = telegram_host(bot_api, second_agent, store=SQLiteStore(tmp_path), webhook_secret=SECRET)
    async with serving(host) as url:
        bot_api.api.webhook_url = f"{url}/telegram/webhook"
        assert await bot_api.api.post_to_webhook(update) == 200  # redelivered after the restart
        newer = bot_api.api.message_update(42, "and this")
        assert await bot_api.api.post_to_webhook(newer) == 200
        await wait_until(lambda: len(bot_api.api.chat(42)) == 2)
        await asyncio.sleep(0.2)
    assert len(bot_api.api.chat(42)) == 2
    assert bot_api.api.chat_texts(42)[0] == answered[0]
    # The chat's conversation survived the restart too: the echo of the second turn has both.
    assert "remember me" in bot_api.api.chat_texts(42)[1] and "and this" in bot_api.api.chat_texts(42)[1]


async def test_on_a_host_with_an_authenticator_the_secret_lets_telegram_in_and_nobody_else(
    bot_api: ServedStandIn,
) -> None:
    agent = ScriptedAgent(["pong"])
    store = MemoryStore()
    keys = ApiKeyAuthenticator({"key-a": "alice"})
    host = telegram_host(
        bot_api, agent, store=store, webhook_secret=SECRET, host_options={"authenticator": keys}
    )
    async with serving(host) as url, httpx.AsyncClient() as client:
        bot_api.api.webhook_url, bot_api.api.webhook_secret = f"{url}/telegram/webhook", SECRET
        # The webhook is a public path: Telegram's secret, not an API key, lets the update in.
        assert await bot_api.api.post_to_webhook(bot_api.api.message_update(42, "ping")) == 200
        await wait_until(lambda: bot_api.api.chat_texts(42) == ["pong"])
        refused = await client.post(
            f"{url}/telegram/webhook",
            json=bot_api.api.message_update(42, "x"),
            headers={SECRET_HEADER: "wrong", "Authorization": "Bearer key-a"},  # a key is no secret
        )
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_secret_token"
        assert await bot_api.api.post_to_webhook(bot_api.api.message_update(42, "y"), secret="wrong") == 401
        # The secret opens the webhook only, never another route, nor a path below the webhook.
        response = await client.post(f"{url}/telegram/link-codes", headers={SECRET_HEADER: SECRET})
        assert response.status_code == 401
        response = await client.post(f"{url}/telegram/webhook/x", headers={SECRET_HEADER: SECRET})
        assert response.status_code == 401
        response = await client.post(f"{url}/telegram/link-codes", headers={"Authorization": "Bearer key-a"})
        assert response.status_code == 201
    assert len(agent.runs) == 1
    # The turn ran as the chat's own user; the webhook request itself was nobody's.
    assert agent.runs[0].isolation.user == "telegram:42"
    assert (await store.list_conversations("anonymous")).records == ()
    assert len((await store.list_conversations("telegram:42")).records) == 1


async def test_in_polling_mode_there_is_no_public_webhook(bot_api: ServedStandIn) -> None:
    keys = ApiKeyAuthenticator({"key-a": "alice"})
    host = telegram_host(bot_api, ScriptedAgent(["pong"]), host_options={"authenticator": keys})
    async with serving(host) as url, httpx.AsyncClient() as client:
        response = await client.post(f"{url}/telegram/webhook", headers={SECRET_HEADER: SECRET}, json={})
        assert response.status_code == 401
        assert response.json()["error"]["code"]


def test_configuration_mistakes_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="token"):
        TelegramChannel("not-a-token")
    with pytest.raises(ConfigurationError, match="webhook_secret"):
        TelegramChannel("1:x", webhook_url="https://bot.example/hook")
    with pytest.raises(ConfigurationError, match="webhook_secret must not be empty"):
        TelegramChannel("1:x", webhook_secret="")


def test_from_environ() -> None:
    assert TelegramChannel.from_environ({}) is None
    polling = TelegramChannel.from_environ(
        {"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_API_BASE_URL": "http://127.0.0.1:1"}
    )
    assert polling is not None and polling.mode == "polling" and polling.api_base_url == "http://127.0.0.1:1"
    webhook = TelegramChannel.from_environ({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_WEBHOOK_SECRET": "abc"})
    assert webhook is not None and webhook.mode == "webhook" and webhook.webhook_secret == "abc"


async def test_other_methods_are_refused_in_the_channels_shape(bot_api: ServedStandIn) -> None:
    host = telegram_host(bot_api, ScriptedAgent(["pong"]), webhook_secret=SECRET)
    async with serving(host) as url, httpx.AsyncClient() as client:
        for path in ("/telegram/webhook", "/telegram/link-codes"):
            response = await client.get(f"{url}{path}", headers={SECRET_HEADER: SECRET})
            assert response.status_code == 405
            assert response.headers["allow"] == "POST"
            assert response.json()["error"]["code"] == "method_not_allowed"
        response = await client.post(f"{url}/telegram/nowhere")
        assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_path"


async def test_a_wrong_token_stops_the_host_from_starting(bot_api: ServedStandIn) -> None:
    channel = TelegramChannel("99:not-this-bot", api_base_url=bot_api.url)
    host = Host(ScriptedAgent(["pong"]), channels=[channel], store=MemoryStore())
    with pytest.raises(TelegramUnauthorizedError):
        await host.startup()
    assert bot_api.api.calls_of("getUpdates") == []


async def test_the_webhook_works_in_a_host_mounted_under_a_path(bot_api: ServedStandIn) -> None:
    agent = ScriptedAgent(["pong"])
    channel = TelegramChannel(
        bot_api.api.token, api_base_url=bot_api.url, webhook_secret=SECRET, edit_interval=0.05
    )
    host = Host(
        agent, channels=[channel], store=MemoryStore(), authenticator=ApiKeyAuthenticator({"key-a": "alice"})
    )
    app = Starlette(routes=[Mount("/bots", app=host)], lifespan=host.lifespan)
    async with serving(app) as url:
        bot_api.api.webhook_url, bot_api.api.webhook_secret = f"{url}/bots/telegram/webhook", SECRET
        assert await bot_api.api.post_to_webhook(bot_api.api.message_update(42, "ping")) == 200
        await wait_until(lambda: bot_api.api.chat_texts(42) == ["pong"])
        assert await bot_api.api.post_to_webhook(bot_api.api.message_update(42, "x"), secret="nope") == 401
    async with serving(app) as url, httpx.AsyncClient() as client:
        # Public relative to the mount: the same path at the parent's root is nothing of the host's.
        response = await client.post(f"{url}/bots/telegram/link-codes", headers={SECRET_HEADER: SECRET})
        assert response.status_code == 401
    assert len(agent.runs) == 1
