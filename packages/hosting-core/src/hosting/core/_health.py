"""``/healthz`` and ``/readyz``: liveness, and whether the host takes runs.

Both are public (no credentials) and answer GET and HEAD; any other method gets a 405 in the
host's neutral error shape, with ``Allow``, rather than Starlette's plain text.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._error_response import error_response
from ._exceptions import RequestError

PUBLIC_PATHS = frozenset({"/healthz", "/readyz"})
"""Paths served without credentials on every host."""

_EVERY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


def _wrong_method(request: Request) -> Response | None:
    if request.method in ("GET", "HEAD"):
        return None
    error = RequestError(
        f"Method {request.method} is not allowed here; use GET.", status_code=405, code="method_not_allowed"
    )
    response = error_response(error)
    response.headers["allow"] = "GET, HEAD"
    return response


def health_routes(ready: Callable[[], bool]) -> list[Route]:
    """The two routes; `ready` says whether the host has started and takes runs."""

    async def healthz(request: Request) -> Response:
        if (refused := _wrong_method(request)) is not None:
            return refused
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        if (refused := _wrong_method(request)) is not None:
            return refused
        is_ready = ready()
        return JSONResponse(
            {"status": "ready" if is_ready else "starting"}, status_code=200 if is_ready else 503
        )

    return [
        Route("/healthz", healthz, methods=_EVERY_METHOD),
        Route("/readyz", readyz, methods=_EVERY_METHOD),
    ]
