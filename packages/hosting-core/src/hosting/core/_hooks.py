"""Run hooks and update hooks: the application's say over each run, before and during it."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeAlias

from ._agent import RunContext
from ._channel import ChannelRequest
from ._types import TextDelta, Update

RunHook: TypeAlias = Callable[[ChannelRequest], ChannelRequest | Awaitable[ChannelRequest | None] | None]
"""Called before the agent runs. Return a changed request, or None to keep it; raise
`RejectedError` to refuse it (the channel shows the error's message and status)."""

UpdateHook: TypeAlias = Callable[[Update, RunContext], Update | Awaitable[Update | None] | None]
"""Called on each update the agent yields. Return it (changed or not), or None to drop it."""


async def apply_run_hooks(hooks: Sequence[RunHook], request: ChannelRequest) -> ChannelRequest:
    """`request` as the run hooks leave it, each seeing what the one before returned."""
    for hook in hooks:
        result = hook(request)
        if inspect.isawaitable(result):
            result = await result
        if result is not None:
            request = result
    return request


async def apply_update_hooks(
    hooks: Sequence[UpdateHook], update: Update | str, context: RunContext
) -> Update | None:
    """`update` as the update hooks leave it; None when one of them dropped it."""
    current: Update | None = TextDelta(update) if isinstance(update, str) else update
    for hook in hooks:
        if current is None:
            return None
        result = hook(current, context)
        current = await result if inspect.isawaitable(result) else result
    return current
