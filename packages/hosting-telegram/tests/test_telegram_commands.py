"""Commands (built-in and the host's), sessions bound to conversations, and group chats."""

from __future__ import annotations

import asyncio

import pytest

from hosting.core import ConfigurationError, IsolationKeys, MemoryStore
from hosting.core.channels import ChannelContext, ChannelRequest, Command
from hosting.telegram import TelegramChannel
from hosting.telegram.testing import wait_until
from hosting.testing import EchoAgent, ScriptedAgent

from .conftest import ServedStandIn, telegram_host


async def shout(context: ChannelContext, request: ChannelRequest) -> str | None:
    """A host command: answers with its argument in capitals, and who ran it."""
    text = request.input[0].text.upper() if request.input else ""  # type: ignore[union-attr]
    return f"{text} <from {context.isolation.user}>"


SHOUT = Command("shout", "Say it louder", shout)


async def test_commands_are_published_at_start_up(bot_api: ServedStandIn) -> None:
    host = telegram_host(bot_api, EchoAgent(), commands=[SHOUT])
    async with host.lifespan():
        pass
    assert bot_api.api.commands == [
        {"command": "start", "description": "Say hello"},
        {"command": "help", "description": "What this bot can do"},
        {"command": "new", "description": "Start a new conversation"},
        {"command": "link", "description": "Link this chat to your account: /link CODE"},
        {"command": "unlink", "description": "Stop acting as the linked account"},
        {"command": "shout", "description": "Say it louder"},
    ]


async def test_start_help_and_host_commands(bot_api: ServedStandIn) -> None:
    agent = ScriptedAgent(["ok"])
    host = telegram_host(bot_api, agent, commands=[SHOUT], greeting="Hi, I am <Echo> & co.")
    api = bot_api.api
    async with host.lifespan():
        for text in ("/start", "/help", "/shout hello there", "/nope", "/shout@someone_else_bot hi"):
            api.queue_update(api.message_update(42, text))
            await asyncio.sleep(0.05)
        await wait_until(lambda: len(api.chat(42)) == 4)
        await asyncio.sleep(0.2)
    start, help_text, shouted, unknown = api.chat_texts(42)
    assert start.startswith("Hi, I am <Echo> & co.")  # escaped on the way, shown as written
    assert "/shout - Say it louder" in help_text and "/link - " in help_text
    assert shouted == "HELLO THERE <from telegram:42>"
    assert unknown.startswith("Unknown command /nope")
    assert agent.runs == []  # commands never reach the agent


async def test_new_starts_a_fresh_conversation(bot_api: ServedStandIn) -> None:
    store = MemoryStore()
    agent = ScriptedAgent(["ok"])
    host = telegram_host(bot_api, agent, store=store)
    api = bot_api.api
    async with host.lifespan():
        for count, text in enumerate(("first", "second"), start=1):
            api.queue_update(api.message_update(42, text))
            await wait_until(lambda count=count: len(agent.runs) == count and agent.runs[-1].finished)
        api.queue_update(api.message_update(42, "/new"))
        await wait_until(lambda: "Started a new conversation." in api.chat_texts(42))
        api.queue_update(api.message_update(42, "third"))
        await wait_until(lambda: len(agent.runs) == 3 and agent.runs[-1].finished)
    assert [item.text for item in agent.runs[1].history] == ["first", "ok"]  # type: ignore[union-attr]
    assert agent.runs[2].history == ()
    assert agent.runs[0].conversation_id == agent.runs[1].conversation_id
    assert agent.runs[2].conversation_id not in (None, agent.runs[1].conversation_id)
    assert all(run.isolation == IsolationKeys(user="telegram:42") for run in agent.runs)
    # The old conversation is kept, and both are the chat user's.
    conversations = await store.list_conversations("telegram:42")
    assert {record.id for record in conversations.records} == {
        agent.runs[1].conversation_id,
        agent.runs[2].conversation_id,
    }


async def test_groups_answer_only_mentions_replies_and_commands(bot_api: ServedStandIn) -> None:
    agent = ScriptedAgent(["yes?"])
    host = telegram_host(bot_api, agent)
    api = bot_api.api
    group = -1001
    async with host.lifespan():
        api.queue_update(api.message_update(group, "people talking", user_id=7, chat_type="supergroup"))
        api.queue_update(
            api.message_update(group, "ask @hosting_test_bot_fan", user_id=7, chat_type="supergroup")
        )
        api.queue_update(
            api.message_update(group, "hey @Hosting_Test_Bot what now", user_id=7, chat_type="supergroup")
        )
        await wait_until(lambda: len(agent.runs) == 1 and agent.runs[0].finished)
        await wait_until(lambda: len(api.chat(group)) == 1)
        api.queue_update(
            api.message_update(group, "and then?", user_id=8, chat_type="supergroup", reply_to_bot=True)
        )
        await wait_until(lambda: len(agent.runs) == 2 and agent.runs[1].finished)
        api.queue_update(api.message_update(group, "/help", user_id=8, chat_type="supergroup"))
        await wait_until(lambda: len(api.chat(group)) == 3)
        await asyncio.sleep(0.2)
    assert agent.runs[0].input_text == "hey what now"
    assert agent.runs[1].input_text == "and then?"
    # A group is one user of its own, whoever speaks: nobody's private conversations show there.
    assert {run.isolation.user for run in agent.runs} == {f"telegram-group:{group}"}
    assert agent.runs[0].conversation_id == agent.runs[1].conversation_id
    # In a group the answer quotes the message it answers.
    first_answer = api.calls_of("sendMessage")[0]
    assert first_answer.params["reply_parameters"]["message_id"] > 0
    assert len(agent.runs) == 2


def test_host_commands_must_suit_telegram() -> None:
    with pytest.raises(ConfigurationError, match="a-z"):
        TelegramChannel("1:x", commands=[Command("Shout", "x", shout)])
    with pytest.raises(ConfigurationError, match="built-in"):
        TelegramChannel("1:x", commands=[Command("help", "x", shout)])
    with pytest.raises(ConfigurationError, match="description"):
        TelegramChannel("1:x", commands=[Command("shout", "", shout)])


async def test_a_long_command_answer_is_split(bot_api: ServedStandIn) -> None:
    async def long_answer(context: ChannelContext, request: ChannelRequest) -> str | None:
        return "<tag> " * 1000  # 6000 characters, escaped on the way

    host = telegram_host(
        bot_api, ScriptedAgent(["ok"]), commands=[Command("long", "A long answer", long_answer)]
    )
    async with host.lifespan():
        bot_api.api.queue_update(bot_api.api.message_update(42, "/long"))
        await wait_until(lambda: len(bot_api.api.chat(42)) == 2)
    assert "".join(bot_api.api.chat_texts(42)).count("<tag>") == 1000
