"""Which agent or workflow instance serves a run: one shared, one per run, or one per conversation.

An Agent Framework agent keeps a conversation's state in its `AgentSession`, so
one instance can serve concurrent runs. A workflow keeps its executors' state
in the instance and refuses a second concurrent run, so a shared workflow's runs
take turns (and every turn restores its conversation's checkpoint first); a
factory gives each run, or each conversation, an instance of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from agent_framework import Workflow
from hosting.core import ConfigurationError, RunContext

from ._state import conversation_key

logger = logging.getLogger("hosting.agent_framework")

Per: TypeAlias = Literal["run", "conversation"]
Factory: TypeAlias = Callable[[], Any] | Callable[[RunContext], Any]
"""Builds an agent or a workflow; may take the `RunContext` of the run it is built for, and may be async."""


def is_workflow(target: Any) -> bool:
    return isinstance(target, Workflow)


def check_target(target: Any) -> None:
    """Refuse, at start-up, something that is neither an Agent Framework agent nor a workflow."""
    if is_workflow(target):
        return
    if callable(getattr(target, "run", None)):
        return
    raise ConfigurationError(
        f"{target!r} is not an Agent Framework agent or workflow: it needs a run(messages, *, stream, session) method"
    )


def _takes_context(factory: Factory) -> bool:
    try:
        parameters = [
            parameter
            for parameter in inspect.signature(factory).parameters.values()
            if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
            and parameter.default is parameter.empty
        ]
    except (TypeError, ValueError):  # builtins without a signature take nothing here
        return False
    if len(parameters) > 1:
        raise ConfigurationError(f"the factory {factory!r} must take no argument or the run's RunContext")
    return len(parameters) == 1


@dataclass
class _Slot:
    target: Any
    lock: asyncio.Lock


class Targets:
    """Hands out the instance for each run.

    Args:
        target: a shared agent or workflow (None with a factory).
        factory: builds one; see `Factory`.
        per: with a factory, ``"run"`` builds an instance for every run, ``"conversation"`` one per
            conversation (kept, up to `max_conversations`, least recently used first out).
        max_conversations: how many per-conversation instances are kept.
    """

    def __init__(
        self,
        target: Any = None,
        *,
        factory: Factory | None = None,
        per: Per = "run",
        max_conversations: int = 256,
    ) -> None:
        if (target is None) == (factory is None):
            raise ConfigurationError("give either an agent (or workflow) or a factory, not both")
        if per not in ("run", "conversation"):
            raise ConfigurationError(f"per must be 'run' or 'conversation', not {per!r}")
        if max_conversations < 1:
            raise ConfigurationError("max_conversations must be at least 1")
        if target is not None:
            check_target(target)
            if is_workflow(target):
                logger.warning(
                    "workflow %r is shared by every conversation: its runs take turns, and a conversation's "
                    "first turn starts from the state the last run left; pass factory= to isolate them",
                    getattr(target, "name", target),
                )
        self.factory = factory
        self.per: Per = per
        self.max_conversations = max_conversations
        self._takes_context = _takes_context(factory) if factory is not None else False
        self._shared = _Slot(target, asyncio.Lock()) if target is not None else None
        self._conversations: OrderedDict[str, _Slot] = OrderedDict()

    @property
    def shared(self) -> Any:
        """The shared target, if there is one."""
        return self._shared.target if self._shared is not None else None

    async def _build(self, context: RunContext) -> Any:
        factory = self.factory
        if factory is None:  # pragma: no cover - guarded by __init__
            raise ConfigurationError("no factory")
        built = factory(context) if self._takes_context else factory()  # type: ignore[call-arg]
        if inspect.isawaitable(built):
            built = await built
        check_target(built)
        return built

    @contextlib.asynccontextmanager
    async def acquire(self, context: RunContext) -> AsyncIterator[Any]:
        """The instance for this run, held for the run's length."""
        if self._shared is not None:
            async with self._hold(self._shared):
                yield self._shared.target
            return
        if self.per == "run":
            built = await self._build(context)
            try:
                yield built
            finally:
                await _close(built)
            return
        key = conversation_key(context)
        slot = self._conversations.get(key)
        if slot is None:
            slot = _Slot(await self._build(context), asyncio.Lock())
            # Another run of this conversation may have built one while we awaited the factory.
            slot = self._conversations.setdefault(key, slot)
        self._conversations.move_to_end(key)
        while len(self._conversations) > self.max_conversations:
            self._conversations.popitem(last=False)
        async with self._hold(slot):
            yield slot.target

    @contextlib.asynccontextmanager
    async def _hold(self, slot: _Slot) -> AsyncIterator[None]:
        # Agents serve concurrent runs; a workflow instance runs one at a time.
        if not is_workflow(slot.target):
            yield
            return
        async with slot.lock:
            yield


async def _close(target: Any) -> None:
    """Release what a per-run agent opened (MCP connections, clients), without failing the run."""
    close: Callable[[], Awaitable[Any] | Any] | None = getattr(target, "close", None)
    if close is None or is_workflow(target):
        return
    try:
        result = close()
        if inspect.isawaitable(result):
            await result
    except Exception:
        logger.exception("closing the agent built for a run failed")
