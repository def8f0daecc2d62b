"""The channel's error body for its HTTP routes (link codes, the webhook).

``{"error": {"code", "message", "param"}}``: the host's neutral shape, with the
parameter at fault when there is one. The host renders its own refusals on the
channel's paths (a missing API key) in it too.
"""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from hosting.core import RequestError


def problem(error: RequestError) -> Response:
    """`error` as this channel's JSON body, with its status and headers."""
    body = {"error": {"code": error.code, "message": error.message, "param": error.param}}
    return JSONResponse(body, status_code=error.status_code, headers=error.headers or None)
