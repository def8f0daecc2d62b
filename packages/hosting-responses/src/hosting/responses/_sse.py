"""A small Server-Sent Events response for the hot path, written against ASGI directly.

Why not sse-starlette: per event it costs about three times what this does (it
wraps each event in an object, re-encodes it, and runs every send through a task
group); the figures are in ``docs/channels/responses.md``. What the channel needs
is narrow:

- Chunks come from the source in the request's own task, straight to ``send``,
  as Starlette's `StreamingResponse` does: no queue and no task switch per event.
  The source may put several events in one chunk (the channel batches what a
  fast agent has already produced), so a burst costs one write.
- While the source is silent for `keepalive_interval` seconds, an SSE comment
  (``: keep-alive``) goes out from a timer task. It must be a comment: the openai
  SDK rejects an ``event: ping`` without data, and any event with a top-level
  ``error`` key.
- A client that goes away (``http.disconnect``) stops the stream at once: the
  watcher cancels the streaming task, which closes the source (so the run's
  follower is closed and the engine applies its disconnect policy). uvicorn drops
  writes to a closed connection silently, so the receive channel is what tells.
- The stream ends with ``data: [DONE]``, as OpenAI's does.
- `stop` ends it early, from outside (the host is stopping, and the run it follows
  goes on in another process): the body is closed without ``[DONE]``, as a cut
  connection would be, so the client resumes where it was, elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, cast

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

logger = logging.getLogger("hosting.responses")

KEEPALIVE = b": keep-alive\n\n"
DONE = b"data: [DONE]\n\n"

_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class EventStreamResponse(Response):
    """Streams the byte chunks of `source` as ``text/event-stream``, then ``data: [DONE]``.

    Args:
        source: yields encoded SSE events (one or several per chunk); it is closed when the
            client disconnects.
        keepalive_interval: seconds of silence before a keep-alive comment (None: never).
        headers: extra response headers.
    """

    def __init__(
        self,
        source: AsyncIterator[bytes],
        *,
        keepalive_interval: float | None = 15.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        # Starlette's `Response.__init__` renders a body up front; a stream has none.
        self.status_code = 200
        self.background = None
        self.source = source
        self.keepalive_interval = keepalive_interval
        self.raw_headers = _HEADERS + [
            (name.lower().encode(), value.encode()) for name, value in (headers or {}).items()
        ]
        self.disconnected = False
        self.stopped = False
        self._task: asyncio.Task[Any] | None = None
        self._streaming = False
        self._last_write = 0.0
        self._lock = asyncio.Lock()

    async def _write(self, send: Send, body: bytes, *, more: bool = True) -> None:
        # The keep-alive task writes too: one frame at a time, never interleaved.
        async with self._lock:
            await send({"type": "http.response.body", "body": body, "more_body": more})
            self._last_write = asyncio.get_running_loop().time()

    async def _keep_alive(self, send: Send, interval: float) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(max(0.0, self._last_write + interval - loop.time()))
            if loop.time() - self._last_write >= interval:
                await self._write(send, KEEPALIVE)

    def stop(self) -> None:
        """End the stream now, without ``[DONE]`` (the client may resume it elsewhere)."""
        self.stopped = True
        if self._streaming and self._task is not None:
            self._task.cancel()

    async def _watch(self, receive: Receive, streaming: asyncio.Task[Any]) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True
                if self._streaming:
                    streaming.cancel()
                return

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        self._last_write = asyncio.get_running_loop().time()
        streaming = self._task = cast(asyncio.Task[Any], asyncio.current_task())
        helpers = [asyncio.create_task(self._watch(receive, streaming))]
        if self.keepalive_interval is not None:
            helpers.append(asyncio.create_task(self._keep_alive(send, self.keepalive_interval)))
        self._streaming = not self.stopped
        try:
            if self.stopped:  # stopped before it began
                raise asyncio.CancelledError
            async for chunk in self.source:
                await self._write(send, chunk)
            await self._write(send, DONE, more=False)
        except asyncio.CancelledError:
            if not (self.disconnected or self.stopped):
                raise
            # Our own watcher (the client is gone) or `stop` cancelled us: not an error.
            if streaming.cancelling():
                streaming.uncancel()
            if self.stopped and not self.disconnected:
                await self._write(send, b"", more=False)
        finally:
            self._streaming = False
            for helper in helpers:
                helper.cancel()
            for helper in helpers:
                with contextlib.suppress(BaseException):
                    await helper
            aclose = getattr(self.source, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
            if (self.disconnected or self.stopped) and streaming.cancelling():
                streaming.uncancel()  # a cancel our watcher (or `stop`) sent just as the stream ended
