"""Isolation keys: whose data a request may touch, carried in a ContextVar.

`IsolationMiddleware` is pure ASGI on purpose: Starlette's `BaseHTTPMiddleware`
runs the app in a copied context, so a ContextVar set there would not reach the
route (and a reset would not reach the caller).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

ANONYMOUS_USER = "anonymous"


@dataclass(frozen=True, slots=True)
class IsolationKeys:
    """Who is calling (`user`) and, optionally, which chat of theirs (`chat`).

    Every store read and write is scoped by `user`; `chat` narrows a channel's
    session (a group chat, say) within that user.
    """

    user: str = ANONYMOUS_USER
    chat: str | None = None


_current_isolation_keys: contextvars.ContextVar[IsolationKeys | None] = contextvars.ContextVar(
    "hosting.core.isolation_keys", default=None
)


def get_current_isolation_keys() -> IsolationKeys | None:
    """The keys of the request being served, or None outside of one."""
    return _current_isolation_keys.get()


def current_keys() -> IsolationKeys:
    """The caller's isolation keys (the anonymous user's outside a request)."""
    return _current_isolation_keys.get() or IsolationKeys()


def set_current_isolation_keys(keys: IsolationKeys | None) -> contextvars.Token[IsolationKeys | None]:
    """Set the keys for the current context; pass the token to `reset_current_isolation_keys`."""
    return _current_isolation_keys.set(keys)


def reset_current_isolation_keys(token: contextvars.Token[IsolationKeys | None]) -> None:
    """Undo a `set_current_isolation_keys`."""
    _current_isolation_keys.reset(token)


@contextmanager
def isolation_scope(keys: IsolationKeys | None) -> Iterator[IsolationKeys | None]:
    """Run a block with `keys` as the current isolation keys, restoring the old ones after."""
    token = _current_isolation_keys.set(keys)
    try:
        yield keys
    finally:
        _current_isolation_keys.reset(token)
