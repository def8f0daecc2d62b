"""Pure-ASGI middleware that authenticates a request and sets its isolation keys.

Written against ASGI directly (not `BaseHTTPMiddleware`) so the ContextVar it
sets is the one the route sees, and is reset when the request ends, also when
the agent raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from ._auth import Authenticator
from ._error_response import ErrorRenderer, neutral_renderer, relative_path
from ._exceptions import RequestError, ServerError
from ._isolation import IsolationKeys, _current_isolation_keys

USER_HEADER = "x-agent-user-isolation-key"
CHAT_HEADER = "x-agent-chat-isolation-key"
ANONYMOUS = IsolationKeys()
"""The keys of the single anonymous user a host without authentication serves."""

logger = logging.getLogger("hosting.core")


class IsolationMiddleware:
    """Sets `IsolationKeys` for every HTTP request.

    Args:
        app: the wrapped app.
        authenticator: resolves the user; None serves a single anonymous user.
        trust_isolation_headers: take the keys from the ``x-agent-*-isolation-key`` headers
            (only behind a gateway that sets them and strips them from outside requests).
        public_paths: paths served without authentication (health checks).
        render_error: renders an authentication failure for a path (each channel's own shape);
            by default the neutral `error_response`.

    It runs before the body is read: a request it refuses is answered at once, its body
    never buffered, and the connection closed (the unread body is not worth reading).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticator: Authenticator | None = None,
        trust_isolation_headers: bool = False,
        public_paths: frozenset[str] = frozenset(),
        render_error: Callable[[str], ErrorRenderer] | None = None,
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.trust_isolation_headers = trust_isolation_headers
        self.public_paths = public_paths
        self.render_error = render_error or neutral_renderer
        #: Every request is the single anonymous user's: nothing to resolve.
        self.anonymous = authenticator is None and not trust_isolation_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        # A single anonymous user has nothing to resolve, on any path.
        keys = ANONYMOUS if self.anonymous else await self.admit(scope, receive, send)
        if keys is None:
            return
        token = _current_isolation_keys.set(keys)
        try:
            await self.app(scope, receive, send)
        finally:
            _current_isolation_keys.reset(token)

    async def admit(self, scope: Scope, receive: Receive, send: Send) -> IsolationKeys | None:
        """The caller's keys; None when they cannot be resolved (the refusal is answered already)."""
        try:
            return await self.keys_for(scope)
        except RequestError as error:
            await self.refuse(error, scope, receive, send)
            return None

    async def keys_for(self, scope: Scope) -> IsolationKeys:
        """The caller's keys (anonymous on public paths); a `RequestError` when it cannot be resolved."""
        if self.anonymous or relative_path(scope) in self.public_paths:
            return ANONYMOUS
        try:
            return await self._resolve(scope)
        except RequestError:
            raise
        except Exception:
            # A broken authenticator (its key server is down, say) fails the request, in the
            # channel's error shape; its traceback goes to the log, never to the client.
            logger.exception("the authenticator failed")
            raise ServerError("The server could not check the credentials of this request.") from None

    async def refuse(self, error: RequestError, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a request whose caller could not be resolved, in its channel's error shape."""
        response = self.render_error(relative_path(scope))(error)
        if scope["type"] == "http":
            response.headers["connection"] = "close"
        await response(scope, receive, send)

    async def _resolve(self, scope: Scope) -> IsolationKeys:
        connection = HTTPConnection(scope)
        keys = IsolationKeys()
        if self.authenticator is not None:
            keys = await self.authenticator.authenticate(connection)
        if self.trust_isolation_headers:
            user = connection.headers.get(USER_HEADER)
            chat = connection.headers.get(CHAT_HEADER)
            if user or chat:
                keys = IsolationKeys(user=user or keys.user, chat=chat or keys.chat)
        return keys
