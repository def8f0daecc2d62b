"""Requests leave no reference cycles: what a request made is freed when it ends, not by the collector.

A cycle through a request's objects makes the garbage collector run every few requests and
walk them all; under load that cost a tenth of the host's throughput once (the scope held an
object that held the server's `receive`, whose request holds the scope). The server here is
modelled on uvicorn's: its request object holds the scope, and `receive` and `send` are its
methods, so any such cycle closes as it would in production.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from starlette.types import Message

from hosting.core import Host, MemoryStore, RunContext, agent
from hosting.responses import ResponsesChannel


@agent
async def echo(context: RunContext) -> AsyncIterator[str]:
    yield "hello "
    yield context.input_text


class ServerRequest:
    """One request as a server keeps it: the scope, and `receive` and `send` bound to it."""

    def __init__(self, method: str, path: str, body: bytes) -> None:
        self.scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 2),
        }
        self.body = body
        self.sent = False
        self.messages: list[Message] = []

    async def receive(self) -> Message:
        if not self.sent:
            self.sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        await asyncio.sleep(60)  # the client stays connected until the answer is complete
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def answer(self) -> bytes:
        return b"".join(message.get("body", b"") for message in self.messages if "body" in message)


@pytest.fixture
def no_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


async def test_requests_of_every_kind_leave_no_cycles_behind(no_collector: None) -> None:
    host = Host(echo, channels=[ResponsesChannel()], store=MemoryStore())
    await host.startup()

    async def call(method: str, path: str, body: object = None) -> bytes:
        request = ServerRequest(method, path, b"" if body is None else json.dumps(body).encode())
        await asyncio.wait_for(host(request.scope, request.receive, request.send), timeout=10)
        return request.answer

    async def every_kind() -> None:
        await call("POST", "/v1/responses", {"model": "echo", "input": "a", "store": False})
        stored = json.loads(await call("POST", "/v1/responses", {"model": "echo", "input": "b"}))
        assert stored["status"] == "completed"
        await call("GET", f"/v1/responses/{stored['id']}")
        streamed = await call("POST", "/v1/responses", {"model": "echo", "input": "c", "stream": True})
        assert b"response.completed" in streamed
        refused = json.loads(await call("POST", "/v1/responses", {"model": "echo", "input": 5}))
        assert refused["error"]["type"] == "invalid_request_error"
        await call("GET", "/v1/responses/resp_unknown")

    for _ in range(3):  # first uses fill caches and pools, which stay
        await every_kind()
    gc.collect()
    gc.garbage.clear()
    for _ in range(10):
        await every_kind()
    found = gc.collect()
    kinds = collections.Counter(type(thing).__name__ for thing in gc.garbage).most_common(8)
    assert found == 0, f"requests left {found} objects in cycles: {kinds}"
    await host.shutdown()
