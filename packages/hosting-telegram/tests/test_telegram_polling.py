"""Long polling end to end: answers stream by throttled edits, honour 429, split, show tool steps."""

from __future__ import annotations

import asyncio
import itertools

import pytest

import hosting.telegram._reply as reply_module
from hosting.core import FunctionCall, FunctionResult, ToolStep
from hosting.telegram import MESSAGE_LIMIT
from hosting.telegram.testing import Call, wait_until
from hosting.testing import Delay, Fail, ScriptedAgent

from .conftest import ServedStandIn, telegram_host


def chat_calls(bot_api: ServedStandIn, chat_id: int) -> list[Call]:
    """The calls that change the chat's messages, in order."""
    return [
        call
        for call in bot_api.api.calls
        if call.method in ("sendMessage", "editMessageText") and call.params.get("chat_id") == chat_id
    ]


def squeeze(text: str) -> str:
    return "".join(text.split())


async def test_polling_starts_and_stops_with_the_host(bot_api: ServedStandIn) -> None:
    host = telegram_host(bot_api, ScriptedAgent(["pong"]))
    bot_api.api.webhook_url = "https://old.example/hook"  # left over from an earlier deployment
    async with host.lifespan():
        await wait_until(lambda: bot_api.api.calls_of("getUpdates"))
        assert bot_api.api.webhook_url is None  # deleted, or Telegram would refuse getUpdates
        bot_api.api.queue_update(bot_api.api.message_update(42, "ping"))
        await wait_until(lambda: bot_api.api.chat_texts(42) == ["pong"])
    polls = len(bot_api.api.calls_of("getUpdates"))
    methods = [call.method for call in bot_api.api.calls]
    assert methods[:3] == ["getMe", "setMyCommands", "deleteWebhook"]
    bot_api.api.queue_update(bot_api.api.message_update(42, "anyone there?"))
    await asyncio.sleep(0.3)
    assert len(bot_api.api.calls_of("getUpdates")) == polls  # stopped with the host
    assert bot_api.api.chat_texts(42) == ["pong"]


async def test_an_answer_streams_by_throttled_edits(bot_api: ServedStandIn) -> None:
    words = [f"word{number} " for number in range(40)]
    script: list[object] = []
    for word in words:
        script += [word, Delay(0.02)]
    agent = ScriptedAgent(script)  # type: ignore[arg-type]
    host = telegram_host(bot_api, agent, edit_interval=0.15)
    async with host.lifespan():
        bot_api.api.queue_update(bot_api.api.message_update(42, "talk"))
        await wait_until(lambda: agent.runs and agent.runs[0].finished)
        await wait_until(lambda: bot_api.api.chat_texts(42) == ["".join(words).strip()])
    calls = chat_calls(bot_api, 42)
    assert calls[0].method == "sendMessage" and all(call.method == "editMessageText" for call in calls[1:])
    assert 2 <= len(calls) < len(words)  # edited as it grew, far less often than once a word
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(calls)]
    assert min(gaps) >= 0.14
    [message] = bot_api.api.chat(42)
    assert len(message.versions) == len(calls)
    assert all(message.versions[index] != message.versions[index + 1] for index in range(len(calls) - 1))
    assert bot_api.api.calls_of("sendChatAction")[0].params == {"chat_id": 42, "action": "typing"}
    assert bot_api.api.calls_of("sendChatAction")[0].at <= calls[0].at


async def test_a_429_mid_stream_is_waited_out(bot_api: ServedStandIn) -> None:
    script: list[object] = ["first part"]
    for number in range(30):
        script += [Delay(0.05), f" more{number}"]
    agent = ScriptedAgent(script)  # type: ignore[arg-type]
    host = telegram_host(bot_api, agent, edit_interval=0.05)
    bot_api.api.fail("editMessageText", retry_after=1)
    async with host.lifespan():
        bot_api.api.queue_update(bot_api.api.message_update(42, "talk"))
        await wait_until(lambda: agent.runs and agent.runs[0].finished)
        expected = "first part" + "".join(f" more{number}" for number in range(30))
        await wait_until(lambda: bot_api.api.chat_texts(42) == [expected], within=5)
    edits = [call for call in chat_calls(bot_api, 42) if call.method == "editMessageText"]
    refused, after = edits[0], edits[1]
    assert after.at - refused.at >= 0.95  # nothing was sent to the chat before retry_after passed
    assert [call for call in chat_calls(bot_api, 42) if refused.at < call.at < after.at] == []


async def test_a_long_answer_is_split_into_messages(bot_api: ServedStandIn) -> None:
    paragraph = "All work and no play makes a dull bot. " * 20 + "\n\n"
    answer = paragraph * 14  # about 11 000 characters
    agent = ScriptedAgent([answer[:5000], Delay(0.1), answer[5000:]])
    host = telegram_host(bot_api, agent)
    async with host.lifespan():
        bot_api.api.queue_update(bot_api.api.message_update(42, "talk"))
        await wait_until(lambda: agent.runs and agent.runs[0].finished)
        await wait_until(lambda: len(bot_api.api.chat(42)) == 3)
        await wait_until(lambda: squeeze("".join(bot_api.api.chat_texts(42))) == squeeze(answer))
    texts = bot_api.api.chat_texts(42)
    assert all(len(text) <= MESSAGE_LIMIT for text in texts)
    assert all(text.endswith("dull bot.") for text in texts)  # cut between paragraphs


async def test_tool_steps_show_as_one_line(bot_api: ServedStandIn) -> None:
    agent = ScriptedAgent(
        [
            ToolStep("search_web", '{"query": "weather in Paris", "lots": "of json"}', output='{"t": 21}'),
            FunctionCall("call_1", "locate", '{"precise": true}'),
            FunctionResult("call_1", '{"temperature": 21}'),
            "It is 21 degrees.",
        ]
    )
    host = telegram_host(bot_api, agent)
    async with host.lifespan():
        bot_api.api.queue_update(bot_api.api.message_update(42, "weather?"))
        await wait_until(lambda: bot_api.api.chat_texts(42) == ["⚙️ search_web\n⚙️ locate\nIt is 21 degrees."])
    [message] = bot_api.api.chat(42)
    assert message.html == "<i>⚙️ search_web</i>\n<i>⚙️ locate</i>\nIt is 21 degrees."
    assert "query" not in message.text and "21}" not in message.text


async def test_a_failed_run_says_so(bot_api: ServedStandIn) -> None:
    agent = ScriptedAgent(["Let me think", Fail(RuntimeError("model exploded"))])
    host = telegram_host(bot_api, agent)
    async with host.lifespan():
        bot_api.api.queue_update(bot_api.api.message_update(42, "talk"))
        await wait_until(lambda: any("could not answer" in text for text in bot_api.api.chat_texts(42)))
    [text] = bot_api.api.chat_texts(42)
    assert text.startswith("Let me think\n⚠️ The agent could not answer")
    assert "model exploded" not in text  # the host keeps an agent's exception to its log


async def test_polling_goes_on_after_a_failed_call(bot_api: ServedStandIn) -> None:
    host = telegram_host(bot_api, ScriptedAgent(["pong"]))
    bot_api.api.fail("getUpdates", status=502, description="Bad Gateway")
    async with host.lifespan():
        bot_api.api.queue_update(bot_api.api.message_update(42, "ping"))
        await wait_until(lambda: bot_api.api.chat_texts(42) == ["pong"], within=5)
    assert len(bot_api.api.calls_of("getUpdates")) >= 2


async def test_a_429_on_the_last_message_is_waited_out(bot_api: ServedStandIn) -> None:
    host = telegram_host(bot_api, ScriptedAgent(["short answer"]))
    bot_api.api.fail("sendMessage", retry_after=1)
    async with host.lifespan():
        bot_api.api.queue_update(bot_api.api.message_update(42, "talk"))
        await wait_until(lambda: bot_api.api.chat_texts(42) == ["short answer"], within=5)
    refused, sent = chat_calls(bot_api, 42)
    assert refused.method == sent.method == "sendMessage"
    assert sent.at - refused.at >= 0.95


async def test_a_turn_cut_by_shutdown_leaves_no_typing_behind(
    bot_api: ServedStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reply_module, "TYPING_EVERY", 0.05)
    agent = ScriptedAgent(["thinking", Delay(30), "never"])
    host = telegram_host(bot_api, agent, shutdown_grace=0.2, host_options={"shutdown_grace": 0.2})
    async with host.lifespan():
        bot_api.api.queue_update(bot_api.api.message_update(42, "talk"))
        await wait_until(lambda: len(bot_api.api.calls_of("sendChatAction")) >= 3)
    typing = len(bot_api.api.calls_of("sendChatAction"))
    await asyncio.sleep(0.3)
    assert len(bot_api.api.calls_of("sendChatAction")) == typing
    assert agent.runs[0].done and not agent.runs[0].finished


async def test_groups_are_edited_less_often(bot_api: ServedStandIn) -> None:
    script: list[object] = []
    for number in range(30):
        script += [f"w{number} ", Delay(0.03)]
    agent = ScriptedAgent(script)  # type: ignore[arg-type]
    host = telegram_host(bot_api, agent, edit_interval=0.05, group_edit_interval=0.3)
    api = bot_api.api
    async with host.lifespan():
        api.queue_update(api.message_update(-7, "@hosting_test_bot talk", user_id=5, chat_type="group"))
        await wait_until(lambda: agent.runs and agent.runs[0].finished)
        await wait_until(lambda: api.chat_texts(-7) and api.chat_texts(-7)[0].endswith("w29"))
    calls = chat_calls(bot_api, -7)
    assert len(calls) >= 2
    assert min(later.at - earlier.at for earlier, later in itertools.pairwise(calls)) >= 0.29
