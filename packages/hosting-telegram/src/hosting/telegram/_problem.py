"""The channel's error body for its HTTP routes (link codes, the webhook).

``{"error": {"code", "message", "param"}}``: the host's neutral shape, with the
parameter at fault when there is one. The host renders its own refusals on the
channel's paths (a missing API key) in it too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hosting.core import RequestError

EVERY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


def problem(error: RequestError) -> Response:
    """`error` as this channel's JSON body, with its status and headers."""
    body = {"error": {"code": error.code, "message": error.message, "param": error.param}}
    return JSONResponse(body, status_code=error.status_code, headers=error.headers or None)


def post_route(path: str, endpoint: Callable[[Request], Awaitable[Response]]) -> Route:
    """A route that answers POST; any other method is a 405 in this channel's shape."""

    async def only_post(request: Request) -> Response:
        if request.method != "POST":
            refused = RequestError(
                f"Method {request.method} is not allowed here; use POST.",
                status_code=405,
                code="method_not_allowed",
                headers={"allow": "POST"},
            )
            return problem(refused)
        return await endpoint(request)

    return Route(path, only_post, methods=EVERY_METHOD)
