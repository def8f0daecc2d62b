"""Agent Framework agents and workflows behind the Responses channel, driven by the official openai SDK.

Real agent-framework-core on a scripted chat client; the SQLite store for restarts;
a real uvicorn where concurrency and dropped streams matter.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest
from agent_framework import (
    Agent,
    AgentSession,
    Content,
    ContextProvider,
    Executor,
    SessionContext,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    handler,
    register_checkpoint_type,
    response_handler,
    tool,
)
from agent_framework_openai import OpenAIChatCompletionClient
from openai import OpenAI
from openai.types.responses import (
    Response,
    ResponseFunctionToolCall,
    ResponseInputParam,
    ResponseReasoningItem,
)
from openai.types.responses.response_output_item import McpCall
from pydantic import BaseModel

from hosting.agent_framework import (
    REQUEST_INFO_FUNCTION,
    AgentFrameworkAgent,
    RequestContext,
    ScriptedChatClient,
)
from hosting.core import Host, MemoryStore, SQLiteStore
from hosting.core.stores import Store
from hosting.responses import ResponsesChannel
from hosting.testing import FakeOpenAI, UpstreamReply, async_openai_client, openai_client, serve


@tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def weather_replies() -> list[list[Content | str]]:
    return [
        [
            Content.from_text_reasoning(text="Let me check."),
            Content.from_function_call(call_id="call_w1", name="weather", arguments='{"city": "Paris"}'),
            Content.from_usage({"input_token_count": 5, "output_token_count": 3}),
        ],
        [
            "It is ",
            "sunny ",
            "in Paris.",
            Content.from_usage({"input_token_count": 9, "output_token_count": 4}),
        ],
    ]


class TurnCounter(ContextProvider):
    """Counts the session's turns in the session's own state and tells the model which turn it is."""

    def __init__(self) -> None:
        super().__init__("turns")

    async def before_run(
        self, *, agent: Any, session: AgentSession, context: SessionContext, state: dict[str, Any]
    ) -> None:
        state["turns"] = state.get("turns", 0) + 1
        context.extend_instructions(self.source_id, f"turn {state['turns']}")


def echo_with_turn(client: ScriptedChatClient) -> None:
    def respond(messages: Any) -> list[Content | str]:
        turn = client.calls[-1].options.get("instructions", "")
        return [f"{turn}: {messages[-1].text}"]

    client.respond = respond


def host_for(agent: Any, store: Store | None = None) -> Host:
    return Host(agent, channels=[ResponsesChannel()], store=store or MemoryStore())


# -- an agent --------------------------------------------------------------------------------------


def test_a_streamed_run_carries_reasoning_tool_calls_results_and_text() -> None:
    client = ScriptedChatClient(weather_replies())
    host = host_for(AgentFrameworkAgent(Agent(client=client, name="weather", tools=[weather])))

    with (
        openai_client(host) as sdk,
        sdk.responses.stream(model="weather", input="Weather in Paris?") as stream,
    ):
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()

    assert "".join(deltas) == "It is sunny in Paris."
    # The tool the framework ran itself is a step with its result inline, not a call for the client.
    assert [item.type for item in final.output] == ["reasoning", "mcp_call", "message"]
    reasoning, step = final.output[0], final.output[1]
    assert isinstance(reasoning, ResponseReasoningItem)
    assert [part.text for part in reasoning.summary] == ["Let me check."]
    assert isinstance(step, McpCall)
    assert (step.name, json.loads(step.arguments), step.output) == (
        "weather",
        {"city": "Paris"},
        "sunny in Paris",
    )
    assert (step.server_label, step.status, step.error) == ("agent", "completed", None)
    assert final.output_text == "It is sunny in Paris."
    assert final.usage is not None
    assert (final.usage.input_tokens, final.usage.output_tokens) == (14, 7)


@pytest.mark.parametrize("agent_streams", [True, False])
def test_a_non_streamed_run_carries_the_same_items_and_can_be_retrieved(agent_streams: bool) -> None:
    client = ScriptedChatClient(weather_replies())
    agent = Agent(client=client, name="weather", tools=[weather])
    host = host_for(AgentFrameworkAgent(agent, stream=agent_streams))

    with openai_client(host) as sdk:
        response = sdk.responses.create(model="weather", input="Weather in Paris?")
        again = sdk.responses.retrieve(response.id)

    assert [item.type for item in response.output] == ["reasoning", "mcp_call", "message"]
    assert response.output_text == "It is sunny in Paris."
    reasoning = response.output[0]
    assert isinstance(reasoning, ResponseReasoningItem)
    assert [part.text for part in reasoning.summary] == ["Let me check."]
    assert again.output_text == response.output_text
    assert [item.type for item in again.output] == [item.type for item in response.output]


def test_a_three_turn_chain_keeps_the_session_and_a_branch_does_not_leak() -> None:
    client = ScriptedChatClient()
    echo_with_turn(client)
    host = host_for(AgentFrameworkAgent(Agent(client=client, name="echo", context_providers=[TurnCounter()])))

    with openai_client(host) as sdk:
        one = sdk.responses.create(model="echo", input="one")
        two = sdk.responses.create(model="echo", input="two", previous_response_id=one.id)
        three = sdk.responses.create(model="echo", input="three", previous_response_id=two.id)
        branch = sdk.responses.create(model="echo", input="other", previous_response_id=one.id)

    assert [r.output_text for r in (one, two, three)] == ["turn 1: one", "turn 2: two", "turn 3: three"]
    assert branch.output_text == "turn 2: other"
    branch_call = client.calls[-1]
    assert ("user", "two") not in branch_call.texts
    assert branch_call.texts == [("user", "one"), ("assistant", "turn 1: one"), ("user", "other")]


def test_a_conversation_keeps_the_session() -> None:
    client = ScriptedChatClient()
    echo_with_turn(client)
    host = host_for(AgentFrameworkAgent(Agent(client=client, name="echo", context_providers=[TurnCounter()])))

    with openai_client(host) as sdk:
        conversation = sdk.conversations.create()
        answers = [
            sdk.responses.create(model="echo", input=text, conversation=conversation.id).output_text
            for text in ("a", "b", "c")
        ]

    assert answers == ["turn 1: a", "turn 2: b", "turn 3: c"]


def test_a_client_tool_round_trip_through_the_sdk() -> None:
    client = ScriptedChatClient(
        [
            [Content.from_function_call(call_id="call_l1", name="lookup", arguments='{"q": "x"}')],
            ["Found: 42."],
        ]
    )
    host = host_for(AgentFrameworkAgent(Agent(client=client, name="agent", tools=[weather])))
    lookup = {"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {}}}

    with openai_client(host) as sdk:
        asked = sdk.responses.create(model="agent", input="look up x", tools=[lookup])  # type: ignore[list-item]
        (call,) = asked.output
        assert isinstance(call, ResponseFunctionToolCall)
        assert (call.name, call.call_id) == ("lookup", "call_l1")
        answered = sdk.responses.create(
            model="agent",
            previous_response_id=asked.id,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "42"}],
            tools=[lookup],  # type: ignore[list-item]
        )

    assert answered.output_text == "Found: 42."
    assert client.calls[1].messages[-1].contents[0].result == "42"


def test_a_client_tool_clashing_with_the_agents_own_is_a_clear_error() -> None:
    client = ScriptedChatClient()
    host = host_for(AgentFrameworkAgent(Agent(client=client, name="agent", tools=[weather])))
    clash = {"type": "function", "name": "weather", "parameters": {"type": "object", "properties": {}}}

    with openai_client(host) as sdk:
        with pytest.raises(openai.APIStatusError) as raised:
            sdk.responses.create(model="agent", input="hi", tools=[clash])  # type: ignore[list-item]
        with sdk.responses.stream(model="agent", input="hi", tools=[clash]) as stream:  # type: ignore[list-item]
            types = [event.type for event in stream]

    assert "The tool name 'weather' is taken by one of the agent's own tools." in str(raised.value)
    assert types[-1] == "response.failed"
    assert client.calls == []


def test_a_conversation_survives_a_restart_with_the_sqlite_store(tmp_path: Path) -> None:
    def serve_once(store_dir: Path) -> tuple[Host, ScriptedChatClient]:
        client = ScriptedChatClient()
        echo_with_turn(client)
        agent = Agent(client=client, name="echo", context_providers=[TurnCounter()])
        return host_for(AgentFrameworkAgent(agent), SQLiteStore(store_dir)), client

    first_host, _ = serve_once(tmp_path)
    with openai_client(first_host) as sdk:
        one = sdk.responses.create(model="echo", input="one")
        two = sdk.responses.create(model="echo", input="two", previous_response_id=one.id)

    second_host, client = serve_once(tmp_path)
    with openai_client(second_host) as sdk:
        three = sdk.responses.create(model="echo", input="three", previous_response_id=two.id)

    assert three.output_text == "turn 3: three"
    assert client.calls[0].texts == [
        ("user", "one"),
        ("assistant", "turn 1: one"),
        ("user", "two"),
        ("assistant", "turn 2: two"),
        ("user", "three"),
    ]


# -- request context across a dropped stream -------------------------------------------------------


class Binder(ContextProvider):
    def __init__(self) -> None:
        super().__init__("binder")
        self.bound: list[str] = []
        self.released: list[str] = []

    def bind_request_context(self, context: RequestContext) -> contextlib.AbstractContextManager[None]:
        self.bound.append(context.response_id)

        @contextlib.contextmanager
        def scope() -> Iterator[None]:
            try:
                yield
            finally:
                self.released.append(context.response_id)

        return scope()


def test_an_abandoned_stream_releases_the_request_context() -> None:
    @tool
    async def wait_forever() -> str:
        """Never finishes on its own."""
        await asyncio.wait_for(asyncio.Event().wait(), timeout=30)
        return "late"

    binder = Binder()
    client = ScriptedChatClient(
        [["Working on it", Content.from_function_call(call_id="c1", name="wait_forever", arguments="{}")]]
    )
    agent = Agent(client=client, name="slow", tools=[wait_forever], context_providers=[binder])
    host = host_for(AgentFrameworkAgent(agent))

    with serve(host) as base_url, OpenAI(base_url=f"{base_url}/v1", api_key="test", max_retries=0) as sdk:
        # store=False: nobody could fetch the run later, so the host cancels it when the client goes.
        with sdk.responses.stream(model="slow", input="go", store=False) as stream:
            for event in stream:
                if event.type == "response.output_text.delta":
                    break
        deadline = time.monotonic() + 10
        while not binder.released and time.monotonic() < deadline:
            time.sleep(0.02)

    assert len(binder.bound) == 1
    assert binder.released == binder.bound


# -- workflows -------------------------------------------------------------------------------------


@dataclass
class Question:
    text: str


register_checkpoint_type(Question)


class Counter(Executor):
    """Counts turns; "ask ..." asks the caller a question; "wait" meets the other concurrent run first."""

    def __init__(self, barrier: asyncio.Barrier | None = None) -> None:
        super().__init__(id="counter")
        self.count = 0
        self.barrier = barrier

    @handler
    async def on_text(self, text: str, ctx: WorkflowContext[str, str]) -> None:
        self.count += 1
        if self.barrier is not None:
            await asyncio.wait_for(self.barrier.wait(), timeout=10)
        if text.startswith("ask"):
            await ctx.request_info(Question(f"{text}?"), str)
        else:
            await ctx.yield_output(f"turn {self.count}: {text}")

    @response_handler
    async def on_answer(self, original: Question, answer: str, ctx: WorkflowContext[str, str]) -> None:
        self.count += 1
        await ctx.yield_output(f"{original.text} {answer} (turn {self.count})")

    async def on_checkpoint_save(self) -> dict[str, Any]:
        return {"count": self.count}

    async def on_checkpoint_restore(self, state: dict[str, Any]) -> None:
        self.count = state["count"]


def counter_workflow(barrier: asyncio.Barrier | None = None) -> Workflow:
    return WorkflowBuilder(start_executor=Counter(barrier), name="counter").build()


@pytest.mark.parametrize("stream", [True, False])
def test_a_workflow_conversation_resumes_across_turns_and_a_restart(tmp_path: Path, stream: bool) -> None:
    def workflow_host() -> Host:
        return host_for(AgentFrameworkAgent(factory=counter_workflow, name="counter"), SQLiteStore(tmp_path))

    with openai_client(workflow_host()) as sdk:
        one = sdk.responses.create(model="counter", input="hello")
        asked = sdk.responses.create(model="counter", input="ask me", previous_response_id=one.id)

    (call,) = asked.output
    assert isinstance(call, ResponseFunctionToolCall)
    assert call.name == REQUEST_INFO_FUNCTION
    assert json.loads(call.arguments)["data"] == {"text": "ask me?"}

    answer: ResponseInputParam = [{"type": "function_call_output", "call_id": call.call_id, "output": "yes"}]
    answered: Response
    with openai_client(workflow_host()) as sdk:
        if stream:
            with sdk.responses.stream(model="counter", input=answer, previous_response_id=asked.id) as events:
                answered = events.get_final_response()
        else:
            answered = sdk.responses.create(model="counter", input=answer, previous_response_id=asked.id)
        after = sdk.responses.create(model="counter", input="bye", previous_response_id=answered.id)

    assert one.output_text == "turn 1: hello"
    assert answered.output_text == "ask me? yes (turn 3)"
    assert after.output_text == "turn 4: bye"


def test_a_wrong_answer_to_a_workflow_is_a_clear_error() -> None:
    host = host_for(AgentFrameworkAgent(factory=counter_workflow, name="counter"))
    with openai_client(host) as sdk:
        asked = sdk.responses.create(model="counter", input="ask me")
        with pytest.raises(openai.APIStatusError) as raised:
            sdk.responses.create(
                model="counter",
                previous_response_id=asked.id,
                input=[{"type": "function_call_output", "call_id": "call_unknown", "output": "yes"}],
            )
    assert "The workflow is not waiting for an answer to call_id 'call_unknown'." in str(raised.value)


def test_two_concurrent_runs_against_a_factory_built_workflow_do_not_share_state() -> None:
    barrier = asyncio.Barrier(2)
    host = host_for(AgentFrameworkAgent(factory=lambda: counter_workflow(barrier), name="counter"))

    with (
        serve(host) as base_url,
        OpenAI(base_url=f"{base_url}/v1", api_key="test", max_retries=0, timeout=30) as sdk,
        ThreadPoolExecutor(max_workers=2) as pool,
    ):
        left, right = pool.map(
            lambda text: sdk.responses.create(model="counter", input=text), ["left", "right"]
        )

    # Both runs were inside an executor at once (the barrier needs two), each counting from 1.
    assert (left.output_text, right.output_text) == ("turn 1: left", "turn 1: right")


# -- structured outputs and generation options ------------------------------------------------------


class CityAnswer(BaseModel):
    city: str
    population: int


def test_parse_with_a_pydantic_format_reaches_the_chat_client_and_its_json_is_parsed() -> None:
    client = ScriptedChatClient()

    def respond(messages: Any) -> list[Content | str]:
        # Answers JSON only when it was asked for this schema, as a model held to it would.
        wanted = client.calls[-1].options.get("response_format") or {}
        schema = (wanted.get("json_schema") or {}).get("schema") or {}
        if wanted.get("type") != "json_schema" or set(schema.get("properties", {})) != {"city", "population"}:
            return ["free text: no format was asked for"]
        return [json.dumps({"city": "Paris", "population": 2100000})]

    client.respond = respond
    host = host_for(AgentFrameworkAgent(Agent(client=client, name="cities")))
    with openai_client(host) as sdk:
        parsed = sdk.responses.parse(
            model="cities",
            input="Biggest city of France?",
            text_format=CityAnswer,
            temperature=0.2,
            top_p=0.9,
            max_output_tokens=64,
            parallel_tool_calls=False,
            tool_choice="none",
        )
        plain = sdk.responses.create(model="cities", input="Biggest city of France?")

    assert parsed.output_parsed == CityAnswer(city="Paris", population=2100000)
    options = client.calls[0].options
    assert options["response_format"]["json_schema"]["name"] == "CityAnswer"
    assert options["response_format"]["json_schema"]["strict"] is True
    assert (options["temperature"], options["top_p"], options["max_tokens"]) == (0.2, 0.9, 64)
    assert (options["allow_multiple_tool_calls"], options["tool_choice"]) == (False, "none")
    assert "response_format" not in client.calls[1].options
    assert plain.output_text == "free text: no format was asked for"


def test_json_object_format_reaches_the_chat_client() -> None:
    client = ScriptedChatClient([['{"ok": true}']])
    host = host_for(AgentFrameworkAgent(Agent(client=client, name="json")))
    with openai_client(host) as sdk:
        response = sdk.responses.create(model="json", input="x", text={"format": {"type": "json_object"}})
    assert json.loads(response.output_text) == {"ok": True}
    assert client.calls[0].options["response_format"] == {"type": "json_object"}


async def test_the_format_and_options_reach_a_real_openai_chat_client_and_its_usage_comes_back(
    fake_openai: Callable[..., FakeOpenAI],
) -> None:
    fake = fake_openai(
        [UpstreamReply(text='{"city": "Paris", "population": 1}', input_tokens=11, output_tokens=7)]
    )
    model = OpenAIChatCompletionClient(model="fake-model", api_key="k", base_url=fake.base_url)
    host = host_for(AgentFrameworkAgent(Agent(client=model, name="cities")))
    sdk = async_openai_client(host)
    try:
        parsed = await sdk.responses.parse(
            model="cities", input="Biggest city?", text_format=CityAnswer, temperature=0.5, top_p=0.5
        )
    finally:
        await sdk.close()
        await host.shutdown()
        await model.client.close()
    assert parsed.output_parsed == CityAnswer(city="Paris", population=1)
    assert parsed.usage is not None
    assert (parsed.usage.input_tokens, parsed.usage.output_tokens) == (11, 7)
    sent = fake.model_requests[0].json
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["name"] == "CityAnswer"
    assert set(sent["response_format"]["json_schema"]["schema"]["properties"]) == {"city", "population"}
    assert (sent["temperature"], sent["top_p"]) == (0.5, 0.5)
