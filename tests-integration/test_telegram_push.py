"""A Responses background run (the official openai SDK) delivered to the caller's linked Telegram chat.

Each delivery outcome: pushed, skipped (no link), failed (Telegram refuses; kept for the operator),
and refused for a chat that is no longer the run's user's. Also: a linked chat's conversation is the
host user's, over the Responses Conversations API, both ways.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from hosting.core import ApiKeyAuthenticator, Host, MemoryStore
from hosting.responses import ResponsesChannel
from hosting.telegram import TelegramChannel
from hosting.telegram.testing import BotAPIStandIn, wait_until
from hosting.testing import ScriptedAgent, serving

API_KEYS = {"key-alice": "alice", "key-bob": "bob"}


@dataclass
class Stack:
    api: BotAPIStandIn
    host: Host
    url: str
    agent: ScriptedAgent

    def sdk(self, key: str) -> AsyncOpenAI:
        return AsyncOpenAI(base_url=f"{self.url}/v1", api_key=key, max_retries=0, timeout=30)

    async def link(self, key: str, chat_id: int) -> None:
        """Link a Telegram private chat to the user of `key`, as a person would."""
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"{self.url}/telegram/link-codes", headers={"Authorization": f"Bearer {key}"}
            )
        code = response.json()["code"]
        before = len(self.api.chat(chat_id))
        self.api.queue_update(self.api.message_update(chat_id, f"/link {code}"))
        await wait_until(lambda: len(self.api.chat(chat_id)) == before + 1)
        assert self.api.chat_texts(chat_id)[-1].startswith("Linked.")

    async def finished(self, client: AsyncOpenAI, response_id: str) -> Any:
        for _ in range(200):
            response = await client.responses.retrieve(response_id)
            if response.status not in ("queued", "in_progress"):
                return response
            await asyncio.sleep(0.02)
        raise TimeoutError(f"{response_id} did not finish")

    async def report(self, owner: str, response_id: str) -> dict[str, Any]:
        record = await self.host.store.get_response(owner, response_id)
        assert record is not None
        report: dict[str, Any] = record.attributes["delivery"]
        return report


@asynccontextmanager
async def stack(agent: ScriptedAgent | None = None) -> AsyncIterator[Stack]:
    api = BotAPIStandIn()
    agent = agent or ScriptedAgent(["The **report** is ready: 3 < 4."])
    async with serving(api) as api_url:
        telegram = TelegramChannel(api.token, api_base_url=api_url, edit_interval=0.05, poll_timeout=1)
        host = Host(
            agent,
            channels=[ResponsesChannel(), telegram],
            store=MemoryStore(),
            authenticator=ApiKeyAuthenticator(API_KEYS),
            delivery_attempts=2,
            delivery_backoff=0.05,
        )
        async with serving(host) as url:
            yield Stack(api, host, url, agent)


async def test_a_background_run_is_pushed_to_the_linked_chat() -> None:
    async with stack() as s:
        await s.link("key-alice", 42)
        client = s.sdk("key-alice")
        created = await client.responses.create(
            model="scripted", input="write the report", background=True, extra_body={"deliver_to": "telegram"}
        )
        done = await s.finished(client, created.id)
        assert done.status == "completed"
        await wait_until(lambda: len(s.api.chat(42)) == 2)
        assert await s.report("alice", created.id) == {"pushed": ["telegram"], "skipped": [], "failed": {}}
        await client.close()
    pushed = s.api.chat(42)[-1]
    assert pushed.text == "The report is ready: 3 < 4."
    assert pushed.html == "The <b>report</b> is ready: 3 &lt; 4."


async def test_a_user_without_a_linked_chat_is_skipped() -> None:
    async with stack() as s:
        await s.link("key-alice", 42)
        client = s.sdk("key-bob")
        created = await client.responses.create(
            model="scripted", input="write it", background=True, extra_body={"deliver_to": ["telegram"]}
        )
        assert (await s.finished(client, created.id)).status == "completed"
        assert await s.report("bob", created.id) == {"pushed": [], "skipped": ["telegram"], "failed": {}}
        await client.close()
        await asyncio.sleep(0.1)
    assert s.api.calls_of("sendMessage")[-1].params["text"].startswith("Linked.")  # nothing after it
    assert await s.host.store.list_delivery_failures() == ()


async def test_a_push_telegram_refuses_fails_and_is_kept_for_the_operator() -> None:
    async with stack() as s:
        await s.link("key-alice", 42)
        s.api.fail("sendMessage", status=403, description="Forbidden: bot was blocked by the user", times=2)
        client = s.sdk("key-alice")
        created = await client.responses.create(
            model="scripted", input="write it", background=True, extra_body={"deliver_to": "linked"}
        )
        assert (await s.finished(client, created.id)).status == "completed"  # the run itself went fine
        report = await s.report("alice", created.id)
        assert report["pushed"] == [] and report["skipped"] == []
        assert "bot was blocked by the user" in report["failed"]["telegram"]
        [failure] = await s.host.store.list_delivery_failures(owner="alice")
        assert (failure.channel, failure.address, failure.attempts) == ("telegram", "42", 2)
        await client.close()
    assert len(s.api.calls_of("sendMessage")) == 3  # the link answer, then two tries


async def test_nothing_is_pushed_to_a_chat_linked_to_someone_else_since() -> None:
    async with stack() as s:
        await s.link("key-alice", 42)
        await s.link("key-bob", 42)  # the same Telegram account now acts as bob
        client = s.sdk("key-alice")
        created = await client.responses.create(
            model="scripted", input="private", background=True, extra_body={"deliver_to": "telegram"}
        )
        assert (await s.finished(client, created.id)).status == "completed"
        report = await s.report("alice", created.id)
        assert report["pushed"] == [] and "not linked" in report["failed"]["telegram"]
        await client.close()
    assert [text for text in s.api.chat_texts(42) if "report" in text] == []


async def test_nothing_is_pushed_to_a_chat_that_unlinked() -> None:
    async with stack() as s:
        await s.link("key-alice", 42)
        s.api.queue_update(s.api.message_update(42, "/unlink"))
        await wait_until(lambda: s.api.chat_texts(42)[-1].startswith("Unlinked."))
        client = s.sdk("key-alice")
        created = await client.responses.create(
            model="scripted", input="private", background=True, extra_body={"deliver_to": "telegram"}
        )
        assert (await s.finished(client, created.id)).status == "completed"
        report = await s.report("alice", created.id)
        assert report["pushed"] == [] and "not linked" in report["failed"]["telegram"]
        await client.close()
    assert s.api.chat_texts(42)[-1].startswith("Unlinked.")


async def test_a_long_answer_is_pushed_in_several_messages() -> None:
    answer = "A line of the weekly report.\n" * 300  # about 8700 characters
    async with stack(ScriptedAgent([answer])) as s:
        await s.link("key-alice", 42)
        client = s.sdk("key-alice")
        created = await client.responses.create(
            model="scripted", input="the report", background=True, extra_body={"deliver_to": "telegram"}
        )
        assert (await s.finished(client, created.id)).status == "completed"
        assert (await s.report("alice", created.id))["pushed"] == ["telegram"]
        await client.close()
    pushed = s.api.chat_texts(42)[1:]
    assert len(pushed) == 3 and all(len(text) <= 4096 for text in pushed)
    assert "\n".join(pushed) == answer.strip()


@pytest.mark.parametrize("deliver_to", [42, [], [""], ["telegram", 1], {"channel": "telegram"}, ["x"] * 17])
async def test_a_bad_deliver_to_is_refused_and_nothing_runs(deliver_to: Any) -> None:
    async with stack() as s:
        client = s.sdk("key-alice")
        with pytest.raises(openai.BadRequestError) as caught:
            await client.responses.create(
                model="scripted", input="x", background=True, extra_body={"deliver_to": deliver_to}
            )
        assert caught.value.body["param"] == "deliver_to"  # type: ignore[index]
        assert (await s.host.store.list_responses("alice")).records == ()
        await client.close()
    assert s.agent.runs == []


async def test_a_linked_chat_shares_conversations_with_the_responses_api() -> None:
    agent = ScriptedAgent(["noted"])
    async with stack(agent) as s:
        await s.link("key-alice", 42)
        s.api.queue_update(s.api.message_update(42, "from telegram"))
        await wait_until(lambda: len(agent.runs) == 1 and agent.runs[0].finished)
        conversation = agent.runs[0].conversation_id
        assert conversation is not None
        alice, bob = s.sdk("key-alice"), s.sdk("key-bob")
        await wait_until(lambda: s.api.chat_texts(42)[-1] == "noted")
        items = [item async for item in alice.conversations.items.list(conversation, order="asc")]
        texts = [part.text for item in items for part in item.content]  # type: ignore[union-attr]
        assert texts == ["from telegram", "noted"]
        with pytest.raises(openai.NotFoundError):
            await bob.conversations.items.list(conversation)
        # The other way round: a turn over the API continues the chat's conversation.
        await alice.responses.create(model="scripted", input="from the API", conversation=conversation)
        s.api.queue_update(s.api.message_update(42, "and telegram again"))
        await wait_until(lambda: len(agent.runs) == 3 and agent.runs[2].finished)
        history = [item.text for item in agent.runs[2].history]  # type: ignore[union-attr]
        assert history == ["from telegram", "noted", "from the API", "noted"]
        await alice.close()
        await bob.close()
