"""The Host as an ASGI app: lifespan, health, mounting, channel neutrality, delivery, commands."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient
from starlette.types import Message as ASGIMessage

from hosting.core import (
    ApiKeyAuthenticator,
    ConfigurationError,
    Host,
    MemoryStore,
    Message,
    RunContext,
    agent,
    user_message,
)
from hosting.core.channels import (
    ChannelContext,
    ChannelContribution,
    ChannelIdentity,
    ChannelRequest,
    Delivery,
)
from hosting.core.middleware import BodyLimitMiddleware, IsolationMiddleware, RequestIdMiddleware
from hosting.testing import serve

from .conftest import InvokeChannel, echo_history


class CallbackChannel:
    """A channel whose start-up/shutdown callbacks are given by the test."""

    def __init__(self, name: str, on_startup: list[object], on_shutdown: list[object] | None = None) -> None:
        self.name = name
        self._startup = on_startup
        self._shutdown = on_shutdown or []

    def contribute(self, context: ChannelContext) -> ChannelContribution:
        return ChannelContribution(on_startup=self._startup, on_shutdown=self._shutdown)  # type: ignore[arg-type]


def test_health_and_readiness() -> None:
    host = Host(echo_history, channels=[InvokeChannel()], store=MemoryStore())
    with TestClient(host) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


def test_health_routes_refuse_other_methods_in_the_envelope() -> None:
    host = Host(echo_history, channels=[InvokeChannel()], store=MemoryStore())
    with TestClient(host) as client:
        for path in ("/healthz", "/readyz"):
            for method in ("POST", "DELETE", "TRACE"):
                refused = client.request(method, path)
                assert refused.status_code == 405
                assert refused.headers["allow"] == "GET, HEAD"
                assert refused.json()["error"]["code"] == "method_not_allowed"
            assert client.head(path).status_code == 200


async def test_readyz_is_503_before_start_up() -> None:
    host = Host(echo_history, channels=[InvokeChannel()], store=MemoryStore())
    transport = httpx.ASGITransport(app=host.app)  # the app without its lifespan: never started
    async with httpx.AsyncClient(transport=transport, base_url="http://h") as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "starting"}


def test_every_startup_callback_runs_and_the_first_error_aborts_boot(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[str] = []

    def first() -> None:
        ran.append("first")
        raise RuntimeError("first failure")

    async def second() -> None:
        ran.append("second")
        raise ValueError("second failure")

    def third() -> None:
        ran.append("third")

    host = Host(
        echo_history,
        channels=[CallbackChannel("a", [first, second]), CallbackChannel("b", [third])],
        store=MemoryStore(),
    )
    caplog.set_level(logging.ERROR, logger="hosting.core")
    with pytest.raises(RuntimeError, match="first failure"), TestClient(host):
        pass
    assert ran == ["first", "second", "third"]
    logged = caplog.text
    assert "test_every_startup_callback_runs_and_the_first_error_aborts_boot.<locals>.first" in logged
    assert "second" in logged


async def test_every_shutdown_callback_runs_and_the_first_error_is_raised() -> None:
    ran: list[str] = []

    def broken() -> None:
        ran.append("broken")
        raise RuntimeError("shutdown failure")

    def fine() -> None:
        ran.append("fine")

    store = MemoryStore()
    host = Host(echo_history, channels=[CallbackChannel("a", [], [broken, fine])], store=store)
    await host.startup()
    with pytest.raises(RuntimeError, match="shutdown failure"):
        await host.shutdown()
    assert ran == ["broken", "fine"]


def test_channel_callbacks_run_through_the_lifespan() -> None:
    channel = InvokeChannel()
    host = Host(echo_history, channels=[channel], store=MemoryStore())
    with TestClient(host):
        assert (channel.started, channel.stopped) == (1, 0)
    assert (channel.started, channel.stopped) == (1, 1)


def test_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        Host(echo_history, channels=[], store=MemoryStore())
    with pytest.raises(ConfigurationError):
        Host(echo_history, channels=[InvokeChannel(), InvokeChannel()], store=MemoryStore())
    with pytest.raises(ConfigurationError):
        Host(object(), channels=[InvokeChannel()], store=MemoryStore())
    with pytest.raises(ConfigurationError):
        Host({}, channels=[InvokeChannel()], store=MemoryStore())

    def not_async(context: RunContext) -> str:
        return "x"

    with pytest.raises(ConfigurationError):
        Host(not_async, channels=[InvokeChannel()], store=MemoryStore())

    class FrameworkAgent:  # has a run method, but the wrong one: it needs the adapter
        async def run(self, messages: object) -> None: ...

    FrameworkAgent.__module__ = "agent_framework._agents"
    with pytest.raises(ConfigurationError, match="AgentFrameworkAgent"):
        Host(FrameworkAgent(), channels=[InvokeChannel()], store=MemoryStore())


def test_mounted_inside_a_parent_starlette_app() -> None:
    channel = InvokeChannel()
    host = Host(echo_history, channels=[channel], store=MemoryStore())
    parent = Starlette(routes=[Mount("/agents", app=host)], lifespan=host.lifespan)
    with TestClient(parent) as client:
        assert client.get("/agents/healthz").json() == {"status": "ok"}
        answer = client.post("/agents/invoke", json={"text": "mounted"})
        assert answer.json()["text"] == "mounted"
        assert channel.started == 1


def test_mounted_without_lifespan_starts_on_first_request() -> None:
    host = Host(echo_history, channels=[InvokeChannel()], store=MemoryStore())
    parent = Starlette(routes=[Mount("/x", app=host)])
    with TestClient(parent) as client:
        assert client.post("/x/invoke", json={"text": "lazy"}).json()["text"] == "lazy"
        assert client.get("/x/readyz").status_code == 200


async def test_a_conversation_started_on_one_channel_continues_on_another(
    make_invoke_channel: type[InvokeChannel],
) -> None:
    first, second = make_invoke_channel("first", prefix="/one"), make_invoke_channel("second", prefix="/two")
    host = Host(echo_history, channels=[first, second], store=MemoryStore())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=host), base_url="http://t") as client:
        opened = (await client.post("/one/invoke", json={"text": "hello", "session": "s1"})).json()
        conversation = opened["conversation"]
        assert conversation and opened["text"] == "hello"
        continued = (
            await client.post("/two/invoke", json={"text": "again", "conversation": conversation})
        ).json()
        assert continued["text"] == "hello | again"
        assert continued["conversation"] == conversation
    await host.shutdown()


async def test_commands_are_run_by_name(client: httpx.AsyncClient) -> None:
    first = (await client.post("/invoke", json={"text": "one", "session": "s"})).json()
    new_conversation = (await client.post("/reset", json={"session": "s"})).text
    assert new_conversation.startswith("conv_") and new_conversation != first["conversation"]
    after = (await client.post("/invoke", json={"text": "two", "session": "s"})).json()
    assert (after["text"], after["conversation"]) == ("two", new_conversation)


async def test_delivery_reports_pushed_skipped_and_failed(make_invoke_channel: type[InvokeChannel]) -> None:
    reachable, broken = (
        make_invoke_channel("reachable", prefix="/a"),
        make_invoke_channel("broken", prefix="/b"),
    )
    quiet = CallbackChannel("quiet", [])
    broken.fail_push = True
    host = Host(echo_history, channels=[reachable, broken, quiet], store=MemoryStore(), delivery_backoff=0)
    items = (user_message("ping"),)
    origin = ChannelIdentity("reachable", "chat-42")

    report = await host.deliver(items, target="origin", origin=origin)
    assert (report.pushed, report.skipped, dict(report.failed)) == (("reachable",), (), {})
    assert reachable.pushed[-1].address == "chat-42" and reachable.pushed[-1].items == items

    await host.link_identity("reachable", "chat-42")
    await host.link_identity("broken", "b-1")
    await host.link_identity("quiet", "q-1")
    report = await host.deliver(items, target="linked")
    assert report.pushed == ("reachable",)
    assert report.skipped == ("quiet",)  # no push function
    assert list(report.failed) == ["broken"] and "push service down" in report.failed["broken"]
    assert not report.ok

    report = await host.deliver(items, target=["reachable", "nowhere"])
    assert (report.pushed, report.skipped) == (("reachable",), ("nowhere",))
    assert await host.deliver(items, target=None) == type(report)()
    await host.shutdown()


class FlakyChannel:
    """A channel whose push fails a given number of times, then works."""

    def __init__(self, name: str, failures: int) -> None:
        self.name = name
        self.failures = failures
        self.attempts = 0
        self.pushed: list[Delivery] = []

    def contribute(self, context: ChannelContext) -> ChannelContribution:
        async def push(delivery: Delivery) -> None:
            self.attempts += 1
            if self.attempts <= self.failures:
                raise ConnectionError(f"down (attempt {self.attempts})")
            self.pushed.append(delivery)

        return ChannelContribution(push=push)


async def test_a_failing_push_is_retried_and_one_that_gives_up_is_kept_for_the_operator() -> None:
    flaky, dead = FlakyChannel("flaky", failures=2), FlakyChannel("dead", failures=99)
    store = MemoryStore()
    host = Host(echo_history, channels=[flaky, dead], store=store, delivery_attempts=3, delivery_backoff=0.01)
    await host.startup()
    try:
        await host.link_identity("flaky", "f-1")
        await host.link_identity("dead", "d-1")
        report = await host.deliver((user_message("news"),), target="linked")
        assert report.pushed == ("flaky",) and flaky.attempts == 3 and len(flaky.pushed) == 1
        assert list(report.failed) == ["dead"] and dead.attempts == 3
        assert "down (attempt 3)" in report.failed["dead"]
        [failure] = await store.list_delivery_failures()
        assert (failure.owner, failure.channel, failure.address, failure.attempts) == (
            "anonymous",
            "dead",
            "d-1",
            3,
        )
        assert [item.text for item in failure.items if isinstance(item, Message)] == ["news"]
    finally:
        await host.shutdown()


async def test_a_run_that_asks_for_delivery_pushes_its_answer_and_keeps_the_report() -> None:
    linked, unlinked = FlakyChannel("linked-chat", failures=0), FlakyChannel("other-chat", failures=0)
    host = Host(echo_history, channels=[InvokeChannel(), linked, unlinked], store=MemoryStore())
    await host.startup()
    try:
        await host.link_identity("linked-chat", "room-7")
        context = ChannelContext(
            "invoke",
            engine=host.engine,
            store=host.store,
            limits=host.limits,
            commands={},
            deliveries=host.deliveries,
        )
        request = ChannelRequest(
            channel="invoke",
            input=(user_message("deliver me"),),
            background=True,
            deliver_to=["linked-chat", "other-chat"],
        )
        run = await context.run_stream(request)
        result = await run.wait()
        assert [delivery.address for delivery in linked.pushed] == ["room-7"]
        assert [item.text for item in linked.pushed[0].items if isinstance(item, Message)] == ["deliver me"]
        assert unlinked.pushed == []  # nothing goes to an identity the user has not linked
        stored = await host.store.get_response("anonymous", result.response_id)
        assert stored is not None and stored.status == "completed"
        assert stored.attributes["delivery"] == {
            "pushed": ["linked-chat"],
            "skipped": ["other-chat"],
            "failed": {},
        }
    finally:
        await host.shutdown()


async def test_several_agents_by_name_on_one_host() -> None:
    @agent(name="upper")
    async def upper(context: RunContext) -> AsyncIterator[str]:
        yield context.input_text.upper()

    host = Host({"echo": echo_history, "upper": upper}, channels=[InvokeChannel()], store=MemoryStore())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=host), base_url="http://t") as client:
        assert (await client.post("/invoke", json={"text": "a"})).json()["text"] == "a"
        assert (await client.post("/invoke", json={"text": "a", "agent": "upper"})).json()["text"] == "A"
        unknown = await client.post("/invoke", json={"text": "a", "agent": "nope"})
        assert unknown.status_code == 400 and unknown.json()["param"] == "model"
    await host.shutdown()


# -- the request path: authentication before the body ---------------------------------------------


async def test_a_keyless_request_is_refused_before_its_body_is_read() -> None:
    """However large the body, a caller without a valid key gets 401 and the body stays unread."""
    host = Host(
        echo_history,
        channels=[InvokeChannel()],
        store=MemoryStore(),
        authenticator=ApiKeyAuthenticator({"sk-alice": "alice"}),
    )
    await host.startup()
    try:
        for headers in ([], [(b"authorization", b"Bearer sk-wrong")]):
            received: list[ASGIMessage] = []
            sent: list[ASGIMessage] = []

            async def receive(received: list[ASGIMessage] = received) -> ASGIMessage:
                message: ASGIMessage = {"type": "http.request", "body": b"x" * 1024, "more_body": True}
                received.append(message)
                return message

            async def send(message: ASGIMessage, sent: list[ASGIMessage] = sent) -> None:
                sent.append(message)

            scope = {
                "type": "http",
                "method": "POST",
                "path": "/invoke",
                "root_path": "",
                "query_string": b"",
                "headers": [(b"content-length", b"9437184"), *headers],
            }
            await host(scope, receive, send)
            assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 401
            assert (b"connection", b"close") in sent[0]["headers"]
            assert received == []  # not one chunk of the body was asked for
    finally:
        await host.shutdown()


def test_a_keyless_upload_gets_401_while_the_client_is_still_sending() -> None:
    """Over a real socket: the answer comes before the 9 MiB body is sent, and the server closes."""
    host = Host(
        echo_history,
        channels=[InvokeChannel()],
        store=MemoryStore(),
        authenticator=ApiKeyAuthenticator({"sk-alice": "alice"}),
    )
    with serve(host) as url:
        address = url.removeprefix("http://").split(":")
        with socket.create_connection((address[0], int(address[1])), timeout=10) as connection:
            connection.sendall(
                b"POST /invoke HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n"
                b"content-length: 9437184\r\n\r\n" + b"x" * 65536
            )
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 401 ")
    assert b"connection: close" in answer.lower()


def test_the_middleware_stack_is_built_in_order_around_the_router() -> None:
    host = Host(echo_history, channels=[InvokeChannel()], store=MemoryStore())
    layers: list[type] = []
    app: object = host.app
    while app is not host.router:
        layers.append(type(app))
        app = app.app  # type: ignore[attr-defined]
    assert layers == [RequestIdMiddleware, IsolationMiddleware, BodyLimitMiddleware]
    assert [middleware.cls for middleware in host.middleware] == layers
