"""Request context bound for the whole run (released however it ends), and agent factories."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from typing import Any

import pytest
from agent_framework import Agent, AgentSession, Content, ContextProvider, SessionContext, tool

from hosting.agent_framework import (
    AgentFrameworkAgent,
    RequestContext,
    ScriptedChatClient,
    SupportsRequestContext,
    get_request_context,
    request_context_scope,
)
from hosting.core import ANONYMOUS_USER, ConfigurationError, Host, RunContext

from .conftest import ask, start

SEEN_BY_PROVIDER: ContextVar[RequestContext | None] = ContextVar("test.seen_by_provider", default=None)


class Binder(ContextProvider):
    """A context provider that takes the request context through the hook, into its own ContextVar."""

    def __init__(self) -> None:
        super().__init__("binder")
        self.bound: list[str] = []
        self.released: list[str] = []
        self.seen: list[tuple[str, str | None]] = []

    def bind_request_context(self, context: RequestContext) -> contextlib.AbstractContextManager[None]:
        self.bound.append(context.response_id)

        @contextlib.contextmanager
        def scope() -> Iterator[None]:
            token = SEEN_BY_PROVIDER.set(context)
            try:
                yield
            finally:
                SEEN_BY_PROVIDER.reset(token)
                self.released.append(context.response_id)

        return scope()

    async def before_run(
        self, *, agent: Any, session: AgentSession, context: SessionContext, state: dict[str, Any]
    ) -> None:
        current = SEEN_BY_PROVIDER.get()
        if current is not None:
            self.seen.append((current.response_id, current.previous_response_id))


class AsyncBinder(ContextProvider):
    def __init__(self) -> None:
        super().__init__("async-binder")
        self.events: list[str] = []

    def bind_request_context(self, context: RequestContext) -> contextlib.AbstractAsyncContextManager[None]:
        @contextlib.asynccontextmanager
        async def scope() -> AsyncIterator[None]:
            self.events.append(f"bind {context.response_id}")
            yield
            self.events.append(f"release {context.response_id}")

        return scope()


def test_the_protocol_recognizes_binders() -> None:
    assert isinstance(Binder(), SupportsRequestContext)
    assert not isinstance(object(), SupportsRequestContext)


@pytest.mark.parametrize("stream", [True, False])
async def test_providers_get_the_response_ids_for_the_run_and_release_them(
    started: list[Host], stream: bool
) -> None:
    binder, async_binder = Binder(), AsyncBinder()
    client = ScriptedChatClient(respond=lambda messages: ["ok"])
    agent = Agent(client=client, context_providers=[binder, async_binder])
    host = await start(started, AgentFrameworkAgent(agent, stream=stream))

    first = await host.engine.run(ask("one"))
    second = await host.engine.run(ask("two", previous_response_id=first.response_id))

    assert binder.seen == [(first.response_id, None), (second.response_id, first.response_id)]
    assert binder.bound == binder.released == [first.response_id, second.response_id]
    assert async_binder.events == [
        f"bind {first.response_id}",
        f"release {first.response_id}",
        f"bind {second.response_id}",
        f"release {second.response_id}",
    ]
    assert SEEN_BY_PROVIDER.get() is None
    assert get_request_context() is None


async def test_tools_read_the_request_context_and_it_is_gone_after_the_run(started: list[Host]) -> None:
    seen: list[RequestContext | None] = []

    @tool
    def whoami() -> str:
        """Who is asking."""
        seen.append(get_request_context())
        return "you"

    client = ScriptedChatClient(
        [[Content.from_function_call(call_id="c1", name="whoami", arguments="{}")], ["done"]]
    )
    host = await start(started, AgentFrameworkAgent(Agent(client=client, tools=[whoami])))

    result = await host.engine.run(ask("who am I?", metadata={"team": "blue"}))

    assert result.text == "done"
    (context,) = seen
    assert context is not None
    assert context.response_id == result.response_id
    assert context.isolation.user == ANONYMOUS_USER
    assert context.channel == "test"
    assert context.metadata == {"team": "blue"}
    assert get_request_context() is None


async def test_the_binding_is_released_when_the_run_is_cancelled_mid_stream(started: list[Host]) -> None:
    entered = asyncio.Event()
    never = asyncio.Event()

    @tool
    async def slow() -> str:
        """Takes forever."""
        entered.set()
        await never.wait()
        return "late"

    binder = Binder()
    client = ScriptedChatClient([[Content.from_function_call(call_id="c1", name="slow", arguments="{}")]])
    host = await start(
        started, AgentFrameworkAgent(Agent(client=client, tools=[slow], context_providers=[binder]))
    )

    run = await host.engine.start(ask("go"))
    await asyncio.wait_for(entered.wait(), timeout=5)
    assert binder.released == []
    record = await host.engine.cancel(ANONYMOUS_USER, run.id)

    assert record.status == "cancelled"
    assert binder.bound == binder.released == [run.id]


def test_request_context_scope_nests_and_resets() -> None:
    outer, inner = (
        RequestContext("resp_outer"),
        RequestContext("resp_inner", previous_response_id="resp_outer"),
    )
    with request_context_scope(outer):
        with request_context_scope(inner):
            assert get_request_context() == inner
        assert get_request_context() == outer
    assert get_request_context() is None


# -- factories -------------------------------------------------------------------------------------


def echo_agent(built: list[Agent]) -> Agent:
    agent = Agent(client=ScriptedChatClient(respond=lambda messages: [f"echo: {messages[-1].text}"]))
    built.append(agent)
    return agent


async def test_a_per_run_factory_builds_an_agent_for_every_run_and_the_session_still_carries_over(
    started: list[Host],
) -> None:
    built: list[Agent] = []
    host = await start(started, AgentFrameworkAgent(factory=lambda: echo_agent(built), name="echo"))

    first = await host.engine.run(ask("one"))
    second = await host.engine.run(ask("two", previous_response_id=first.response_id))

    assert second.text == "echo: two"
    assert len(built) == 2
    second_client = built[1].client
    assert isinstance(second_client, ScriptedChatClient)
    assert second_client.calls[0].texts == [("user", "one"), ("assistant", "echo: one"), ("user", "two")]


async def test_a_per_conversation_factory_builds_once_per_conversation(started: list[Host]) -> None:
    built: list[Agent] = []
    contexts: list[RunContext] = []

    async def factory(context: RunContext) -> Agent:
        contexts.append(context)
        return echo_agent(built)

    host = await start(started, AgentFrameworkAgent(factory=factory, per="conversation", name="echo"))

    a1 = await host.engine.run(ask("a1"))
    a2 = await host.engine.run(ask("a2", previous_response_id=a1.response_id))
    await host.engine.run(ask("a3", previous_response_id=a2.response_id))
    b1 = await host.engine.run(ask("b1"))
    await host.engine.run(ask("b2", previous_response_id=b1.response_id))

    assert len(built) == 2
    assert [context.response_id for context in contexts] == [a1.response_id, b1.response_id]


async def test_the_per_conversation_cache_is_bounded(started: list[Host]) -> None:
    built: list[Agent] = []
    host = await start(
        started,
        AgentFrameworkAgent(factory=lambda: echo_agent(built), per="conversation", max_conversations=1),
    )

    a1 = await host.engine.run(ask("a1"))
    await host.engine.run(ask("b1"))
    await host.engine.run(ask("a2", previous_response_id=a1.response_id))

    # Conversation "a" was pushed out by "b", so its next turn builds again.
    assert len(built) == 3


async def test_agents_built_per_run_are_closed(started: list[Host]) -> None:
    closed: list[str] = []

    class Closing(Agent):
        async def close(self) -> None:
            closed.append("closed")

    host = await start(
        started,
        AgentFrameworkAgent(factory=lambda: Closing(client=ScriptedChatClient(respond=lambda m: ["ok"]))),
    )
    await host.engine.run(ask("one"))
    await host.engine.run(ask("two"))
    assert closed == ["closed", "closed"]


def test_configuration_mistakes_are_refused_at_start_up() -> None:
    agent = Agent(client=ScriptedChatClient())
    with pytest.raises(ConfigurationError, match="not both"):
        AgentFrameworkAgent(agent, factory=lambda: agent)
    with pytest.raises(ConfigurationError, match="not both"):
        AgentFrameworkAgent()
    with pytest.raises(ConfigurationError, match="per must be"):
        AgentFrameworkAgent(factory=lambda: agent, per="user")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="not an Agent Framework agent"):
        AgentFrameworkAgent(object())
    with pytest.raises(ConfigurationError, match="no argument or the run's RunContext"):
        AgentFrameworkAgent(factory=lambda a, b: agent)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="at least 1"):
        AgentFrameworkAgent(factory=lambda: agent, max_conversations=0)


async def test_a_factory_that_builds_something_else_fails_the_run(started: list[Host]) -> None:
    host = await start(started, AgentFrameworkAgent(factory=lambda: "not an agent"))
    result = await host.engine.run(ask("hi"))
    assert result.status == "failed"


def test_the_name_comes_from_the_agent_unless_given() -> None:
    agent = Agent(client=ScriptedChatClient(), name="helper")
    assert AgentFrameworkAgent(agent).name == "helper"
    assert AgentFrameworkAgent(agent, name="other").name == "other"
    assert AgentFrameworkAgent(factory=lambda: agent).name == "agent"
    assert AgentFrameworkAgent(agent).target is agent
    assert repr(AgentFrameworkAgent(agent)) == "AgentFrameworkAgent('helper')"


async def test_concurrent_runs_share_one_agent_safely(started: list[Host]) -> None:
    gate = asyncio.Event()
    arrived = 0

    async def reply_after_both_arrive(messages: Any) -> None:
        nonlocal arrived
        arrived += 1
        if arrived == 2:
            gate.set()

    @tool
    async def wait_for_both() -> str:
        """Waits until both runs are inside the agent."""
        await reply_after_both_arrive(None)
        await asyncio.wait_for(gate.wait(), timeout=5)
        return "together"

    client = ScriptedChatClient(
        respond=lambda messages: (
            ["finished"]
            if messages[-1].role == "tool"
            else [
                Content.from_function_call(
                    call_id=f"c{time.monotonic_ns()}", name="wait_for_both", arguments="{}"
                )
            ]
        )
    )
    host = await start(started, AgentFrameworkAgent(Agent(client=client, tools=[wait_for_both])))

    first, second = await asyncio.gather(host.engine.run(ask("one")), host.engine.run(ask("two")))

    assert (first.text, second.text) == ("finished", "finished")
