"""Fixtures for hosting-core's tests: minimal channels written only against the public API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from hosting.core import Host, MemoryStore, RequestError, RunContext, agent, user_message
from hosting.core.channels import (
    ChannelContext,
    ChannelContribution,
    ChannelIdentity,
    ChannelRequest,
    Command,
    Delivery,
)


class InvokeChannel:
    """A plain JSON channel: ``POST {prefix}/invoke`` with ``{"text", "conversation"?, "session"?}``."""

    def __init__(self, name: str = "invoke", *, prefix: str = "") -> None:
        self.name = name
        self.prefix = prefix
        self.pushed: list[Delivery] = []
        self.fail_push = False
        self.started = 0
        self.stopped = 0

    def contribute(self, context: ChannelContext) -> ChannelContribution:
        async def invoke(request: Request) -> Response:
            body = await request.json()
            channel_request = ChannelRequest(
                channel=self.name,
                input=(user_message(body["text"]),),
                conversation_id=body.get("conversation"),
                session_key=body.get("session"),
                store=body.get("store", True),
                agent=body.get("agent"),
                identity=ChannelIdentity(self.name, body.get("address", "addr-1")),
            )
            try:
                result = await context.run(channel_request)
            except RequestError as error:
                return JSONResponse(
                    {"error": error.message, "code": error.code, "param": error.param},
                    status_code=error.status_code,
                )
            return JSONResponse(
                {
                    "id": result.response_id,
                    "status": result.status,
                    "text": result.text,
                    "conversation": result.conversation_id,
                    "error": result.error.message if result.error else None,
                }
            )

        async def reset(request: Request) -> Response:
            body = await request.json()
            answer = await context.run_command(
                "reset", ChannelRequest(channel=self.name, input=(), session_key=body["session"])
            )
            return PlainTextResponse(answer or "")

        async def reset_handler(ctx: ChannelContext, request: ChannelRequest) -> str | None:
            if request.session_key is None:
                return None
            return await ctx.reset_session(request.session_key)

        async def push(delivery: Delivery) -> None:
            if self.fail_push:
                raise ConnectionError("push service down")
            self.pushed.append(delivery)

        def on_startup() -> None:
            self.started += 1

        async def on_shutdown() -> None:
            self.stopped += 1

        return ChannelContribution(
            routes=[
                Route(f"{self.prefix}/invoke", invoke, methods=["POST"]),
                Route(f"{self.prefix}/reset", reset, methods=["POST"]),
            ],
            on_startup=[on_startup],
            on_shutdown=[on_shutdown],
            push=push,
            commands=[Command("reset", "start a fresh conversation", reset_handler)],
        )


@agent
async def echo_history(context: RunContext) -> AsyncIterator[str]:
    """Answers with every user text it can see, oldest first, joined by ' | '."""
    texts = [item.text for item in context.messages if getattr(item, "role", None) == "user"]  # type: ignore[union-attr]
    yield " | ".join(texts)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def invoke_channel() -> InvokeChannel:
    return InvokeChannel()


@pytest.fixture
def host(store: MemoryStore, invoke_channel: InvokeChannel) -> Host:
    return Host(echo_history, channels=[invoke_channel], store=store)


@pytest.fixture
async def client(host: Host) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=host)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
    await host.shutdown()


MakeHost = Callable[..., Host]


@pytest.fixture
async def make_host() -> AsyncIterator[MakeHost]:
    """``make_host(agent, store=None, **options)``: a host on the invoke channel and a memory store
    (unless given). Every host made is shut down when the test ends, passed or failed."""
    made: list[Host] = []

    def make(target: object, store: MemoryStore | None = None, **options: Any) -> Host:
        host = Host(target, channels=[InvokeChannel()], store=store or MemoryStore(), **options)  # type: ignore[arg-type]
        made.append(host)
        return host

    yield make
    for host in reversed(made):
        await host.shutdown()


@pytest.fixture
def make_invoke_channel() -> type[InvokeChannel]:
    """The channel class, for tests that mount several."""
    return InvokeChannel
