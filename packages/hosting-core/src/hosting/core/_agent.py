"""The agent contract, and plain async functions as agents.

An agent is anything with ``run(context) -> AsyncIterator[Update | str]``. The
host hands it a `RunContext` (history + new input, instructions, options,
client tools, a session-state mapping the host persists, the isolation keys)
and renders whatever it yields on the caller's channel.

Two shorthands make hello world short::

    @agent
    async def shout(context: RunContext) -> AsyncIterator[str]:
        yield context.input_text.upper()

    async def hello(context: RunContext) -> str:   # a coroutine: its result is the answer
        return "hello"
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias, overload, runtime_checkable

from ._exceptions import ConfigurationError
from ._isolation import IsolationKeys
from ._types import Item, Message, OutputFormat, ToolSpec, Update

OUTPUT_FORMAT_OPTION = "output_format"
"""The key of ``RunContext.options`` under which a channel puts the requested `OutputFormat`."""


@dataclass(slots=True)
class RunContext:
    """Everything an agent gets for one run.

    Attributes:
        response_id: the id this run's answer will have.
        history: earlier turns (a `previous_response_id` chain or a conversation), oldest first.
        input: the new input of this turn.
        instructions: system-level instructions sent with the request, if any.
        options: generation options from the documented allowlist (temperature, top_p, ...).
        tools: client-declared function tools; answer with a `FunctionCall` to call one. A tool
            the agent runs itself is shown with a `ToolStep`.
        session_state: a mutable mapping the host stores after a successful run and gives back on
            the next turn of the same conversation (or to children of this response).
        isolation: the caller's isolation keys.
    """

    response_id: str
    history: tuple[Item, ...]
    input: tuple[Item, ...]
    instructions: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    tools: tuple[ToolSpec, ...] = ()
    session_state: dict[str, Any] = field(default_factory=dict)
    isolation: IsolationKeys = field(default_factory=IsolationKeys)
    channel: str = ""
    agent_name: str = ""
    previous_response_id: str | None = None
    conversation_id: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def messages(self) -> tuple[Item, ...]:
        """History followed by the new input: the whole context of this turn."""
        return self.history + self.input

    @property
    def input_text(self) -> str:
        """The text of the new input's user messages, joined by newlines."""
        texts = [item.text for item in self.input if isinstance(item, Message) and item.role == "user"]
        return texts[0] if len(texts) == 1 else "\n".join(texts)

    @property
    def output_format(self) -> OutputFormat | None:
        """The format the caller asked the answer's text to have (JSON, or JSON matching a schema).

        None: plain text. A channel that knows the caller's wish puts it in `options` under
        ``"output_format"`` (the Responses channel does, from ``text.format``); an agent that
        cannot produce the format should say so with an `ErrorUpdate` rather than ignore it.
        """
        value = self.options.get(OUTPUT_FORMAT_OPTION)
        return value if isinstance(value, OutputFormat) else None


AgentOutput: TypeAlias = AsyncIterator[Update | str]


@runtime_checkable
class Agent(Protocol):
    """What the host runs. `name` is optional; it names the agent in `/models` and is matched by `model`."""

    def run(self, context: RunContext) -> AgentOutput: ...


AgentFunction: TypeAlias = Callable[[RunContext], AgentOutput] | Callable[[RunContext], Awaitable[Any]]


class FunctionAgent:
    """Adapts an async generator function (or a coroutine function) to the `Agent` protocol.

    A coroutine's result may be a `str`, an `Update`, or a list of them.
    """

    def __init__(self, function: AgentFunction, *, name: str | None = None) -> None:
        if not (inspect.isasyncgenfunction(function) or inspect.iscoroutinefunction(function)):
            raise ConfigurationError(
                f"{getattr(function, '__qualname__', function)!r} is not an async generator or coroutine function"
            )
        self.function = function
        self.name = name or getattr(function, "__name__", "agent")
        self._generator = inspect.isasyncgenfunction(function)

    def run(self, context: RunContext) -> AgentOutput:
        if self._generator:
            # The function's own generator, not a wrapper around it: one hop less per update.
            return self.function(context)  # type: ignore[return-value]
        return self._answer(context)

    async def _answer(self, context: RunContext) -> AgentOutput:
        result = await self.function(context)  # type: ignore[misc]
        if result is None:
            return
        if isinstance(result, list | tuple):
            for update in result:
                yield update
        else:
            yield result

    def __repr__(self) -> str:
        return f"FunctionAgent({self.name!r})"


@overload
def agent(function: AgentFunction, /) -> FunctionAgent: ...


@overload
def agent(*, name: str | None = None) -> Callable[[AgentFunction], FunctionAgent]: ...


def agent(
    function: AgentFunction | None = None, /, *, name: str | None = None
) -> FunctionAgent | Callable[[AgentFunction], FunctionAgent]:
    """Decorator: make an async generator (or coroutine) function an `Agent`.

    Usable bare (``@agent``) or with a name (``@agent(name="helper")``).
    """
    if function is None:

        def decorate(inner: AgentFunction) -> FunctionAgent:
            return FunctionAgent(inner, name=name)

        return decorate
    return FunctionAgent(function, name=name)


def as_agent(target: Any) -> Agent:
    """Accept an `Agent` as it is and wrap a plain function; refuse anything else at start-up."""
    if type(target).__module__.split(".")[0] == "agent_framework":
        raise ConfigurationError(
            f"{type(target).__name__} is an Agent Framework object: wrap it with "
            "hosting.agent_framework.AgentFrameworkAgent(...) (package hosting-agent-framework)"
        )
    if isinstance(target, Agent):
        return target
    if callable(target):
        return FunctionAgent(target)
    raise ConfigurationError(
        f"{target!r} is not an agent: it needs a run(context) method or to be a function"
    )


def agent_name(target: Agent, default: str = "agent") -> str:
    name = getattr(target, "name", None)
    return name if isinstance(name, str) and name else default
