"""Agents made for tests: one that plays a script and records its runs, and one that echoes.

`ScriptedAgent` answers with a script of steps, so a test decides exactly what
the host receives from the agent (text, reasoning, calls of client tools, steps
of its own tools, usage, a pause, a failure at step N), and it records every run it was given, so the test
can assert on what the host passed in (history, instructions, options, tools,
session state, isolation keys) and on how the run ended (cancelled, failed).

`EchoAgent` answers with the text of every user message in its context, which
makes conversation memory visible from the outside.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import re
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from hosting.core import (
    AgentOutput,
    ErrorUpdate,
    FunctionCall,
    FunctionResult,
    IsolationKeys,
    Item,
    ItemBreak,
    Message,
    Reasoning,
    ReasoningDelta,
    RunContext,
    TextDelta,
    ToolSpec,
    ToolStep,
    Update,
    Usage,
)
from hosting.core.channels import OutputFormat


@dataclass(frozen=True, slots=True)
class Delay:
    """A script step: pause for `seconds` before the next step (the run stays cancellable)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Fail:
    """A script step: raise `error` here, as an agent that crashes mid-run would."""

    error: BaseException | type[BaseException]


StepFunction: TypeAlias = Callable[[RunContext], Any]
"""A script step computed from the run: it may return (or await to) a step, an iterable of steps, or None."""

Step: TypeAlias = str | Update | Delay | Fail | StepFunction
"""One step of a script: text (a delta), any core update, a `Delay`, a `Fail`, or a `StepFunction`."""


@dataclass(slots=True)
class RecordedRun:
    """What a `ScriptedAgent` received for one run, and how that run ended.

    Attributes:
        response_id: the id the answer will have.
        history: earlier turns, oldest first.
        input: the new input of the turn.
        instructions: the request's instructions, if any.
        options: generation options the host passed on.
        tools: client-declared function tools.
        session_state: a copy of the session state as the run began.
        isolation: the caller's isolation keys.
        channel: the channel the request came in on.
        agent_name: the name the host runs this agent under.
        previous_response_id: the response this turn continues, if any.
        conversation_id: the conversation this turn belongs to, if any.
        metadata: the caller's metadata.
        context: the live `RunContext` (its `session_state` holds what the run left behind).
        updates: every update the agent yielded, in order.
        finished: the script ran to its end.
        cancelled: the run was cancelled while the agent was working.
        closed: the host stopped reading the agent's updates before the script ended.
        error: the exception the agent raised, if any.
        output_format: the format the caller asked the answer to have (`RunContext.output_format`).
    """

    response_id: str
    history: tuple[Item, ...]
    input: tuple[Item, ...]
    instructions: str | None
    options: Mapping[str, Any]
    tools: tuple[ToolSpec, ...]
    session_state: dict[str, Any]
    isolation: IsolationKeys
    channel: str
    agent_name: str
    previous_response_id: str | None
    conversation_id: str | None
    metadata: Mapping[str, str]
    context: RunContext
    updates: list[Update] = field(default_factory=list)
    finished: bool = False
    cancelled: bool = False
    closed: bool = False
    error: BaseException | None = None
    output_format: OutputFormat | None = None

    @classmethod
    def of(cls, context: RunContext) -> RecordedRun:
        return cls(
            response_id=context.response_id,
            history=context.history,
            input=context.input,
            instructions=context.instructions,
            options=dict(context.options),
            tools=context.tools,
            session_state=copy.deepcopy(context.session_state),
            isolation=context.isolation,
            channel=context.channel,
            agent_name=context.agent_name,
            previous_response_id=context.previous_response_id,
            conversation_id=context.conversation_id,
            metadata=dict(context.metadata),
            context=context,
            output_format=context.output_format,
        )

    @property
    def messages(self) -> tuple[Item, ...]:
        """History followed by the new input."""
        return self.history + self.input

    @property
    def input_text(self) -> str:
        """The text of the new input's user messages, joined by newlines."""
        return "\n".join(
            item.text for item in self.input if isinstance(item, Message) and item.role == "user"
        )

    @property
    def done(self) -> bool:
        """The run has ended, one way or another."""
        return self.finished or self.cancelled or self.closed or self.error is not None


class ScriptedAgent:
    """An agent that plays a script and records every run it receives.

    Give one script for every run, or one script per run with `turns` (consumed in
    order; a run past the last one fails with a clear error, so a test notices)::

        agent = ScriptedAgent(["Hello", ", world", Usage(input_tokens=3, output_tokens=2)])
        agent = ScriptedAgent(turns=[["Hi!"], [FunctionCall("call_1", "clock", "{}")]])
        agent = ScriptedAgent([ToolStep("calculator", '{"expression": "2+2"}', output="4"), "4"])
        agent = ScriptedAgent(["partial", Delay(0.1), Fail(RuntimeError("boom"))])

    Args:
        script: the steps of every run (when `turns` is not given).
        turns: one script per run, in order.
        name: the agent's name (matched by the Responses ``model``).
    """

    def __init__(
        self,
        script: Sequence[Step] | None = None,
        *,
        turns: Sequence[Sequence[Step]] | None = None,
        name: str = "scripted",
    ) -> None:
        if script is not None and turns is not None:
            raise ValueError("give either a script or turns, not both")
        if isinstance(script, str):
            raise TypeError("script is a sequence of steps; wrap a single text in a list")
        self.name = name
        self._script: tuple[Step, ...] | None = None if turns is not None else tuple(script or ())
        self._turns: tuple[tuple[Step, ...], ...] = tuple(tuple(turn) for turn in turns or ())
        self.runs: list[RecordedRun] = []

    @property
    def last_run(self) -> RecordedRun:
        """The most recent run (raises `LookupError` when there was none)."""
        if not self.runs:
            raise LookupError("the agent has not been run")
        return self.runs[-1]

    async def wait_for_runs(self, count: int = 1, *, within: float = 5.0) -> list[RecordedRun]:
        """Wait until at least `count` runs have started (polling, for at most `within` seconds).

        Raises:
            TimeoutError: fewer runs started in time.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while len(self.runs) < count:
            if loop.time() > deadline:
                raise TimeoutError(f"{len(self.runs)} of {count} runs started within {within} s")
            await asyncio.sleep(0.005)
        return self.runs[:count]

    def _script_for(self, index: int) -> tuple[Step, ...]:
        if self._script is not None:
            return self._script
        if index >= len(self._turns):
            raise RuntimeError(
                f"ScriptedAgent has {len(self._turns)} scripted turns and was run again (run {index + 1})"
            )
        return self._turns[index]

    async def run(self, context: RunContext) -> AgentOutput:
        recorded = RecordedRun.of(context)
        index = len(self.runs)
        self.runs.append(recorded)
        try:
            script = self._script_for(index)
            for step in script:
                async for update in _play(step, context):
                    recorded.updates.append(update)
                    yield update
        except asyncio.CancelledError:
            recorded.cancelled = True
            raise
        except GeneratorExit:
            # The host stopped reading (after an `ErrorUpdate`, say): not a cancellation.
            recorded.closed = True
            raise
        except BaseException as error:
            recorded.error = error
            raise
        recorded.finished = True

    def __repr__(self) -> str:
        return f"ScriptedAgent({self.name!r}, runs={len(self.runs)})"


_UPDATE_TYPES = (
    TextDelta,
    ReasoningDelta,
    Usage,
    ErrorUpdate,
    ItemBreak,
    Message,
    FunctionCall,
    FunctionResult,
    Reasoning,
    ToolStep,
)


async def _play(step: Step, context: RunContext) -> AsyncIterator[Update]:
    """The updates of one step (a function step may expand to several)."""
    if isinstance(step, str):
        if step:
            yield TextDelta(step)
    elif isinstance(step, Delay):
        await asyncio.sleep(step.seconds)
    elif isinstance(step, Fail):
        raise step.error
    elif isinstance(step, _UPDATE_TYPES):
        yield step
    elif callable(step):
        result = step(context)
        if inspect.isawaitable(result):
            result = await result
        for inner in _as_steps(result):
            async for update in _play(inner, context):
                yield update
    else:
        raise TypeError(f"{step!r} is not a script step")


def _as_steps(result: object) -> Iterable[Any]:
    if result is None:
        return ()
    if isinstance(result, str) or not isinstance(result, Iterable):
        return (result,)
    return result


# Each word with the whitespace before it; the last match keeps trailing whitespace, so the
# deltas add up to the text exactly.
_WORDS = re.compile(r"\s*\S+|\s+$")


class EchoAgent:
    """Answers with the text of every user message in its context, history included, one per line.

    The answer streams word by word, so a streaming client sees several deltas. On the
    second turn of a conversation it repeats both user messages, which shows that the host
    gave it the history.

    Args:
        name: the agent's name (matched by the Responses ``model``).
        delay: seconds to pause between words (0: none).
    """

    def __init__(self, *, name: str = "echo", delay: float = 0.0) -> None:
        self.name = name
        self.delay = delay

    @staticmethod
    def reply_to(messages: Iterable[Item]) -> str:
        """What the agent answers for a context of `messages`."""
        return "\n".join(item.text for item in messages if isinstance(item, Message) and item.role == "user")

    async def run(self, context: RunContext) -> AgentOutput:
        text = self.reply_to(context.messages)
        for position, match in enumerate(_WORDS.finditer(text)):
            if self.delay and position:
                await asyncio.sleep(self.delay)
            yield TextDelta(match.group())

    def __repr__(self) -> str:
        return f"EchoAgent({self.name!r})"
