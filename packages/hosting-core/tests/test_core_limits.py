"""Request limits, request ids and per-user run limits."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from hosting.core import (
    Host,
    LimitExceededError,
    Limits,
    MemoryStore,
    RunContext,
    agent,
    get_current_request_id,
    user_message,
)
from hosting.core.channels import ChannelRequest, error_response
from hosting.core.middleware import BodyLimitMiddleware, RequestIdLogFilter
from hosting.testing import serve

from .conftest import InvokeChannel, echo_history


def client_for(host: Host) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=host), base_url="http://t")


async def test_oversized_bodies_get_413_in_the_envelope_and_small_ones_pass() -> None:
    host = Host(
        echo_history, channels=[InvokeChannel()], store=MemoryStore(), limits=Limits(max_body_bytes=200)
    )
    async with client_for(host) as client:
        ok = await client.post("/invoke", json={"text": "small"})
        assert ok.json()["text"] == "small"
        refused = await client.post("/invoke", json={"text": "x" * 500})
        assert refused.status_code == 413
        assert refused.json()["error"]["code"] == "request_too_large"

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
            for _ in range(10):
                yield b"x" * 50

        streamed = await client.post("/invoke", content=chunks())
        assert streamed.status_code == 413
    await host.shutdown()


def test_a_slow_body_times_out_with_408() -> None:
    host = Host(
        echo_history, channels=[InvokeChannel()], store=MemoryStore(), limits=Limits(body_timeout=0.3)
    )
    with serve(host) as base_url:
        port = int(base_url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b'POST /invoke HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{"te')
            started = time.monotonic()
            answer = b""
            while b"\r\n\r\n" not in answer and time.monotonic() - started < 10:
                data = sock.recv(4096)
                if not data:
                    break
                answer += data
        assert answer.startswith(b"HTTP/1.1 408")


async def test_every_response_carries_a_request_id_and_logs_can_show_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[str | None] = []

    @agent
    async def logs(context: RunContext) -> AsyncIterator[str]:
        seen.append(get_current_request_id())
        logging.getLogger("hosting.core").warning("inside the run")
        yield "ok"

    host = Host(logs, channels=[InvokeChannel()], store=MemoryStore())
    caplog.set_level(logging.WARNING, logger="hosting.core")
    async with client_for(host) as client:
        generated = await client.post("/invoke", json={"text": "x"})
        assert generated.headers["x-request-id"].startswith("req_")
        kept = await client.post("/invoke", json={"text": "x"}, headers={"x-request-id": "gateway-123"})
        assert kept.headers["x-request-id"] == "gateway-123"
        replaced = await client.post("/invoke", json={"text": "x"}, headers={"x-request-id": "bad id <>"})
        assert replaced.headers["x-request-id"].startswith("req_")
    assert seen[1] == "gateway-123"
    records = [record for record in caplog.records if record.getMessage() == "inside the run"]
    assert [getattr(record, "request_id", None) for record in records][1] == "gateway-123"
    assert isinstance(logging.getLogger("hosting.core").filters[0], RequestIdLogFilter)
    await host.shutdown()


async def test_concurrent_runs_per_user_are_limited_with_429_and_retry_after() -> None:
    release = asyncio.Event()

    @agent
    async def waits(context: RunContext) -> AsyncIterator[str]:
        await release.wait()
        yield "done"

    host = Host(
        waits,
        channels=[InvokeChannel()],
        store=MemoryStore(),
        limits=Limits(max_concurrent_runs_per_user=2, retry_after_seconds=3),
    )
    request = ChannelRequest(channel="invoke", input=(user_message("x"),))
    first = await host.engine.start(request)
    second = await host.engine.start(request)
    with pytest.raises(LimitExceededError) as refused:
        await host.engine.start(request)
    assert (refused.value.status_code, refused.value.headers["Retry-After"]) == (429, "3")
    release.set()
    await first.wait()
    await second.wait()
    third = await host.engine.start(request)  # capacity is given back when runs end
    assert (await third.wait()).text == "done"
    await host.shutdown()


async def test_one_sweep_times_out_slow_bodies_and_spares_quick_ones() -> None:
    answered: list[bytes] = []
    scope: Scope

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": message["body"]})

    middleware = BodyLimitMiddleware(
        app, limits=Limits(body_timeout=0.2), render_error=lambda path: error_response
    )
    scope = {"type": "http", "method": "POST", "path": "/x", "root_path": "", "headers": []}

    async def call(body: bytes | None) -> tuple[int, bytes]:
        statuses: list[int] = []
        chunks: list[bytes] = []

        async def receive() -> Message:
            if body is None:
                await asyncio.sleep(30)  # a client that never finishes its body
            return {"type": "http.request", "body": body or b"", "more_body": False}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
            else:
                chunks.append(message.get("body", b""))

        await middleware(dict(scope), receive, send)
        return statuses[0], b"".join(chunks)

    async with asyncio.timeout(10):
        slow = [asyncio.create_task(call(None)) for _ in range(3)]
        for index in range(20):  # quick requests while the slow ones wait, none of them touched
            status, body = await call(b"quick %d" % index)
            assert (status, body) == (200, b"quick %d" % index)
            answered.append(body)
            await asyncio.sleep(0.01)
        results = await asyncio.gather(*slow)
    assert [status for status, _ in results] == [408, 408, 408]
    assert all(b"request_timeout" in body for _, body in results)
    assert len(answered) == 20
    assert not middleware._reading  # nothing left behind, so the sweep stopped
    await asyncio.sleep(0.3)
    assert not middleware._sweeps
