"""Limits on what one request may ask, and the middleware that enforces the body limits.

Every limit is configurable on the `Host` (``Host(..., limits=Limits(...))``). The
body limits are enforced for every channel here, before any route runs: the body
is read once, bounded in size and in time, then replayed to the app. The other
limits (items, text, nesting, metadata) are checked by channels while parsing,
and the per-user run limit by the run engine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._error_response import ErrorRenderer, neutral_renderer, relative_path
from ._exceptions import LimitExceededError, RequestError

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
"""The methods whose requests have their bodies read (and bounded) before any route runs."""


@dataclass(frozen=True, slots=True)
class Limits:
    """What one request may ask.

    Attributes:
        max_body_bytes: request bodies above this are refused with 413.
        body_timeout: seconds a client may take to send its whole body (slow bodies get 408).
        max_input_items: items in one request's input.
        max_text_chars: characters in one text part (or one string input).
        max_json_depth: nesting depth of a JSON body.
        max_metadata_keys / max_metadata_key_chars / max_metadata_value_chars: the ``metadata`` map.
        max_concurrent_runs_per_user: runs one user may have going at once (429 beyond).
        retry_after_seconds: the ``Retry-After`` sent with a 429.
    """

    max_body_bytes: int = 8 * 1024 * 1024
    body_timeout: float = 30.0
    max_input_items: int = 1_000
    max_text_chars: int = 1_000_000
    max_json_depth: int = 64
    max_metadata_keys: int = 16
    max_metadata_key_chars: int = 64
    max_metadata_value_chars: int = 512
    max_concurrent_runs_per_user: int = 256
    retry_after_seconds: int = 1


class BodyLimitMiddleware:
    """Reads request bodies up front, refusing ones too large (413) or too slow (408).

    The time limit costs a request two dictionary operations, not a timer: the tasks reading
    a body are kept with their deadlines, and one sweep per event loop cancels those past
    theirs. A sweep runs only while some of its loop's tasks are reading, every quarter of the
    limit (at most a second), so a slow body is refused between one and 1.25 times the limit
    after it began.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: Limits | None = None,
        render_error: Callable[[str], ErrorRenderer] | None = None,
    ) -> None:
        self.app = app
        self.limits = limits = limits or Limits()
        self.render_error = render_error or neutral_renderer
        self._reading: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        # One sweep per event loop with bodies being read (a host may serve on several at once).
        self._sweeps: dict[asyncio.AbstractEventLoop, asyncio.TimerHandle] = {}
        self._sweep_every = min(1.0, limits.body_timeout / 4)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - ASGI servers always call apps in a task
            raise RuntimeError("BodyLimitMiddleware must run in a task")
        loop = task.get_loop()
        # The monotonic clock, not `loop.time()`: a loop may keep time its own way (uvloop does).
        self._reading[task] = time.monotonic() + self.limits.body_timeout
        if loop not in self._sweeps:
            for other in list(self._sweeps):  # a copy: other loops' threads change it
                if other.is_closed():
                    self._sweeps.pop(other, None)  # a loop that closed before its sweep ran
            self._sweeps[loop] = loop.call_later(self._sweep_every, self._sweep_expired, loop)
        refusal: RequestError | None = None
        try:
            body = await self._read(scope, receive)
        except asyncio.CancelledError:
            if task not in self._expired:
                raise
            task.uncancel()
            refusal = RequestError(
                "The request body was not received in time.", status_code=408, code="request_timeout"
            )
        except RequestError as error:
            refusal = error
        finally:
            del self._reading[task]
            self._expired.discard(task)
        if refusal is not None:
            await self.refuse(refusal, scope, receive, send)
        elif body is not None:  # None: the client went away while sending it
            # The whole body, read already, replayed to the app by the `receive` it is given.
            await self.app(scope, BodyReplay(body, receive), send)

    async def refuse(self, error: RequestError, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a refused body in its channel's error shape, and close the connection."""
        response = self.render_error(relative_path(scope))(error)
        response.headers["connection"] = "close"
        await response(scope, receive, send)

    def _sweep_expired(self, loop: asyncio.AbstractEventLoop) -> None:
        now = time.monotonic()
        reading = False
        for task, deadline in list(self._reading.items()):  # a copy: other loops' threads add to it
            if task.get_loop() is not loop:
                continue  # another loop's sweep sees to it
            reading = True
            if deadline <= now and task not in self._expired:
                self._expired.add(task)
                task.cancel()
        if reading:
            self._sweeps[loop] = loop.call_later(self._sweep_every, self._sweep_expired, loop)
        else:
            self._sweeps.pop(loop, None)

    async def _read(self, scope: Scope, receive: Receive) -> bytes | None:
        limit = self.limits.max_body_bytes
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    raise RequestError("Content-Length is not a number.", code="invalid_request") from None
                if declared > limit:
                    raise _too_large(limit)
                break
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body: bytes = message.get("body", b"")
        if len(body) > limit:
            raise _too_large(limit)
        if not message.get("more_body", False):
            return body  # the usual case: the whole body in one message
        chunks = [body]
        size = len(body)
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


async def request_body(request: Request) -> bytes:
    """The whole body of `request`.

    Behind a `Host` (or a `BodyLimitMiddleware`) the body was read and bounded before the
    route ran, and the route's `receive` replays it: the body is taken from there as it is.
    A layer on the way that hands on another body does so with another `receive`, which is
    then read as `Request.body` reads it, as is any request elsewhere.
    """
    receive = request.receive
    if type(receive) is BodyReplay:
        return receive.body
    return await request.body()


class BodyReplay:
    """A `receive` that gives the whole `body`, read already, in one message, then defers to `receive`.

    It is the `receive` that carries the body: nothing is left in the scope, which would tie
    the scope to this object (and through `receive` to the server's request) in a cycle only
    the garbage collector could break, once per request.
    """

    __slots__ = ("body", "receive", "replayed")

    def __init__(self, body: bytes, receive: Receive) -> None:
        self.body = body
        self.receive = receive
        self.replayed = False

    async def __call__(self) -> Message:
        if not self.replayed:
            self.replayed = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        return await self.receive()


def _too_large(limit: int) -> LimitExceededError:
    return LimitExceededError(
        f"The request body is larger than the limit of {limit} bytes.",
        status_code=413,
        code="request_too_large",
    )
