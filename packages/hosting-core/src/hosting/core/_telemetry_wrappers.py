"""Wrappers that measure, used by `Instruments` when telemetry is on: the store and event streams."""

from __future__ import annotations

import inspect
import time
from typing import Any, Protocol

from opentelemetry import metrics
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class OpenStreams(Protocol):
    """What counts open streams (`Instruments`)."""

    open_streams: int


class TimedStore:
    """A store whose coroutine methods record their duration, by operation name."""

    def __init__(self, store: Any, histogram: metrics.Histogram) -> None:
        self.wrapped = store
        self._histogram = histogram

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.wrapped, name)
        if name.startswith("_") or not callable(value) or not inspect.iscoroutinefunction(value):
            return value
        histogram = self._histogram

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            attributes: dict[str, str] = {"hosting.store.operation": name}
            try:
                return await value(*args, **kwargs)
            except BaseException as error:
                attributes["error.type"] = type(error).__qualname__
                raise
            finally:
                histogram.record(time.perf_counter() - started, attributes)

        setattr(self, name, timed)  # made once per operation
        return timed


class StreamCounter:
    """Counts responses sent as ``text/event-stream`` while they are open."""

    def __init__(self, app: ASGIApp, instruments: OpenStreams) -> None:
        self.app = app
        self.instruments = instruments

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        streaming = False
        instruments = self.instruments

        async def counting_send(message: Message) -> None:
            nonlocal streaming
            if message["type"] == "http.response.start":
                for name, value in message.get("headers", ()):
                    if name.lower() == b"content-type" and value.startswith(b"text/event-stream"):
                        streaming = True
                        instruments.open_streams += 1
                        break
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            if streaming:
                instruments.open_streams -= 1
