"""Regressions found reviewing the request-path speed-ups: each test failed before its fix."""

from __future__ import annotations

import asyncio
import threading
import time
import types
from collections.abc import AsyncIterator

import pytest
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import Message as ASGIMessage
from starlette.types import Receive, Scope, Send

from hosting.core import (
    FunctionCall,
    Host,
    IsolationKeys,
    Limits,
    MemoryStore,
    Message,
    NotFoundError,
    PartitionedIdFactory,
    RequestError,
    RunContext,
    TextPart,
    Update,
    _ids,
    agent,
    user_message,
)
from hosting.core.channels import ChannelRequest, RunFinished
from hosting.core.middleware import BodyLimitMiddleware

from .conftest import InvokeChannel

# -- ids: a function call's call id ----------------------------------------------------------------


async def test_function_calls_made_in_one_millisecond_get_distinct_call_ids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Ids start with the owner's partition and the time: a call id cut from an id's first digits
    # would keep only a few random bits, and calls of one burst would share call ids.
    monkeypatch.setattr(_ids, "time", types.SimpleNamespace(time_ns=lambda: 1_700_000_000_000_000_000))
    calls = 2_000

    @agent
    async def caller(context: RunContext) -> AsyncIterator[Update]:
        for number in range(calls):
            yield FunctionCall("", "lookup", f'{{"n": {number}}}')

    host = Host(
        caller,
        channels=[InvokeChannel()],
        store=MemoryStore(),
        id_factory=PartitionedIdFactory(secret="s"),
    )
    result = await host.engine.run(ChannelRequest(channel="invoke", input=(user_message("go"),)))
    assert result.status == "completed"
    call_ids = [item.call_id for item in result.output if isinstance(item, FunctionCall)]
    assert len(call_ids) == calls
    assert len(set(call_ids)) == calls
    await host.shutdown()


# -- engine: whole items of a subclass of an item type ---------------------------------------------


class _Note(Message):
    """A framework's own kind of message: still a `Message`."""

    __slots__ = ()


async def test_a_whole_item_of_a_subclass_of_an_item_type_gets_its_id() -> None:
    @agent
    async def noter(context: RunContext) -> AsyncIterator[Update]:
        yield _Note("assistant", (TextPart("noted"),))

    host = Host(noter, channels=[InvokeChannel()], store=MemoryStore())
    result = await host.engine.run(ChannelRequest(channel="invoke", input=(user_message("go"),)))
    assert (result.status, result.text) == ("completed", "noted")
    (item,) = result.output
    assert item.id is not None and item.id.startswith("msg_")
    await host.shutdown()


# -- engine: a live inline run keeps no events -----------------------------------------------------


async def test_a_live_inline_run_is_not_followed_into_an_empty_stream() -> None:
    # An inline run records no events: whoever learns its id before its end (the agent gets
    # it) must not follow it live into a stream with no end; to them it is not stored yet.
    learned: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    release = asyncio.Event()

    @agent
    async def slow(context: RunContext) -> AsyncIterator[str]:
        learned.set_result(context.response_id)
        yield "first "
        await release.wait()
        yield "second"

    host = Host(slow, channels=[InvokeChannel()], store=MemoryStore())
    running = asyncio.create_task(
        host.engine.run(ChannelRequest(channel="invoke", input=(user_message("go"),)))
    )
    response_id = await asyncio.wait_for(learned, 10)
    owner = IsolationKeys().user
    followed: list[type] = []
    try:
        run = await host.engine.attach(owner, response_id)
    except NotFoundError:
        pass  # not stored before its end: fine
    else:
        release.set()
        async for event in run.follow():
            followed.append(type(event))
        assert followed and followed[-1] is RunFinished  # a follower sees the run's end
    release.set()
    result = await asyncio.wait_for(running, 10)
    assert result.text == "first second"
    # Stored now: its events are rebuilt from the record.
    replayed = await host.engine.attach(owner, response_id)
    assert [type(event) for event in replayed.events][-1] is RunFinished
    assert replayed.final is not None and replayed.final.status == "completed"
    await host.shutdown()


# -- exact dispatch: routes that match on more than the path ---------------------------------------


class _Named:
    """An ASGI app (not a function), so a `Route` sends it every method."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse(self.name)(scope, receive, send)


class _BetaRoute(BaseRoute):
    """Takes every request that has ``x-beta: 1``, whatever its path."""

    def __init__(self, app: _Named) -> None:
        self.app = app

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and (b"x-beta", b"1") in list(scope.get("headers", ())):
            return Match.FULL, {}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


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
