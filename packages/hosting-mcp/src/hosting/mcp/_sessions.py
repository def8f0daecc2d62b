"""The SDK's Streamable HTTP session manager, run for the host's lifetime, and the endpoint before it.

Three things the SDK cannot know about the host are settled here:

1. Who is calling. The host's middleware puts the caller's `IsolationKeys` in a ContextVar, but
   the SDK runs tool handlers in tasks of its session manager's task group, which began when the
   host started, not in the request. The endpoint copies the keys into the ASGI scope of each
   request; a handler reads them from the HTTP request that carried its message (`caller_keys`).
2. Whose session it is. The endpoint presents the caller to the SDK as an authenticated user (the
   scope's ``user``), which the SDK records as the owner of each session it opens: a request that
   names a session opened with other keys is answered 404, exactly as for an unknown session.
3. Which task holds the task group. The host may start inside a request (mounted in another app,
   it starts on first use), and a task group must be left by the task that entered it, so the
   session manager runs in a task of its own, with no caller's keys in its context.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from starlette.types import Receive, Scope, Send

from hosting.core import IsolationKeys, ServiceUnavailableError, get_current_isolation_keys
from hosting.core.channels import isolation_scope
from mcp import types
from mcp.server import ServerRequestContext
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError

from ._errors import jsonrpc_error_response

CALLER_SCOPE_KEY = "hosting.mcp.caller"
"""Where the endpoint leaves the caller's `IsolationKeys` in each request's ASGI scope."""


def caller_keys(ctx: ServerRequestContext[Any, Any]) -> IsolationKeys:
    """The isolation keys of the caller whose HTTP request carried this message."""
    scope = getattr(ctx.request, "scope", None)
    keys = scope.get(CALLER_SCOPE_KEY) if isinstance(scope, dict) else None
    if not isinstance(keys, IsolationKeys):
        # Never fall back to the ambient context: it may be anybody's.
        raise MCPError(types.INTERNAL_ERROR, "The caller of this request is unknown.")
    return keys


def _as_sdk_user(keys: IsolationKeys) -> AuthenticatedUser:
    # The SDK compares (client_id, issuer, subject) to the session's owner; the chat key is part of
    # the identity, so a chat's session is not usable from another chat of the same user either.
    token = AccessToken(token="", client_id=keys.user, scopes=[], subject=keys.chat)
    return AuthenticatedUser(token)


class SessionService:
    """Runs a session manager from the host's start-up to its shutdown; it is the MCP path's ASGI app.

    Args:
        make_manager: builds a fresh session manager (one can run only once) at each start.
    """

    def __init__(self, make_manager: Callable[[], StreamableHTTPSessionManager]) -> None:
        self._make_manager = make_manager
        self._manager: StreamableHTTPSessionManager | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def start(self) -> None:
        """Start the session manager in its own task; return once it accepts requests."""
        manager = self._make_manager()
        ready = asyncio.Event()
        self._stop = asyncio.Event()
        task = asyncio.create_task(self._hold(manager, ready, self._stop), name="hosting-mcp-sessions")
        waiting = asyncio.create_task(ready.wait())
        await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if task.done():
            task.result()  # raises what stopped it
            raise RuntimeError("the MCP session manager stopped during start-up")
        self._task = task
        self._manager = manager

    async def stop(self) -> None:
        """Close every session (their handlers are cancelled) and stop the session manager."""
        self._manager = None
        task, self._task = self._task, None
        if task is not None:
            self._stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @staticmethod
    async def _hold(manager: StreamableHTTPSessionManager, ready: asyncio.Event, stop: asyncio.Event) -> None:
        with isolation_scope(None):
            async with manager.run():
                ready.set()
                await stop.wait()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI app of the MCP path: the caller's keys into the scope, then the SDK."""
        manager = self._manager
        if manager is None:
            refusal = ServiceUnavailableError("The MCP endpoint is not running.")
            await jsonrpc_error_response(refusal)(scope, receive, send)
            return
        keys = get_current_isolation_keys() or IsolationKeys()
        scope = {**scope, CALLER_SCOPE_KEY: keys, "user": _as_sdk_user(keys)}
        await manager.handle_request(scope, receive, send)
