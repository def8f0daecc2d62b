"""The host's own error body, for paths no channel claims.

Each channel renders errors in its protocol's shape (`ChannelContribution.render_error`);
what falls outside every channel (an unknown path, a health check's wrong method)
gets this neutral body: ``{"error": {"code": ..., "message": ...}}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketClose

from ._exceptions import NotFoundError, RequestError

ErrorRenderer: TypeAlias = Callable[[RequestError], Response]
"""Renders a `RequestError` as an HTTP response, in one protocol's error shape."""


def error_response(error: RequestError) -> Response:
    """`error` as the neutral JSON body, with its status and headers."""
    body = {"error": {"code": error.code, "message": error.message}}
    return JSONResponse(body, status_code=error.status_code, headers=error.headers or None)


def neutral_renderer(path: str) -> ErrorRenderer:
    """The renderer for any path when no channel renders its own: `error_response`."""
    return error_response


def relative_path(scope: Scope) -> str:
    """The request's path below the app's mount point (``root_path``)."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class UnknownPath:
    """The app for a path no route matched: a 404 in the error shape of the channel the path
    falls under (Starlette's own is plain text, which no client of a protocol expects)."""

    def __init__(self, renderer_for: Callable[[str], ErrorRenderer]) -> None:
        self.renderer_for = renderer_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await WebSocketClose()(scope, receive, send)
            return
        relative = relative_path(scope)
        error = NotFoundError(f"Unknown path '{relative[:128]}'.", code="unknown_path")
        await self.renderer_for(relative)(error)(scope, receive, send)
