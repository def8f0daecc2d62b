"""The host's own error body, for paths no channel claims.

Each channel renders errors in its protocol's shape (`ChannelContribution.render_error`);
what falls outside every channel (an unknown path, a health check's wrong method)
gets this neutral body: ``{"error": {"code": ..., "message": ...}}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from starlette.responses import JSONResponse, Response

from ._exceptions import RequestError

ErrorRenderer: TypeAlias = Callable[[RequestError], Response]
"""Renders a `RequestError` as an HTTP response, in one protocol's error shape."""


def error_response(error: RequestError) -> Response:
    """`error` as the neutral JSON body, with its status and headers."""
    body = {"error": {"code": error.code, "message": error.message}}
    return JSONResponse(body, status_code=error.status_code, headers=error.headers or None)
