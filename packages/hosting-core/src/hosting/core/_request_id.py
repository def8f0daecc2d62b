"""Request ids: one per request, in a response header and on every log record.

An incoming ``x-request-id`` is kept when it is short and plain (a gateway's id),
otherwise a new one is made. Log records get a ``request_id`` attribute through
`RequestIdLogFilter`, so a log format can show it with ``%(request_id)s``.
"""

from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Awaitable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._ids import random_hex

REQUEST_ID_HEADER = "x-request-id"
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

_current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "hosting.core.request_id", default=None
)


def get_current_request_id() -> str | None:
    """The id of the request being served, or None outside of one."""
    return _current_request_id.get()


class RequestIdLogFilter(logging.Filter):
    """Adds ``record.request_id`` (``-`` outside a request) to every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current_request_id.get() or "-"
        return True


class RequestIdMiddleware:
    """Pure ASGI: sets the request id for the request and returns it in ``x-request-id``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(scope)
        token = _current_request_id.set(request_id)
        try:
            await self.app(scope, receive, sending_request_id(send, request_id))
        finally:
            _current_request_id.reset(token)


def request_id_for(scope: Scope) -> str:
    """The request's own ``x-request-id`` when it is short and plain (a gateway's), else a new one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _ACCEPTABLE.fullmatch(candidate):  # match() would let a trailing newline into log lines
                return candidate
            break
    return f"req_{random_hex(12)}"


def sending_request_id(send: Send, request_id: str) -> Send:
    """`send`, adding the ``x-request-id`` header to the response's start."""
    header = (b"x-request-id", request_id.encode())

    def send_with_id(message: Message) -> Awaitable[None]:
        # A plain function returning `send`'s awaitable: no coroutine of its own per message.
        if message["type"] == "http.response.start":
            # The headers list is copied, not extended: it may be a response's own, sent again.
            message["headers"] = [*message.get("headers", ()), header]
        return send(message)

    return send_with_id
