"""Body limits: a slow body times out on its own loop while another loop reads bodies too."""

from __future__ import annotations

import asyncio
import threading
import time

from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Message as ASGIMessage
from starlette.types import Receive, Scope, Send

from hosting.core import (
    Limits,
    RequestError,
)
from hosting.core.middleware import BodyLimitMiddleware


def _refusal_renderer(path: str) -> object:
    def render(error: RequestError) -> Response:
        return JSONResponse({"code": error.code}, status_code=error.status_code)

    return render


async def _accept(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await PlainTextResponse("read")(scope, receive, send)


def _post() -> Scope:
    return {"type": "http", "method": "POST", "path": "/x", "root_path": "", "headers": []}


def test_a_slow_body_times_out_on_a_loop_while_another_loop_reads_bodies_too() -> None:
    limits = Limits(body_timeout=1.0)
    middleware = BodyLimitMiddleware(_accept, limits=limits, render_error=_refusal_renderer)  # type: ignore[arg-type]
    reading = threading.Event()
    sent: list[ASGIMessage] = []
    slow: dict[str, object] = {}

    async def slow_request() -> None:
        slow["loop"], slow["task"] = asyncio.get_running_loop(), asyncio.current_task()
        never = asyncio.Event()

        async def receive() -> ASGIMessage:
            reading.set()
            await never.wait()  # the client never sends its body
            return {"type": "http.disconnect"}

        async def send(message: ASGIMessage) -> None:
            sent.append(message)

        await middleware(_post(), receive, send)

    def serve_slow() -> None:
        try:
            asyncio.run(slow_request())
        except asyncio.CancelledError:
            pass  # stopped by the test after its deadline (the failure it reports)

    thread = threading.Thread(target=serve_slow, daemon=True)
    thread.start()
    assert reading.wait(10)

    async def quick_request() -> list[ASGIMessage]:  # a body that arrives at once, on this thread's loop
        answer: list[ASGIMessage] = []

        async def receive() -> ASGIMessage:
            return {"type": "http.request", "body": b"{}", "more_body": False}

        async def send(message: ASGIMessage) -> None:
            answer.append(message)

        await middleware(_post(), receive, send)
        return answer

    assert asyncio.run(quick_request())[0]["status"] == 200
    deadline = time.monotonic() + 6
    while not sent and time.monotonic() < deadline:
        time.sleep(0.02)
    if not sent:  # stop the stuck request before failing
        loop, task = slow["loop"], slow["task"]
        assert isinstance(loop, asyncio.AbstractEventLoop) and isinstance(task, asyncio.Task)
        loop.call_soon_threadsafe(task.cancel)
    thread.join(10)
    assert sent and sent[0]["status"] == 408
