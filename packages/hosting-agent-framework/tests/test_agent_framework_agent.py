"""AgentFrameworkAgent hosting a real Agent Framework `Agent` on a scripted chat client, through the engine."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from agent_framework import (
    Agent,
    AgentResponse,
    AgentResponseUpdate,
    AgentSession,
    Content,
    ContextProvider,
    SessionContext,
    tool,
)
from agent_framework import Message as AFMessage

from hosting.agent_framework import AgentFrameworkAgent, ScriptedChatClient, chat_options
from hosting.core import (
    ANONYMOUS_USER,
    FunctionCall,
    FunctionResult,
    Host,
    Message,
    Reasoning,
    RunContext,
    TextPart,
    ToolSpec,
    ToolStep,
    Usage,
)
from hosting.core.stores import ConversationRecord

from .conftest import ask, start


@tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def weather_script() -> list[list[Content | str]]:
    return [
        [
            Content.from_text_reasoning(text="I should look it up."),
            Content.from_function_call(call_id="c1", name="weather", arguments='{"city": "Paris"}'),
            Content.from_usage({"input_token_count": 5, "output_token_count": 3}),
        ],
        ["It is ", "sunny.", Content.from_usage({"input_token_count": 7, "output_token_count": 2})],
    ]


class TurnCounter(ContextProvider):
    """Counts the turns of a session in the session's own state, and tells the model."""

    def __init__(self) -> None:
        super().__init__("turns")

    async def before_run(
        self, *, agent: Any, session: AgentSession, context: SessionContext, state: dict[str, Any]
    ) -> None:
        state["turns"] = state.get("turns", 0) + 1
        context.extend_instructions(self.source_id, f"turn {state['turns']}")


def echo_reply(messages: Sequence[AFMessage]) -> list[Content | str]:
    return [f"echo: {messages[-1].text}"]


@pytest.mark.parametrize("stream", [True, False])
async def test_text_reasoning_tool_calls_results_and_usage_reach_the_output(
    started: list[Host], stream: bool
) -> None:
    client = ScriptedChatClient(weather_script())
    host = await start(
        started, AgentFrameworkAgent(Agent(client=client, name="weather", tools=[weather]), stream=stream)
    )

    result = await host.engine.run(ask("Weather in Paris?"))

    assert result.status == "completed"
    kinds = [type(item) for item in result.output]
    # The tool the framework ran itself is one step with its result, not a call for the client.
    assert kinds == [Reasoning, ToolStep, Message]
    reasoning, step, _answer = result.output
    assert isinstance(reasoning, Reasoning)
    assert reasoning.text == "I should look it up."
    assert isinstance(step, ToolStep)
    assert (step.name, step.arguments, step.output, step.error) == (
        "weather",
        '{"city": "Paris"}',
        "sunny in Paris",
        None,
    )
    assert step.server_label == "agent"
    assert result.text == "It is sunny."
    # The tool loop reports its running total last; it is counted once.
    assert result.usage == Usage(input_tokens=12, output_tokens=5)
    assert client.calls[0].texts == [("user", "Weather in Paris?")]


async def test_a_three_turn_chain_keeps_the_agents_session(started: list[Host]) -> None:
    client = ScriptedChatClient(respond=echo_reply)
    agent = Agent(client=client, name="echo", context_providers=[TurnCounter()])
    host = await start(started, AgentFrameworkAgent(agent))

    first = await host.engine.run(ask("one"))
    second = await host.engine.run(ask("two", previous_response_id=first.response_id))
    third = await host.engine.run(ask("three", previous_response_id=second.response_id))

    assert third.text == "echo: three"
    assert [call.options["instructions"] for call in client.calls] == ["turn 1", "turn 2", "turn 3"]
    # The session carries the history: every earlier message exactly once.
    assert client.calls[2].texts == [
        ("user", "one"),
        ("assistant", "echo: one"),
        ("user", "two"),
        ("assistant", "echo: two"),
        ("user", "three"),
    ]


async def test_a_branch_does_not_see_its_siblings_state(started: list[Host]) -> None:
    client = ScriptedChatClient(respond=echo_reply)
    host = await start(started, AgentFrameworkAgent(Agent(client=client, context_providers=[TurnCounter()])))

    root = await host.engine.run(ask("root"))
    left = await host.engine.run(ask("left", previous_response_id=root.response_id))
    await host.engine.run(ask("right", previous_response_id=root.response_id))
    await host.engine.run(ask("left again", previous_response_id=left.response_id))

    right_call, left_again_call = client.calls[2], client.calls[3]
    assert right_call.options["instructions"] == "turn 2"
    assert right_call.texts == [("user", "root"), ("assistant", "echo: root"), ("user", "right")]
    assert left_again_call.options["instructions"] == "turn 3"
    assert ("user", "right") not in left_again_call.texts
    assert left_again_call.texts[-3:] == [
        ("user", "left"),
        ("assistant", "echo: left"),
        ("user", "left again"),
    ]


async def test_a_conversation_keeps_the_session_and_sees_messages_added_between_turns(
    started: list[Host],
) -> None:
    client = ScriptedChatClient(respond=echo_reply)
    host = await start(started, AgentFrameworkAgent(Agent(client=client, context_providers=[TurnCounter()])))
    engine = host.engine
    conversation = engine.new_id("conversation", owner=ANONYMOUS_USER)
    note = Message(
        "developer", (TextPart("the user is in Paris"),), id=engine.new_id("message", owner=ANONYMOUS_USER)
    )
    await host.store.create_conversation(
        ConversationRecord(conversation, ANONYMOUS_USER, time.time()), [note]
    )

    await engine.run(ask("one", conversation_id=conversation))
    added = Message(
        "user", (TextPart("(aside) I like rain"),), id=engine.new_id("message", owner=ANONYMOUS_USER)
    )
    assert await host.store.append_conversation_items(ANONYMOUS_USER, conversation, [added])
    await engine.run(ask("two", conversation_id=conversation))

    # The first turn had no session yet: the conversation's items went in as history.
    assert client.calls[0].texts == [("system", "the user is in Paris"), ("user", "one")]
    # The second restored the session and added only what it had not seen.
    assert client.calls[1].texts == [
        ("system", "the user is in Paris"),
        ("user", "one"),
        ("assistant", "echo: one"),
        ("user", "(aside) I like rain"),
        ("user", "two"),
    ]
    assert client.calls[1].options["instructions"] == "turn 2"


async def test_a_client_tool_ends_the_run_with_its_call_and_the_answer_resumes_it(
    started: list[Host],
) -> None:
    client = ScriptedChatClient(
        [
            [Content.from_function_call(call_id="call_9", name="lookup", arguments='{"q": "x"}')],
            ["The answer is 42."],
        ]
    )
    host = await start(started, AgentFrameworkAgent(Agent(client=client, tools=[weather])))
    lookup = ToolSpec(
        "lookup", "Looks things up", {"type": "object", "properties": {"q": {"type": "string"}}}
    )

    asked = await host.engine.run(ask("look up x", tools=(lookup,)))
    assert asked.status == "completed"
    assert asked.output == (FunctionCall("call_9", "lookup", '{"q": "x"}', id=asked.output[0].id),)
    assert sorted(client.calls[0].tool_names) == ["lookup", "weather"]

    answered = await host.engine.run(
        ask(FunctionResult("call_9", "42"), tools=(lookup,), previous_response_id=asked.response_id)
    )
    assert answered.text == "The answer is 42."
    last = client.calls[1].messages
    assert [(m.role, [c.type for c in m.contents]) for m in last] == [
        ("user", ["text"]),
        ("assistant", ["function_call"]),
        ("tool", ["function_result"]),
    ]
    assert last[2].contents[0].result == "42"


async def test_a_client_tool_named_like_the_agents_own_tool_is_refused(started: list[Host]) -> None:
    client = ScriptedChatClient(respond=echo_reply)
    host = await start(started, AgentFrameworkAgent(Agent(client=client, tools=[weather])))

    result = await host.engine.run(ask("hi", tools=(ToolSpec("weather"),)))

    assert result.status == "failed"
    assert result.error is not None
    assert result.error.message == "The tool name 'weather' is taken by one of the agent's own tools."
    assert client.calls == []


async def test_request_instructions_and_options_become_chat_options(started: list[Host]) -> None:
    client = ScriptedChatClient(respond=echo_reply)
    host = await start(started, AgentFrameworkAgent(Agent(client=client, instructions="Be terse.")))

    await host.engine.run(
        ask(
            "hi",
            instructions="Answer in French.",
            options={
                "temperature": 0.2,
                "top_p": 0.9,
                "max_output_tokens": 64,
                "tool_choice": "none",
                "truncation": "auto",
            },
        )
    )

    options = client.calls[0].options
    assert "Be terse." in options["instructions"]
    assert "Answer in French." in options["instructions"]
    assert (options["temperature"], options["top_p"], options["max_tokens"]) == (0.2, 0.9, 64)
    assert options["tool_choice"] in ("none", {"mode": "none"})
    assert "truncation" not in options


def test_chat_options_maps_a_named_function_choice() -> None:
    context = RunContext(
        response_id="resp_1",
        history=(),
        input=(),
        options={"tool_choice": {"type": "function", "name": "lookup"}, "parallel_tool_calls": False},
    )
    assert chat_options(context) == {
        "tool_choice": {"mode": "required", "required_function_name": "lookup"},
        "allow_multiple_tool_calls": False,
    }


class PlainAgent:
    """An agent written against the protocol only: `async def run` handing back its stream."""

    name = "plain"

    def __init__(self) -> None:
        self.seen: list[list[tuple[str, str]]] = []

    async def run(
        self, messages: Sequence[AFMessage] | None = None, *, stream: bool = False, session: Any = None
    ) -> Any:
        self.seen.append([(message.role, message.text) for message in messages or ()])
        reply = [AgentResponseUpdate(contents=[Content.from_text("plain answer")], role="assistant")]
        if not stream:
            return AgentResponse.from_updates(reply)

        async def updates() -> AsyncIterator[AgentResponseUpdate]:
            for update in reply:
                yield update

        return updates()


@pytest.mark.parametrize("stream", [True, False])
async def test_an_agent_without_options_gets_instructions_as_a_system_message(
    started: list[Host], stream: bool
) -> None:
    plain = PlainAgent()
    host = await start(started, AgentFrameworkAgent(plain, stream=stream))

    result = await host.engine.run(ask("hi", instructions="Be terse."))

    assert result.text == "plain answer"
    assert plain.seen == [[("system", "Be terse."), ("user", "hi")]]
    refused = await host.engine.run(ask("hi", tools=(ToolSpec("lookup"),)))
    assert refused.status == "failed"
    assert refused.error is not None
    assert refused.error.message == "This agent does not take client-declared tools."


async def test_an_error_reported_by_the_agent_fails_the_run_without_its_detail(started: list[Host]) -> None:
    client = ScriptedChatClient([["partial ", Content.from_error(message="quota exceeded for key sk-123")]])
    host = await start(started, AgentFrameworkAgent(Agent(client=client)))

    result = await host.engine.run(ask("hi"))

    assert result.status == "failed"
    assert result.error is not None
    assert result.error.message == "The agent reported an error."
    assert "sk-123" not in repr(result.record)


async def test_an_agent_that_raises_fails_the_run_and_keeps_no_session(started: list[Host]) -> None:
    client = ScriptedChatClient()  # no reply: the model call raises
    host = await start(started, AgentFrameworkAgent(Agent(client=client)))

    failed = await host.engine.run(ask("hi"))
    assert failed.status == "failed"

    client.replies = [["recovered"]]
    retried = await host.engine.run(ask("again", previous_response_id=failed.response_id))
    assert retried.text == "recovered"
    # The failed turn left no session behind: the retry starts from the stored history.
    assert client.calls[-1].texts == [("user", "hi"), ("user", "again")]
