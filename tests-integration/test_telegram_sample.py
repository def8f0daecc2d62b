"""samples/telegram_agent.py as a user runs it: the assistant answers in a chat (a calculator step
shown as one line), a chat is linked with a code, and a background run is pushed to it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
import pytest
from openai import AsyncOpenAI

from hosting.core import MemoryStore
from hosting.telegram.testing import BotAPIStandIn, wait_until
from hosting.testing import serving

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
if str(SAMPLES) not in sys.path:
    sys.path.insert(0, str(SAMPLES))

import telegram_agent  # noqa: E402


def test_the_sample_needs_a_token() -> None:
    with pytest.raises(SystemExit, match="TELEGRAM_BOT_TOKEN"):
        telegram_agent.build_host({})


async def test_the_sample_answers_links_and_pushes() -> None:
    api = BotAPIStandIn()
    async with serving(api) as api_url:
        environ = {
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_BASE_URL": api_url,
            "HOSTING_API_KEYS": "key-ada:ada",
        }
        host, mode = telegram_agent.build_host(environ, store=MemoryStore())
        assert "Telegram by polling" in mode
        async with serving(host) as url:
            api.queue_update(api.message_update(42, "What is 17 * 23?"))
            await wait_until(lambda: any("391" in text for text in api.chat_texts(42)), within=10)
            assert api.chat(42)[0].html.startswith("<i>⚙️ calculator</i>")
            async with httpx.AsyncClient() as client:
                response = await client.post(
                    f"{url}/telegram/link-codes", headers={"Authorization": "Bearer key-ada"}
                )
            api.queue_update(api.message_update(42, f"/link {response.json()['code']}"))
            await wait_until(lambda: api.chat_texts(42)[-1].startswith("Linked."))
            sdk = AsyncOpenAI(base_url=f"{url}/v1", api_key="key-ada", max_retries=0)
            created = await sdk.responses.create(
                model="assistant",
                input="What is 6 * 7?",
                background=True,
                extra_body={"deliver_to": "telegram"},
            )
            for _ in range(300):
                if (await sdk.responses.retrieve(created.id)).status == "completed":
                    break
                await asyncio.sleep(0.02)
            await wait_until(lambda: "42" in api.chat_texts(42)[-1])
            await sdk.close()


async def test_the_sample_in_webhook_mode_takes_updates_by_their_secret_and_keeps_keys_for_the_rest() -> None:
    api = BotAPIStandIn()
    async with serving(api) as api_url:
        environ = {
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_BASE_URL": api_url,
            "TELEGRAM_WEBHOOK_SECRET": "sample-secret",
            "HOSTING_API_KEYS": "key-ada:ada",
        }
        host, mode = telegram_agent.build_host(environ, store=MemoryStore())
        assert "Telegram by webhook" in mode
        async with serving(host) as url:
            api.webhook_url, api.webhook_secret = f"{url}/telegram/webhook", "sample-secret"
            assert await api.post_to_webhook(api.message_update(42, "What is 17 * 23?")) == 200
            await wait_until(lambda: any("391" in text for text in api.chat_texts(42)), within=10)
            assert await api.post_to_webhook(api.message_update(42, "again"), secret="guess") == 401
            async with httpx.AsyncClient() as client:
                assert (await client.post(f"{url}/telegram/link-codes")).status_code == 401
                assert (await client.get(f"{url}/v1/models")).status_code == 401
                models = await client.get(f"{url}/v1/models", headers={"Authorization": "Bearer key-ada"})
                assert models.status_code == 200
        assert api.calls_of("getUpdates") == []
