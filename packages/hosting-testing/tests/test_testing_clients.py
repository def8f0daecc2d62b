"""In-process SDK clients, the real-socket server and the plugin's fixtures, against a small probe channel."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hosting.core import Host, MemoryStore, user_message
from hosting.core.channels import ChannelContext, ChannelContribution, ChannelRequest
from hosting.testing import (
    Delay,
    EchoAgent,
    InProcessHTTPClient,
    ScriptedAgent,
    async_openai_client,
    openai_client,
    serve,
)


class ProbeChannel:
    """Just enough of a channel: `/v1/models`, a run endpoint (optionally background), a status endpoint."""

    name = "probe"

    def __init__(self) -> None:
        self.lifecycle: list[str] = []

    def contribute(self, context: ChannelContext) -> ChannelContribution:
        async def models(request: Request) -> Response:
            data = [
                {"id": name, "object": "model", "created": 0, "owned_by": "probe"} for name in context.agents
            ]
            return JSONResponse({"object": "list", "data": data})

        async def run(request: Request) -> Response:
            body = await request.json()
            background = bool(body.get("background"))
            started = await context.run_stream(
                ChannelRequest(channel=self.name, input=(user_message(body["text"]),), background=background)
            )
            if background:
                return JSONResponse({"id": started.id, "status": started.record.status})
            result = await started.wait()
            return JSONResponse({"id": result.response_id, "status": result.status, "text": result.text})

        async def status(request: Request) -> Response:
            run = await context.attach(request.path_params["response_id"])
            return JSONResponse(
                {"status": run.record.status, "text": "".join(_texts(run.record.output_items))}
            )

        def started() -> None:
            self.lifecycle.append("startup")

        def stopped() -> None:
            self.lifecycle.append("shutdown")

        return ChannelContribution(
            routes=[
                Route("/v1/models", models),
                Route("/v1/runs", run, methods=["POST"]),
                Route("/v1/runs/{response_id}", status),
            ],
            on_startup=[started],
            on_shutdown=[stopped],
        )


def _texts(items: Any) -> list[str]:
    return [getattr(item, "text", "") for item in items]


def _host(agent: Any = None) -> tuple[Host, ProbeChannel]:
    channel = ProbeChannel()
    return Host(agent or EchoAgent(), channels=[channel], store=MemoryStore()), channel


def test_sync_client_runs_the_lifespan_and_keeps_one_loop_for_background_runs() -> None:
    host, channel = _host(ScriptedAgent(["working", Delay(0.2), " done"]))
    http = InProcessHTTPClient(host)
    assert channel.lifecycle == ["startup"]  # before any request
    started = http.post("/v1/runs", json={"text": "go", "background": True}).json()
    assert started["status"] == "queued"
    deadline = time.monotonic() + 10
    status = started["status"]
    while status != "completed" and time.monotonic() < deadline:
        time.sleep(0.02)
        status = http.get(f"/v1/runs/{started['id']}").json()["status"]
    final = http.get(f"/v1/runs/{started['id']}").json()
    assert final == {"status": "completed", "text": "working done"}
    http.close()
    assert channel.lifecycle == ["startup", "shutdown"]
    http.close()  # a second close is harmless
    assert channel.lifecycle == ["startup", "shutdown"]


def test_sync_client_without_lifespan_lets_the_host_start_lazily() -> None:
    host, channel = _host()
    http = InProcessHTTPClient(host, lifespan=False)
    assert channel.lifecycle == []
    assert http.post("/v1/runs", json={"text": "hi"}).json()["text"] == "hi"
    assert channel.lifecycle == ["startup"]
    http.close()


def test_sync_client_reports_a_failed_startup() -> None:
    class Broken(ProbeChannel):
        def contribute(self, context: ChannelContext) -> ChannelContribution:
            def explode() -> None:
                raise RuntimeError("no database")

            return ChannelContribution(routes=[], on_startup=[explode])

    host = Host(EchoAgent(), channels=[Broken()], store=MemoryStore())
    with pytest.raises(RuntimeError, match="no database"):
        InProcessHTTPClient(host)


def test_sync_client_serves_apps_without_a_lifespan() -> None:
    async def plain(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError("http only")
        await JSONResponse({"ok": True})(scope, receive, send)

    http = InProcessHTTPClient(plain)
    assert http.get("/anything").json() == {"ok": True}
    http.close()


def test_openai_client_reaches_the_app_in_process() -> None:
    host, channel = _host({"first": EchoAgent(), "second": EchoAgent()})
    with openai_client(host) as client:
        assert str(client.base_url) == "http://hosting.test/v1/"
        assert [model.id for model in client.models.list().data] == ["first", "second"]
        assert channel.lifecycle == ["startup"]
    assert channel.lifecycle == ["startup", "shutdown"]


async def test_async_openai_client_reaches_the_app_in_process() -> None:
    host, _ = _host()
    client = async_openai_client(host, prefix="/v1")
    models = await client.models.list()
    assert [model.id for model in models.data] == ["echo"]
    await client.close()
    await host.shutdown()


def test_serve_gives_a_real_socket_on_loopback() -> None:
    host, channel = _host()
    with serve(host) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        assert channel.lifecycle == ["startup"]
        answer = httpx.post(f"{base_url}/v1/runs", json={"text": "over the wire"}, timeout=10).json()
        assert answer["text"] == "over the wire"
        with openai.OpenAI(base_url=f"{base_url}/v1", api_key="k", max_retries=0) as client:
            assert [model.id for model in client.models.list().data] == ["echo"]
    assert channel.lifecycle == ["startup", "shutdown"]


# -- the plugin's fixtures -------------------------------------------------------------------------


def test_fixtures_make_agents_and_a_store(
    hosting_store: MemoryStore,
    echo_agent: EchoAgent,
    scripted_agent: Callable[..., ScriptedAgent],
) -> None:
    assert isinstance(hosting_store, MemoryStore)
    assert echo_agent.name == "echo"
    made = scripted_agent(["a"], name="bot")
    assert made.name == "bot"
    assert made.runs == []
    per_turn = scripted_agent(turns=[["a"], ["b"]])
    assert per_turn.name == "scripted"


channels_seen: list[ProbeChannel] = []


def test_openai_client_for_closes_its_clients(openai_client_for: Callable[..., openai.OpenAI]) -> None:
    host, channel = _host()
    channels_seen.append(channel)
    client = openai_client_for(host)
    assert [model.id for model in client.models.list().data] == ["echo"]
    assert channel.lifecycle == ["startup"]


def test_openai_client_for_closed_the_previous_tests_client() -> None:
    # Runs after the test above (pytest keeps file order): its teardown shut the host down.
    assert [channel.lifecycle for channel in channels_seen] == [["startup", "shutdown"]]


async def test_async_openai_client_for(async_openai_client_for: Callable[..., openai.AsyncOpenAI]) -> None:
    host, _ = _host()
    client = async_openai_client_for(host)
    assert [model.id for model in (await client.models.list()).data] == ["echo"]
    await host.shutdown()


def test_served_runs_each_app_for_the_test(served: Callable[..., str]) -> None:
    first, _ = _host()
    second, _ = _host(EchoAgent(name="other"))
    urls = [served(first), served(second)]
    assert len(set(urls)) == 2
    names = [httpx.get(f"{url}/v1/models", timeout=10).json()["data"][0]["id"] for url in urls]
    assert names == ["echo", "other"]
