"""The path every request takes: request id, body limits and isolation keys, then the route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from hosting.core import (
    ApiKeyAuthenticator,
    Host,
    Limits,
    MemoryStore,
    RequestError,
    get_current_isolation_keys,
    get_current_request_id,
)
from hosting.core._limits import BodyReplay
from hosting.core.channels import ChannelContext, ChannelContribution, error_response, request_body
from hosting.core.middleware import BodyLimitMiddleware

from .conftest import echo_history


class WhoChannel:
    """Answers with who the host says is calling, over HTTP and over a websocket."""

    name = "who"

    def contribute(self, context: ChannelContext) -> ChannelContribution:
        async def who(request: Request) -> Response:
            keys = get_current_isolation_keys()
            return JSONResponse(
                {
                    "user": keys.user if keys else None,
                    "request_id": get_current_request_id(),
                    "body": (await request.body()).decode(),
                }
            )

        async def socket(websocket: WebSocket) -> None:
            await websocket.accept()
            keys = get_current_isolation_keys()
            await websocket.send_json(
                {"user": keys.user if keys else None, "request_id": get_current_request_id()}
            )
            await websocket.close()

        def render(error: RequestError) -> Response:
            return JSONResponse(
                {"who_error": error.message, "code": error.code}, status_code=error.status_code
            )

        return ChannelContribution(
            routes=[Route("/who", who, methods=["GET", "POST"]), WebSocketRoute("/who/socket", socket)],
            error_prefix="/who",
            render_error=render,
        )


def host_with(**options: Any) -> Host:
    return Host(echo_history, channels=[WhoChannel()], store=MemoryStore(), **options)


def client_for(host: Host) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=host), base_url="http://t")


async def test_a_request_gets_its_id_its_keys_and_its_body_and_they_end_with_it() -> None:
    host = host_with(authenticator=ApiKeyAuthenticator({"sk-alice": "alice"}))
    async with client_for(host) as client:
        answer = await client.post("/who", content=b"hello", headers={"authorization": "Bearer sk-alice"})
        assert answer.status_code == 200
        seen = answer.json()
        assert seen["user"] == "alice" and seen["body"] == "hello"
        assert seen["request_id"] == answer.headers["x-request-id"]
        read = await client.get("/who", headers={"authorization": "Bearer sk-alice", "x-request-id": "gw-1"})
        assert read.json() == {"user": "alice", "request_id": "gw-1", "body": ""}
    # Nothing of the request is left in the caller's context.
    assert get_current_isolation_keys() is None and get_current_request_id() is None
    await host.shutdown()


async def test_refusals_come_in_the_channels_shape_with_a_request_id() -> None:
    host = host_with(
        authenticator=ApiKeyAuthenticator({"sk-alice": "alice"}), limits=Limits(max_body_bytes=10)
    )
    async with client_for(host) as client:
        unknown = await client.get("/who", headers={"authorization": "Bearer sk-mallory"})
        assert unknown.status_code == 401
        assert "who_error" in unknown.json() and unknown.headers["x-request-id"].startswith("req_")
        too_big = await client.post("/who", content=b"x" * 50, headers={"authorization": "Bearer sk-alice"})
        assert too_big.status_code == 413 and too_big.json()["code"] == "request_too_large"
        assert too_big.headers["x-request-id"].startswith("req_")
        # Credentials are looked at before the body: a stranger's body is never read.
        anonymous_too_big = await client.post("/who", content=b"x" * 50)
        assert anonymous_too_big.status_code == 401
        health = await client.get("/healthz")  # public: no credentials needed
        assert health.status_code == 200 and health.headers["x-request-id"].startswith("req_")
    await host.shutdown()


@pytest.mark.parametrize("authenticated", [False, True])
def test_a_websocket_goes_through_the_same_steps(authenticated: bool) -> None:
    options: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if authenticated:
        options["authenticator"] = ApiKeyAuthenticator({"sk-bob": "bob"})
        headers["authorization"] = "Bearer sk-bob"
    host = host_with(**options)
    with TestClient(host) as client, client.websocket_connect("/who/socket", headers=headers) as socket:
        seen = socket.receive_json()
    assert seen["user"] == ("bob" if authenticated else "anonymous")
    assert seen["request_id"] is None  # request ids are for HTTP requests, as before


async def test_request_body_takes_the_body_the_host_read_and_reads_it_anywhere_else() -> None:
    async def echo(request: Request) -> Response:
        body = await request_body(request)
        return JSONResponse({"body": body.decode(), "kept": isinstance(request.receive, BodyReplay)})

    plain = Starlette(routes=[Route("/echo", echo, methods=["POST"])])
    bounded = BodyLimitMiddleware(plain, limits=Limits(), render_error=lambda path: error_response)
    for app, kept in ((plain, False), (bounded, True)):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:

            async def pieces() -> AsyncIterator[bytes]:
                for piece in (b"he", b"llo"):
                    yield piece

            answer = await client.post("/echo", content=pieces())
            assert answer.json() == {"body": "hello", "kept": kept}


async def test_request_body_reads_the_receive_a_route_was_given_when_a_layer_changed_the_body() -> None:
    async def echo(request: Request) -> Response:
        return JSONResponse({"body": (await request_body(request)).decode()})

    inner = Starlette(routes=[Route("/echo", echo, methods=["POST"])])

    async def upper_case(scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        changed = {**message, "body": message["body"].upper(), "more_body": False}

        async def receive_changed() -> Message:
            return changed

        await inner(scope, receive_changed, send)

    bounded = BodyLimitMiddleware(upper_case, limits=Limits(), render_error=lambda path: error_response)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=bounded), base_url="http://t") as client:
        answer = await client.post("/echo", content=b"hello")
    assert answer.json() == {"body": "HELLO"}
