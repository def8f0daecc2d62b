"""The request a run serves, bound for the whole run: a ContextVar, and a hook for context providers.

Two ways to reach it from inside an Agent Framework agent:

- `get_request_context()` anywhere in the run (tools, middleware, providers):
  the adapter sets it when the run starts and resets it when the run ends.
- a context provider (or any object the adapter finds on the agent, see
  `request_context_targets`) with a ``bind_request_context(context)`` method:
  the adapter calls it when the run starts and exits what it returns (a context
  manager, sync or async) when the run ends, in a ``finally``, so it is released
  even when the client abandons the stream (the engine closes the run's
  generator then).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from hosting.core import IsolationKeys, RunContext

logger = logging.getLogger("hosting.agent_framework")


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Who asked for this run, and which response it makes.

    Attributes:
        response_id: the id the run's answer will have.
        previous_response_id: the response this run continues, if any.
        conversation_id: the conversation this run belongs to, if any.
        isolation: the caller's isolation keys.
        channel: the channel the request came in on.
        metadata: the caller's metadata for this request.
    """

    response_id: str
    previous_response_id: str | None = None
    conversation_id: str | None = None
    isolation: IsolationKeys = field(default_factory=IsolationKeys)
    channel: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, context: RunContext) -> RequestContext:
        """The request context of a run."""
        return cls(
            response_id=context.response_id,
            previous_response_id=context.previous_response_id,
            conversation_id=context.conversation_id,
            isolation=context.isolation,
            channel=context.channel,
            metadata=dict(context.metadata),
        )


@runtime_checkable
class SupportsRequestContext(Protocol):
    """A context provider (or other part of an agent) that wants the request context of each run.

    ``bind_request_context`` is called when a run starts. It returns a context
    manager (sync or async) that is exited when the run ends, however it ends,
    or None when there is nothing to release. Runs can be concurrent, so keep
    the value in a ContextVar rather than on the instance.
    """

    def bind_request_context(self, context: RequestContext) -> Any: ...


_current_request_context: ContextVar[RequestContext | None] = ContextVar(
    "hosting.agent_framework.request_context", default=None
)


def get_request_context() -> RequestContext | None:
    """The request context of the run being served, or None outside a run."""
    return _current_request_context.get()


@contextlib.contextmanager
def request_context_scope(context: RequestContext) -> Iterator[RequestContext]:
    """Make `context` the current request context until the block ends."""
    token = _current_request_context.set(context)
    try:
        yield context
    finally:
        try:
            _current_request_context.reset(token)
        except ValueError:
            # Closed from another context (a generator finalized by the garbage collector):
            # that context ends with the generator, so there is nothing left to reset.
            pass


def request_context_targets(target: Any) -> list[SupportsRequestContext]:
    """The objects of an agent (or of a workflow's agents) that accept the request context.

    Looked at: the target itself, its ``context_providers``, and for a workflow,
    every executor and its ``agent`` with that agent's providers. Each object is
    bound once.
    """
    found: list[SupportsRequestContext] = []
    seen: set[int] = set()

    def visit(candidate: Any) -> None:
        if candidate is None or id(candidate) in seen:
            return
        seen.add(id(candidate))
        if isinstance(candidate, SupportsRequestContext):
            found.append(candidate)
        providers = getattr(candidate, "context_providers", None)
        if isinstance(providers, Iterable) and not isinstance(providers, str | bytes):
            for provider in providers:
                visit(provider)

    visit(target)
    executors = getattr(target, "executors", None)
    if isinstance(executors, Mapping):
        for executor in executors.values():
            visit(executor)
            visit(getattr(executor, "agent", None))
    return found


@contextlib.asynccontextmanager
async def bound_request_context(target: Any, context: RequestContext) -> AsyncIterator[RequestContext]:
    """Set the current request context and bind it to every object of `target` that accepts it.

    Bindings are released in reverse order when the block ends, however it ends.
    """
    with request_context_scope(context):
        async with contextlib.AsyncExitStack() as stack:
            for binder in request_context_targets(target):
                bound = binder.bind_request_context(context)
                if bound is None:
                    continue
                if hasattr(bound, "__aenter__"):
                    await stack.enter_async_context(bound)
                elif hasattr(bound, "__enter__"):
                    stack.enter_context(bound)
                else:
                    logger.warning(
                        "%s.bind_request_context returned %s, which is not a context manager; ignored",
                        type(binder).__name__,
                        type(bound).__name__,
                    )
            yield context
