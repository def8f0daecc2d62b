"""The host's front door: the three middlewares every request passes, in one call.

A request to the host gets a request id (`RequestIdMiddleware`), its body read and
bounded (`BodyLimitMiddleware`) and its isolation keys (`IsolationMiddleware`),
then goes to its route (`ExactDispatch`). As four nested ASGI apps that is four
coroutines per request, each with its frame, its ``try``/``finally`` and its
``await``. `FrontDoor` does the same steps with the same objects' own methods
(`request_id_for` and `sending_request_id`, then each middleware's `admit`) in one
coroutine: under `wrk` that is about 5% more requests a second (docs/benchmarks.md).
An HTTP request is the hot path; anything else (a websocket) goes through the
middlewares themselves, nested as before.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from ._auth import Authenticator
from ._isolation import reset_current_isolation_keys, set_current_isolation_keys
from ._limits import BODY_METHODS, BodyLimitMiddleware, Limits
from ._middleware import ANONYMOUS, ErrorRenderer, IsolationMiddleware
from ._request_id import (
    RequestIdMiddleware,
    request_id_for,
    reset_current_request_id,
    sending_request_id,
    set_current_request_id,
)


class FrontDoor:
    """Request id, body limits and isolation keys for each request, then `app` (the dispatch).

    Args:
        app: what a request goes to once it has all three.
        limits: the body limits (`BodyLimitMiddleware`).
        authenticator / trust_isolation_headers / public_paths: see `IsolationMiddleware`.
        render_error: renders a refusal for a path, in its channel's error shape.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: Limits,
        authenticator: Authenticator | None,
        trust_isolation_headers: bool,
        public_paths: frozenset[str],
        render_error: Callable[[str], ErrorRenderer],
    ) -> None:
        self.app = app
        self.isolation = IsolationMiddleware(
            app,
            authenticator=authenticator,
            trust_isolation_headers=trust_isolation_headers,
            public_paths=public_paths,
            render_error=render_error,
        )
        self.body = BodyLimitMiddleware(self.isolation, limits=limits, render_error=render_error)
        # The same steps as nested middlewares, for what is not an HTTP request.
        self.nested: ASGIApp = RequestIdMiddleware(self.body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.nested(scope, receive, send)
            return
        request_id = request_id_for(scope)
        send = sending_request_id(send, request_id)
        id_token = set_current_request_id(request_id)
        try:
            if scope["method"] in BODY_METHODS:
                replay = await self.body.admit(scope, receive, send)
                if replay is None:
                    return
                receive = replay
            isolation = self.isolation
            keys = ANONYMOUS if isolation.anonymous else await isolation.admit(scope, receive, send)
            if keys is None:
                return
            keys_token = set_current_isolation_keys(keys)
            try:
                await self.app(scope, receive, send)
            finally:
                reset_current_isolation_keys(keys_token)
        finally:
            reset_current_request_id(id_token)
