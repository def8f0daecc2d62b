"""A small Server-Sent Events response for the hot path, written against ASGI directly.

Why not sse-starlette: its per-event cost (a task group, a ping task, an
`ServerSentEvent` object and a `send` per event) is several times ours; the
figures are in ``docs/channels/responses.md``. What this needs is narrow:

- Events arrive from a producer task (the run's renderer); whatever has piled up
  while the previous chunk was being sent goes out in one ``send``, so a fast
  agent costs one write per batch, not one per token.
- While the producer is silent for `keepalive_interval` seconds, an SSE comment
  (``: keep-alive``) goes out. It must be a comment: the openai SDK rejects an
  ``event: ping`` without data, and any event with a top-level ``error`` key.
- A client that goes away (``http.disconnect``) stops the producer at once, which
  closes the run's follower (the engine then applies its disconnect policy). uvicorn
  drops writes to a closed connection silently, so the receive channel is watched.
- The stream ends with ``data: [DONE]``, as OpenAI's does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

logger = logging.getLogger("hosting.responses")

KEEPALIVE = b": keep-alive\n\n"
DONE = b"data: [DONE]\n\n"

_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class EventStreamResponse(Response):
    """Streams the byte chunks of `source` as ``text/event-stream``.

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
        self._buffer: list[bytes] = []
        self._wake = asyncio.Event()
        self._finished = False
        self._disconnected = False

    async def _produce(self) -> None:
        try:
            async for chunk in self.source:
                self._buffer.append(chunk)
                self._wake.set()
        except Exception:
            logger.exception("the event stream's source failed")
            raise
        finally:
            self._finished = True
            self._wake.set()

    async def _watch(self, receive: Receive) -> None:
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                self._disconnected = True
                self._wake.set()
                return

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        producer = asyncio.create_task(self._produce())
        watcher = asyncio.create_task(self._watch(receive))
        try:
            await self._pump(send, producer)
        finally:
            for task in (producer, watcher):
                if not task.done():
                    task.cancel()
            for task in (producer, watcher):
                with contextlib.suppress(BaseException):
                    await task

    async def _pump(self, send: Send, producer: asyncio.Task[None]) -> None:
        buffer = self._buffer
        while True:
            if not buffer and not self._finished and not self._disconnected:
                try:
                    async with asyncio.timeout(self.keepalive_interval):
                        await self._wake.wait()
                except TimeoutError:
                    await send({"type": "http.response.body", "body": KEEPALIVE, "more_body": True})
                    continue
                self._wake.clear()
            if self._disconnected:
                return
            if buffer:
                chunk = b"".join(buffer) if len(buffer) > 1 else buffer[0]
                buffer.clear()
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                continue
            if self._finished:
                failed = producer.done() and not producer.cancelled() and producer.exception() is not None
                # A source that broke must not look like a finished stream: no [DONE] then.
                await send(
                    {"type": "http.response.body", "body": b"" if failed else DONE, "more_body": False}
                )
                return
