"""Identity linking: a host user asks for a code over HTTP, a Telegram chat sends /link CODE."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from hosting.core import ApiKeyAuthenticator, IsolationKeys, MemoryStore
from hosting.telegram.testing import wait_until
from hosting.testing import ScriptedAgent, serving

from .conftest import ServedStandIn, telegram_host

KEYS = {"key-alice": "alice", "key-bob": "bob"}


class RecordingStore(MemoryStore):
    """A memory store that records the session state keys and the tokens written."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[str] = []

    async def put_session_state(self, owner: str, key: str, state: Mapping[str, Any]) -> None:
        self.written.append(key)
        await super().put_session_state(owner, key, state)

    async def put_token(
        self, namespace: str, token: str, *, owner: str, data: Mapping[str, Any], ttl: float
    ) -> None:
        self.written.append(f"{namespace}/{token}")
        await super().put_token(namespace, token, owner=owner, data=data, ttl=ttl)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def link_code(
    client: httpx.AsyncClient, url: str, key: str, body: dict[str, object] | None = None
) -> str:
    response = await client.post(f"{url}/telegram/link-codes", headers=auth(key), json=body)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["command"] == f"/link {answer['code']}"
    assert time.time() < answer["expires_at"] <= time.time() + 601
    code: str = answer["code"]
    return code


async def send(bot_api: ServedStandIn, chat_id: int, text: str, count: int) -> str:
    """Send `text` from a private chat; wait for the bot's `count`-th message there and return it."""
    bot_api.api.queue_update(bot_api.api.message_update(chat_id, text))
    await wait_until(lambda: len(bot_api.api.chat(chat_id)) >= count)
    await asyncio.sleep(0.05)
    return bot_api.api.chat_texts(chat_id)[count - 1]


async def test_a_linked_chat_talks_as_the_host_user(bot_api: ServedStandIn) -> None:
    store = MemoryStore()
    agent = ScriptedAgent(["ok"])
    host = telegram_host(
        bot_api, agent, store=store, host_options={"authenticator": ApiKeyAuthenticator(KEYS)}
    )
    async with serving(host) as url, httpx.AsyncClient() as client:
        assert await send(bot_api, 42, "before", 1) == "ok"
        code = await link_code(client, url, "key-alice")
        assert (await send(bot_api, 42, f"/link {code.lower()}", 2)).startswith("Linked.")
        assert await send(bot_api, 42, "after", 3) == "ok"
    before, after = agent.runs
    assert before.isolation == IsolationKeys(user="telegram:42")
    assert after.isolation == IsolationKeys(user="alice")
    # The chat's conversation is alice's now; bob sees none of it.
    assert after.conversation_id is not None
    assert await store.get_conversation("alice", after.conversation_id) is not None
    assert await store.get_conversation("bob", after.conversation_id) is None
    assert await store.get_identity_links("alice") == {"telegram": "42"}
    assert await store.get_identity_links("bob") == {}


async def test_unlink_makes_the_chat_itself_again(bot_api: ServedStandIn) -> None:
    agent = ScriptedAgent(["ok"])
    host = telegram_host(bot_api, agent, host_options={"authenticator": ApiKeyAuthenticator(KEYS)})
    async with serving(host) as url, httpx.AsyncClient() as client:
        assert "not linked" in await send(bot_api, 42, "/unlink", 1)
        code = await link_code(client, url, "key-alice")
        assert (await send(bot_api, 42, f"/link {code}", 2)).startswith("Linked.")
        assert await send(bot_api, 42, "as alice", 3) == "ok"
        assert (await send(bot_api, 42, "/unlink", 4)).startswith("Unlinked.")
        assert await send(bot_api, 42, "as myself", 5) == "ok"
    assert [run.isolation.user for run in agent.runs] == ["alice", "telegram:42"]


async def test_codes_work_once(bot_api: ServedStandIn) -> None:
    store = RecordingStore()
    host = telegram_host(
        bot_api, ScriptedAgent(["ok"]), store=store, host_options={"authenticator": ApiKeyAuthenticator(KEYS)}
    )
    async with serving(host) as url, httpx.AsyncClient() as client:
        code = await link_code(client, url, "key-alice")
        assert (await send(bot_api, 42, f"/link {code}", 1)).startswith("Linked.")
        assert "was used already" in await send(bot_api, 43, f"/link {code}", 1)
        assert "was used already" in await send(bot_api, 42, f"/link {code}", 2)
        assert "not a link code" in await send(bot_api, 43, "/link hello!", 2)
        assert "followed by the code" in await send(bot_api, 43, "/link", 3)
        # The code is in the store as a one-time token of alice's, never as anybody's session state.
        assert store.written == [f"telegram:link-codes/{code}", f"telegram:link:{bot_api.api.bot_id}"]


async def test_codes_expire(bot_api: ServedStandIn) -> None:
    store = MemoryStore()
    host = telegram_host(
        bot_api,
        ScriptedAgent(["ok"]),
        store=store,
        link_code_ttl=0.3,
        host_options={"authenticator": ApiKeyAuthenticator(KEYS)},
    )
    async with serving(host) as url, httpx.AsyncClient() as client:
        code = await link_code(client, url, "key-alice")
        await asyncio.sleep(0.5)
        assert "expired" in await send(bot_api, 42, f"/link {code}", 1)
    assert await store.get_identity_links("alice") == {}


async def test_a_code_for_another_telegram_user_is_refused(bot_api: ServedStandIn) -> None:
    store = MemoryStore()
    agent = ScriptedAgent(["ok"])
    host = telegram_host(
        bot_api, agent, store=store, host_options={"authenticator": ApiKeyAuthenticator(KEYS)}
    )
    async with serving(host) as url, httpx.AsyncClient() as client:
        code = await link_code(client, url, "key-alice", {"telegram_user_id": 43})
        assert "another Telegram account" in await send(bot_api, 42, f"/link {code}", 1)
        assert await store.get_identity_links("alice") == {}
        # Refused for the wrong account, the code still works for the right one.
        assert (await send(bot_api, 43, f"/link {code}", 1)).startswith("Linked.")
        assert await send(bot_api, 42, "who am I?", 2) == "ok"
    assert agent.runs[0].isolation.user == "telegram:42"
    assert await store.get_identity_links("alice") == {"telegram": "43"}


async def test_link_in_a_group_is_refused(bot_api: ServedStandIn) -> None:
    host = telegram_host(
        bot_api, ScriptedAgent(["ok"]), host_options={"authenticator": ApiKeyAuthenticator(KEYS)}
    )
    api = bot_api.api
    async with serving(host) as url, httpx.AsyncClient() as client:
        code = await link_code(client, url, "key-alice")
        api.queue_update(api.message_update(-5, f"/link {code}", user_id=42, chat_type="group"))
        await wait_until(lambda: len(api.chat(-5)) == 1)
        assert "private chat" in api.chat_texts(-5)[0]
        assert (await send(bot_api, 42, f"/link {code}", 1)).startswith("Linked.")  # not used up


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"not json", None),
        (b"[1]", None),
        (b'{"telegram_user_id": "42"}', "telegram_user_id"),
        (b'{"telegram_user_id": -1}', "telegram_user_id"),
        (b'{"telegram_user_id": true}', "telegram_user_id"),
        (b'{"user": "bob"}', "user"),
    ],
)
async def test_bad_link_code_requests_are_refused(
    bot_api: ServedStandIn, body: bytes, param: str | None
) -> None:
    store = RecordingStore()
    host = telegram_host(
        bot_api, ScriptedAgent(["ok"]), store=store, host_options={"authenticator": ApiKeyAuthenticator(KEYS)}
    )
    async with serving(host) as url, httpx.AsyncClient() as client:
        response = await client.post(
            f"{url}/telegram/link-codes",
            content=body,
            headers=auth("key-alice") | {"content-type": "application/json"},
        )
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] and error["message"]
        assert error.get("param") == param
        # Without a key, no code at all (the host's authenticator runs before the route).
        response = await client.post(f"{url}/telegram/link-codes")
        assert response.status_code == 401
        assert "error" in response.json()
    assert store.written == []  # nothing was kept
