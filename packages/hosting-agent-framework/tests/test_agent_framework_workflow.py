"""Hosted workflows: a checkpoint per conversation, human-in-the-loop requests as function calls."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

import pytest
from agent_framework import (
    Agent,
    ContextProvider,
    Executor,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    handler,
    register_checkpoint_type,
    response_handler,
)
from agent_framework import Message as AFMessage

from hosting.agent_framework import (
    REQUEST_INFO_FUNCTION,
    AgentFrameworkAgent,
    RequestContext,
    ScriptedChatClient,
)
from hosting.agent_framework._checkpoints import ConversationCheckpoints
from hosting.core import ANONYMOUS_USER, FunctionCall, FunctionResult, Host, Item, RunContext

from .conftest import ask, start


@dataclass
class Question:
    text: str


@dataclass
class Verdict:
    approved: bool
    note: str = ""


register_checkpoint_type(Question)
register_checkpoint_type(Verdict)


class Counter(Executor):
    """Counts the turns it has seen; "ask" asks the caller a question, "approve" asks for a verdict."""

    def __init__(self, barrier: asyncio.Barrier | None = None) -> None:
        super().__init__(id="counter")
        self.count = 0
        self.barrier = barrier

    @handler
    async def on_text(self, text: str, ctx: WorkflowContext[str, str]) -> None:
        self.count += 1
        if self.barrier is not None:
            # Both concurrent runs must be inside an executor at once to get past this.
            await asyncio.wait_for(self.barrier.wait(), timeout=5)
        if text.startswith("ask"):
            await ctx.request_info(Question(f"what about {text}?"), str)
        elif text.startswith("approve"):
            await ctx.request_info(Question("approve?"), Verdict)
        else:
            await ctx.yield_output(f"turn {self.count}: {text}")

    @response_handler
    async def on_answer(self, original: Question, answer: str, ctx: WorkflowContext[str, str]) -> None:
        self.count += 1
        await ctx.yield_output(f"{original.text} -> {answer} (turn {self.count})")

    @response_handler
    async def on_verdict(self, original: Question, verdict: Verdict, ctx: WorkflowContext[str, str]) -> None:
        self.count += 1
        await ctx.yield_output(f"approved={verdict.approved} {verdict.note}".strip())

    async def on_checkpoint_save(self) -> dict[str, Any]:
        return {"count": self.count}

    async def on_checkpoint_restore(self, state: dict[str, Any]) -> None:
        self.count = state["count"]


def counter_workflow(barrier: asyncio.Barrier | None = None, *, name: str = "counter") -> Workflow:
    return WorkflowBuilder(start_executor=Counter(barrier), name=name).build()


def texts(result: Any) -> list[str]:
    return [item.text for item in result.output if hasattr(item, "text")]


@pytest.mark.parametrize("stream", [True, False])
async def test_a_conversation_resumes_from_its_checkpoint_every_turn(
    started: list[Host], stream: bool
) -> None:
    host = await start(started, AgentFrameworkAgent(factory=counter_workflow, name="counter", stream=stream))

    first = await host.engine.run(ask("hello"))
    second = await host.engine.run(ask("again", previous_response_id=first.response_id))
    other = await host.engine.run(ask("elsewhere"))
    third = await host.engine.run(ask("more", previous_response_id=second.response_id))

    assert texts(first) == ["turn 1: hello"]
    assert texts(second) == ["turn 2: again"]
    assert texts(other) == ["turn 1: elsewhere"]
    assert texts(third) == ["turn 3: more"]


@pytest.mark.parametrize("stream", [True, False])
async def test_a_request_for_input_surfaces_as_a_call_and_the_answer_resumes_the_workflow(
    started: list[Host], stream: bool
) -> None:
    host = await start(started, AgentFrameworkAgent(factory=counter_workflow, stream=stream))

    first = await host.engine.run(ask("hello"))
    asked = await host.engine.run(ask("ask me", previous_response_id=first.response_id))

    (call,) = asked.output
    assert isinstance(call, FunctionCall)
    assert call.name == REQUEST_INFO_FUNCTION
    arguments = json.loads(call.arguments)
    assert arguments == {
        "request_id": call.call_id,
        "source_executor_id": "counter",
        "request_type": "Question",
        "response_type": "str",
        "data": {"text": "what about ask me?"},
    }

    answered = await host.engine.run(
        ask(FunctionResult(call.call_id, "yes"), previous_response_id=asked.response_id)
    )
    assert texts(answered) == ["what about ask me? -> yes (turn 3)"]
    after = await host.engine.run(ask("bye", previous_response_id=answered.response_id))
    assert texts(after) == ["turn 4: bye"]


async def test_a_structured_answer_is_decoded_from_json(started: list[Host]) -> None:
    host = await start(started, AgentFrameworkAgent(factory=counter_workflow))

    asked = await host.engine.run(ask("approve this"))
    (call,) = asked.output
    assert isinstance(call, FunctionCall)
    assert json.loads(call.arguments)["response_type"] == "Verdict"
    answer = FunctionResult(call.call_id, json.dumps({"approved": True, "note": "fine"}))
    answered = await host.engine.run(ask(answer, previous_response_id=asked.response_id))

    assert texts(answered) == ["approved=True fine"]


async def test_wrong_answers_fail_with_a_clear_message_and_the_request_stays_open(
    started: list[Host],
) -> None:
    host = await start(started, AgentFrameworkAgent(factory=counter_workflow))
    asked = await host.engine.run(ask("approve this"))
    (call,) = asked.output
    assert isinstance(call, FunctionCall)

    async def answer(*items: Item | str) -> Any:
        return await host.engine.run(ask(*items, previous_response_id=asked.response_id))

    unknown = await answer(FunctionResult("call_nobody", "yes"))
    mixed = await answer(FunctionResult(call.call_id, '{"approved": true}'), "and also this")
    mistyped = await answer(FunctionResult(call.call_id, "not a verdict"))
    for failed in (unknown, mixed, mistyped):
        assert failed.status == "failed"
        assert failed.error is not None
        assert failed.error.code == "invalid_request"
    assert unknown.error is not None
    assert unknown.error.message == "The workflow is not waiting for an answer to call_id 'call_nobody'."
    assert mixed.error is not None
    assert "only hold function_call_output items" in mixed.error.message
    assert mistyped.error is not None
    assert mistyped.error.message == "An answer does not match the type its request expects."

    fixed = await answer(FunctionResult(call.call_id, '{"approved": false}'))
    assert texts(fixed) == ["approved=False"]


async def test_an_answer_without_any_checkpoint_is_refused(started: list[Host]) -> None:
    host = await start(started, AgentFrameworkAgent(factory=counter_workflow))
    result = await host.engine.run(ask(FunctionResult("call_1", "yes")))
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.message == "The workflow is not waiting for an answer to call_id 'call_1'."


async def test_a_checkpoint_that_yields_nothing_is_logged_and_the_conversation_starts_afresh(
    started: list[Host], caplog: pytest.LogCaptureFixture
) -> None:
    host = await start(started, AgentFrameworkAgent(factory=counter_workflow))
    first = await host.engine.run(ask("hello"))
    key = f"response:{first.response_id}"
    state = await host.store.get_session_state(ANONYMOUS_USER, key)
    assert state is not None
    state["agent_framework"]["workflow"]["checkpoint"] = {"not": "a checkpoint"}
    await host.store.put_session_state(ANONYMOUS_USER, key, state)

    with caplog.at_level(logging.WARNING, logger="hosting.agent_framework"):
        second = await host.engine.run(ask("again", previous_response_id=first.response_id))

    assert texts(second) == ["turn 1: again"]
    assert "yields nothing" in caplog.text


async def test_a_checkpoint_of_another_workflow_is_not_restored(
    started: list[Host], caplog: pytest.LogCaptureFixture
) -> None:
    names = iter(["counter", "renamed"])
    host = await start(started, AgentFrameworkAgent(factory=lambda: counter_workflow(name=next(names))))
    first = await host.engine.run(ask("hello"))
    with caplog.at_level(logging.WARNING, logger="hosting.agent_framework"):
        second = await host.engine.run(ask("again", previous_response_id=first.response_id))
    assert texts(second) == ["turn 1: again"]
    assert "belongs to workflow 'counter', not 'renamed'" in caplog.text


async def test_concurrent_runs_against_a_factory_built_workflow_do_not_share_state(
    started: list[Host],
) -> None:
    barrier = asyncio.Barrier(2)
    built: list[Workflow] = []

    def factory() -> Workflow:
        workflow = counter_workflow(barrier)
        built.append(workflow)
        return workflow

    host = await start(started, AgentFrameworkAgent(factory=factory))
    left, right = await asyncio.gather(host.engine.run(ask("left")), host.engine.run(ask("right")))

    assert len(built) == 2
    assert texts(left) == ["turn 1: left"]
    assert texts(right) == ["turn 1: right"]


async def test_a_shared_workflow_takes_runs_in_turn(
    started: list[Host], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="hosting.agent_framework"):
        adapter = AgentFrameworkAgent(counter_workflow())
    assert "shared by every conversation" in caplog.text
    host = await start(started, adapter)

    results = await asyncio.gather(*(host.engine.run(ask(f"run {n}")) for n in range(3)))

    assert all(result.status == "completed" for result in results)
    # One instance, one executor: the runs took turns, each seeing the count the last one left.
    assert sorted(text.split(":")[0] for result in results for text in texts(result)) == [
        "turn 1",
        "turn 2",
        "turn 3",
    ]


class Binder(ContextProvider):
    def __init__(self) -> None:
        super().__init__("binder")
        self.bound: list[str] = []

    def bind_request_context(self, context: RequestContext) -> None:
        self.bound.append(context.response_id)


@pytest.mark.parametrize("stream", [True, False])
async def test_a_workflow_of_agents_streams_their_text_and_binds_their_providers(
    started: list[Host], stream: bool
) -> None:
    binder = Binder()

    def build() -> Workflow:
        writer = Agent(
            client=ScriptedChatClient(respond=lambda messages: [f"draft of {messages[-1].text}"]),
            name="writer",
            context_providers=[binder],
        )
        editor = Agent(client=ScriptedChatClient(respond=lambda messages: ["final"]), name="editor")
        return (
            WorkflowBuilder(start_executor=writer, name="pipeline", output_from=[editor])
            .add_edge(writer, editor)
            .build()
        )

    host = await start(started, AgentFrameworkAgent(factory=build, stream=stream))
    result = await host.engine.run(ask("a poem"))

    assert result.status == "completed"
    assert result.text == "final"
    assert binder.bound == [result.response_id]


async def test_workflow_input_builds_the_start_message(started: list[Host]) -> None:
    received: list[str] = []

    class Upper(Executor):
        @handler
        async def on_text(self, text: str, ctx: WorkflowContext[str, str]) -> None:
            received.append(text)
            await ctx.yield_output(text.upper())

    def shout(context: RunContext, items: Any) -> str:
        return f"{context.input_text}!"

    host = await start(
        started,
        AgentFrameworkAgent(
            factory=lambda: WorkflowBuilder(start_executor=Upper(id="upper"), name="upper").build(),
            workflow_input=shout,
        ),
    )
    result = await host.engine.run(ask("hey"))
    assert result.text == "HEY!"
    assert received == ["hey!"]


async def test_a_workflow_taking_neither_messages_nor_text_needs_workflow_input(started: list[Host]) -> None:
    class Numbers(Executor):
        @handler
        async def on_number(self, number: int, ctx: WorkflowContext[int, int]) -> None:
            await ctx.yield_output(number)

    host = await start(
        started,
        AgentFrameworkAgent(
            factory=lambda: WorkflowBuilder(start_executor=Numbers(id="n"), name="n").build()
        ),
    )
    assert (await host.engine.run(ask("1"))).status == "failed"

    numbers = AgentFrameworkAgent(
        factory=lambda: WorkflowBuilder(start_executor=Numbers(id="n"), name="n").build(),
        workflow_input=lambda context, items: int(context.input_text),
    )
    host = await start(started, numbers)
    result = await host.engine.run(ask("41"))
    assert result.text == "41"


async def test_a_message_taking_workflow_gets_the_last_message(started: list[Host]) -> None:
    received: list[str] = []

    class Single(Executor):
        @handler
        async def on_message(self, message: AFMessage, ctx: WorkflowContext[str, str]) -> None:
            received.append(message.text)
            await ctx.yield_output("ok")

    host = await start(
        started,
        AgentFrameworkAgent(factory=lambda: WorkflowBuilder(start_executor=Single(id="s"), name="s").build()),
    )
    result = await host.engine.run(ask("first", "second"))
    assert result.text == "ok"
    assert received == ["second"]


async def test_checkpoint_ids_cannot_leave_the_private_directory() -> None:
    state = {"workflow": {"checkpoint_id": "../../escape", "checkpoint": {"x": 1}}}
    async with ConversationCheckpoints(state) as checkpoints:
        assert checkpoints.stored_id == "../../escape"
        assert await checkpoints.latest("any") is None
        directory = checkpoints.storage.storage_path
        assert list(directory.iterdir()) == []
    assert not directory.exists()
