"""Awaiting in another `contextvars.Context`: how a run's agent keeps its own context.

An agent's stream is an async generator the engine steps with ``__anext__``. A
span made current inside the generator (``start_as_current_span`` across a
``yield``, as instrumented frameworks do) would be attached in the context of
one step and detached in the context of another, which OpenTelemetry refuses
("Failed to detach context"), and a context attached around each step by the
host would hide whatever the agent attached itself. So the run gets one context,
made when it starts, and every step of its stream runs inside it, the way
`asyncio.Task` runs each step of its coroutine inside the task's context.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Generator
from typing import Any, TypeVar

T = TypeVar("T")


class InContext(Awaitable[T]):
    """`awaitable`, each of its steps run inside `context`."""

    __slots__ = ("_awaitable", "_context")

    def __init__(self, awaitable: Awaitable[T], context: contextvars.Context) -> None:
        self._awaitable = awaitable
        self._context = context

    def __await__(self) -> Generator[Any, Any, T]:
        iterator = self._context.run(self._awaitable.__await__)
        run = self._context.run
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                signal = run(iterator.send, value) if error is None else run(iterator.throw, error)
            except StopIteration as stop:
                result: T = stop.value
                return result
            try:
                value = yield signal
                error = None
            except BaseException as raised:  # a cancel of the task goes on to the awaitable
                value, error = None, raised
