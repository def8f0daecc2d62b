"""The sample assistant's logic: its tools, the offline agent, and the online agent against a fake model."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import openai
import pytest
from openai import AsyncOpenAI

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
if str(SAMPLES) not in sys.path:
    sys.path.insert(0, str(SAMPLES))

from assistant import OfflineAssistant, OpenAIAssistant, choose_agent  # noqa: E402
from assistant.offline import find_expression, remembered_name  # noqa: E402
from assistant.online import client_tool_specs, to_chat_messages  # noqa: E402
from assistant.tools import ToolError, calculator, clock, run_tool  # noqa: E402
from hosting.core import (  # noqa: E402
    FunctionCall,
    FunctionResult,
    Message,
    ToolSpec,
    ToolStep,
    assistant_message,
    user_message,
)
from hosting.core.channels import (  # noqa: E402
    OUTPUT_FORMAT_OPTION,
    ChannelContext,
    ChannelRequest,
    HostedRunResult,
    OutputFormat,
    OutputTextDelta,
)
from hosting.testing import (  # noqa: E402
    FakeOpenAI,
    Hosted,
    ScriptedReply,
    UpstreamError,
    UpstreamReply,
    UpstreamToolCall,
    channel_context,
    fake_openai_server,
)

FIXED_NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


# -- tools -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("17 * 23", "391"),
        ("2 + 3 * (4 - 1)", "11"),
        ("2^10", "1024"),
        ("7/2", "3.5"),
        ("-(3 - 5) ** 2", "-4"),
    ],
)
def test_calculator_evaluates_arithmetic(expression: str, expected: str) -> None:
    assert calculator(expression) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("1/0", "division by zero"),
        ("__import__('os')", "only numbers"),
        ("2 ** 1000", "too large"),
        ("((10**99)**99)**99", "too large"),
        ("(-8) ** 0.5", "not a real number"),
        ("", "empty"),
        ("1 +", "cannot read"),
        ("1" * 300, "limited"),
    ],
)
def test_calculator_refuses_what_it_cannot_do_safely(expression: str, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        calculator(expression)


def test_clock_and_run_tool() -> None:
    assert clock("UTC", now=lambda: FIXED_NOW) == "2030-01-02T03:04:05+00:00"
    assert clock("Asia/Tokyo", now=lambda: FIXED_NOW) == "2030-01-02T12:04:05+09:00"
    assert run_tool("calculator", '{"expression": "6*7"}') == "42"
    assert run_tool("clock", "{}", now=lambda: FIXED_NOW) == "2030-01-02T03:04:05+00:00"
    assert run_tool("clock", '{"timezone": "Mars/Olympus"}') == "error: unknown time zone 'Mars/Olympus'"
    assert run_tool("calculator", "[1]") == "error: arguments must be a JSON object"
    assert run_tool("calculator", "{not json").startswith("error: ")
    assert run_tool("teleport", "{}") == "error: unknown tool 'teleport'"


def test_find_expression_and_remembered_name() -> None:
    assert find_expression("What is 17 * 23?") == "17 * 23"
    assert find_expression("compute (2 + 3) * 4 please.") == "(2 + 3) * 4"
    assert find_expression("It is 3 o'clock") is None
    assert find_expression("no numbers here") is None
    history = (
        user_message("My name is Ada"),
        assistant_message("hi"),
        user_message("my name is Grace, really"),
    )
    assert remembered_name(history) == "Grace"
    assert remembered_name((assistant_message("my name is Bot"),)) is None


# -- the offline agent through the run engine ------------------------------------------------------


async def _ask(engine: ChannelContext, text: str, previous: HostedRunResult | None = None) -> HostedRunResult:
    run = await engine.run_stream(
        ChannelRequest(
            channel="test",
            input=(user_message(text),),
            previous_response_id=previous.response_id if previous else None,
        )
    )
    result = await run.wait()
    deltas = [event.delta for event in run.events if isinstance(event, OutputTextDelta)]
    assert "".join(deltas) == result.text
    return result


async def test_offline_agent_streams_word_by_word(hosted: Hosted) -> None:
    engine = await hosted(OfflineAssistant(word_delay=0))
    run = await engine.run_stream(ChannelRequest(channel="test", input=(user_message("hello"),)))
    result = await run.wait()
    deltas = [event.delta for event in run.events if isinstance(event, OutputTextDelta)]
    assert len(deltas) > 10
    assert result.text.startswith("You said: 'hello'. This is turn 1 of our conversation.")


async def test_offline_agent_calls_its_calculator_and_shows_the_result(hosted: Hosted) -> None:
    result = await _ask(await hosted(OfflineAssistant(word_delay=0)), "What is 17 * 23?")
    assert result.status == "completed"
    step, message = result.output
    assert isinstance(step, ToolStep)  # its own tool: a step, never a call the client must make
    assert step.name == "calculator"
    assert json.loads(step.arguments) == {"expression": "17 * 23"}
    assert (step.output, step.error) == ("391", None)
    assert isinstance(message, Message)
    assert message.text == "17 * 23 = 391"


async def test_offline_agent_reports_a_failed_calculation(hosted: Hosted) -> None:
    result = await _ask(await hosted(OfflineAssistant(word_delay=0)), "what is 1/0?")
    assert result.text == "I could not work out 1/0: division by zero."
    step = result.output[0]
    assert isinstance(step, ToolStep)
    assert (step.output, step.error, step.failed) == (None, "division by zero", True)


async def test_offline_agent_asks_its_clock_for_the_time(hosted: Hosted) -> None:
    result = await _ask(
        await hosted(OfflineAssistant(word_delay=0, now=lambda: FIXED_NOW)), "What time is it?"
    )
    step = result.output[0]
    assert isinstance(step, ToolStep)
    assert (step.name, step.output) == ("clock", "2030-01-02T03:04:05+00:00")
    assert result.text == "It is 2030-01-02T03:04:05+00:00 (UTC), according to my clock tool."


async def test_offline_agent_remembers_earlier_turns(hosted: Hosted) -> None:
    engine = await hosted(OfflineAssistant(word_delay=0))
    before = await _ask(engine, "What is my name?")
    assert before.text == "You have not told me your name yet."
    first = await _ask(engine, "My name is Ada", before)
    assert first.text.startswith("Nice to meet you, Ada!")
    second = await _ask(engine, "What is 2 + 2?", first)
    third = await _ask(engine, "What is my name?", second)
    assert third.text == "Your name is Ada."
    fourth = await _ask(engine, "hi", third)
    assert "turn 5 of our conversation" in fourth.text
    fresh = await _ask(engine, "What is my name?")  # a new conversation knows nothing
    assert fresh.text == "You have not told me your name yet."


def test_choose_agent_picks_the_mode_from_the_environment() -> None:
    offline, mode = choose_agent({})
    assert isinstance(offline, OfflineAssistant)
    assert mode.startswith("offline")
    online, mode = choose_agent(
        {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_MODEL": "tiny"}
    )
    assert isinstance(online, OpenAIAssistant)
    assert online.model == "tiny"
    assert str(online.client.base_url) == "http://127.0.0.1:9/v1/"
    assert mode == "online: model tiny at http://127.0.0.1:9/v1"
    blank, mode = choose_agent({"OPENAI_API_KEY": "  "})
    assert isinstance(blank, OfflineAssistant)


# -- the online agent against a fake upstream ------------------------------------------------------


@contextlib.asynccontextmanager
async def _online(fake: FakeOpenAI) -> AsyncIterator[ChannelContext]:
    """An engine running the online agent against `fake`; its SDK client is closed afterwards."""
    async with (
        AsyncOpenAI(base_url=fake.base_url, api_key="k", max_retries=0) as client,
        channel_context(OpenAIAssistant(client, model="tiny")) as context,
    ):
        yield context


async def test_online_agent_streams_the_model_answer() -> None:
    with fake_openai_server(
        [UpstreamReply(text="Hello from the model", input_tokens=9, output_tokens=4)]
    ) as fake:
        async with _online(fake) as engine:
            result = await _ask(engine, "hi")
    assert result.text == "Hello from the model"
    assert result.usage is not None
    assert (result.usage.input_tokens, result.usage.output_tokens) == (9, 4)
    sent = fake.requests[0].json
    assert sent["model"] == "tiny"
    assert sent["stream"] is True
    assert [message["role"] for message in sent["messages"]] == ["system", "user"]
    assert sent["messages"][-1]["content"] == "hi"
    assert {tool["function"]["name"] for tool in sent["tools"]} == {"calculator", "clock"}


async def test_online_agent_runs_its_tools_until_the_model_answers() -> None:
    replies: list[ScriptedReply] = [
        UpstreamToolCall("calculator", {"expression": "17 * 23"}, call_id="call_x"),
        "17 * 23 is 391.",
    ]
    with fake_openai_server(replies) as fake:
        async with _online(fake) as engine:
            result = await _ask(engine, "What is 17 * 23?")
    step, message = result.output
    assert isinstance(step, ToolStep)
    assert (step.name, step.output) == ("calculator", "391")
    assert json.loads(step.arguments) == {"expression": "17 * 23"}
    assert isinstance(message, Message)
    assert message.text == "17 * 23 is 391."
    assert result.usage is not None and result.usage.input_tokens > 0  # both rounds' usage, added up
    second = fake.requests[1].json["messages"]
    assert second[-2]["tool_calls"][0]["id"] == "call_x"
    assert second[-1] == {"role": "tool", "tool_call_id": "call_x", "content": "391"}


async def test_online_agent_hands_client_tools_back_to_the_client() -> None:
    with fake_openai_server([UpstreamToolCall("lookup_order", {"id": 7}, call_id="call_c")]) as fake:
        async with _online(fake) as engine:
            run = await engine.run_stream(
                ChannelRequest(
                    channel="test",
                    input=(user_message("where is order 7?"),),
                    tools=(ToolSpec("lookup_order", "find an order", {"type": "object"}),),
                )
            )
            result = await run.wait()
    assert len(fake.model_requests) == 1  # it did not ask again: the client owns that tool
    (call,) = result.output
    assert isinstance(call, FunctionCall)
    assert (call.name, call.call_id) == ("lookup_order", "call_c")
    assert "lookup_order" in {tool["function"]["name"] for tool in fake.requests[0].json["tools"]}


async def test_online_agent_sends_history_and_options() -> None:
    with fake_openai_server(["first answer", "second answer"]) as fake:
        async with _online(fake) as engine:
            first = await _ask(engine, "one")
            second = ChannelRequest(
                channel="test",
                input=(user_message("two"),),
                previous_response_id=first.response_id,
                instructions="answer in French",
                options={"temperature": 0.3},
            )
            await engine.run(second)
    sent = fake.requests[1].json
    assert sent["temperature"] == 0.3
    assert [(m["role"], m["content"]) for m in sent["messages"]] == [
        ("system", "answer in French"),
        ("user", "one"),
        ("assistant", "first answer"),
        ("user", "two"),
    ]


async def test_online_agent_reports_an_upstream_error_without_internals() -> None:
    with fake_openai_server([UpstreamError(401, "Incorrect API key provided: sk-secret")]) as fake:
        async with _online(fake) as engine:
            result = await _ask(engine, "hi")
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.message == "The model server answered with an error (401)."
    assert "sk-secret" not in result.error.message


async def test_online_agent_stops_a_model_that_never_stops_calling_tools() -> None:
    with fake_openai_server([UpstreamToolCall("clock", {})], repeat_last=True) as fake:
        async with _online(fake) as engine:
            result = await _ask(engine, "loop")
    assert result.status == "failed"
    assert result.error is not None
    assert "8 rounds" in result.error.message
    assert len(fake.model_requests) == 8


def test_chat_message_conversion() -> None:
    items = (
        Message("developer", (), id=None),
        user_message("q"),
        FunctionCall("c1", "clock", "{}"),
        FunctionCall("c2", "calculator", '{"expression": "1+1"}'),
        FunctionResult("c1", "now"),
        FunctionResult("c2", "2"),
        assistant_message("done"),
        ToolStep("calculator", '{"expression": "1/0"}', error="division by zero", id="tool_step_1"),
    )
    messages = to_chat_messages(None, items)
    assert [m["role"] for m in messages] == [
        "system",
        "system",
        "user",
        "assistant",
        "tool",
        "tool",
        "assistant",
        "assistant",
        "tool",
    ]
    assert [call["id"] for call in messages[3]["tool_calls"]] == ["c1", "c2"]
    assert messages[7]["tool_calls"][0]["id"] == messages[8]["tool_call_id"] == "tool_step_1"
    assert messages[8]["content"] == "error: division by zero"
    specs = client_tool_specs((ToolSpec("clock"), ToolSpec("mine", "desc", None)))
    assert specs == [
        {
            "type": "function",
            "function": {"name": "mine", "parameters": {"type": "object"}, "description": "desc"},
        }
    ]


async def test_online_agent_forwards_the_output_format_and_reasoning_effort() -> None:
    wanted = OutputFormat("json_schema", name="answer", schema={"type": "object"}, strict=True)
    with fake_openai_server(['{"ok": true}', "{}"]) as fake:
        async with _online(fake) as engine:
            await engine.run(
                ChannelRequest(
                    channel="test",
                    input=(user_message("json please"),),
                    options={OUTPUT_FORMAT_OPTION: wanted, "reasoning": {"effort": "low"}, "top_p": 0.5},
                )
            )
            await engine.run(
                ChannelRequest(
                    channel="test",
                    input=(user_message("any json"),),
                    options={OUTPUT_FORMAT_OPTION: OutputFormat("json_object")},
                )
            )
    first, second = (request.json for request in fake.model_requests)
    assert first["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True},
    }
    assert (first["reasoning_effort"], first["top_p"]) == ("low", 0.5)
    assert second["response_format"] == {"type": "json_object"}
    assert "reasoning_effort" not in second


def test_the_offline_agent_refuses_a_json_format_it_cannot_follow() -> None:
    from pydantic import BaseModel

    from hosting.core import Host, MemoryStore
    from hosting.responses import ResponsesChannel
    from hosting.testing import openai_client

    class Person(BaseModel):
        name: str
        age: int

    host = Host(OfflineAssistant(word_delay=0), channels=[ResponsesChannel()], store=MemoryStore())
    with openai_client(host, max_retries=0) as client:
        with pytest.raises(openai.BadRequestError) as refused:
            client.responses.parse(model="assistant", input="Ada is 36 years old", text_format=Person)
        assert "plain text only" in refused.value.message
        # Plain text still works.
        assert client.responses.create(model="assistant", input="What is 2 + 2?").output_text == "2 + 2 = 4"
