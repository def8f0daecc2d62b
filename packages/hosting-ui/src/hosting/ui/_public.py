"""The page's own files served without an API key, and nothing else.

A browser opening the page sends no ``Authorization`` header, so on a host with an
authenticator the host refuses it before any route runs. The page holds no data (it is
the same HTML and scripts for everyone, and asks for the key itself), so those few
paths are answered anyway: the channel's error renderer is asked to render the
refusal, and the response it returns looks at the request once more and serves the
page's file instead when the request is a GET of one. Every other refusal (a data
route, any path under the page's prefix that is not one of its files, a refusal other
than 401/403) is the host's neutral error, unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from hosting.core import RequestError
from hosting.core.channels import error_response

PublicFile = Callable[[Request], Response | None]
"""The page's file for a request (None: the request is not for one)."""

_REFUSALS_SERVED = frozenset({401, 403})


class RefusalUnlessPublic(Response):
    """The neutral error for `error`, unless the refused request was for one of the page's files."""

    def __init__(self, error: RequestError, public_file: PublicFile) -> None:
        refusal = error_response(error)
        self.status_code = refusal.status_code
        self.body = refusal.body
        self.background = None
        self.raw_headers = list(refusal.raw_headers)
        self._error = error
        self._public_file = public_file

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and self._error.status_code in _REFUSALS_SERVED
            and scope["method"] in ("GET", "HEAD")
        ):
            served = self._public_file(Request(scope, receive))
            if served is not None:
                await served(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
