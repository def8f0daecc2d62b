"""The SSE machinery against a real uvicorn: keep-alives while an agent is silent, and disconnects."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from hosting.core import Host, MemoryStore, RunContext
from hosting.responses import ResponsesChannel
from hosting.testing import Delay, ScriptedAgent, parse_event_stream, serving


async def test_a_silent_agent_gets_keep_alive_comments_and_the_sdk_framing_survives_them() -> None:
    agent = ScriptedAgent(["before", Delay(0.5), " after"])
    host = Host(agent, channels=[ResponsesChannel(keepalive_interval=0.1)], store=MemoryStore())
    async with serving(host) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        body = {"model": "scripted", "input": "x", "stream": True}
        async with client.stream("POST", "/v1/responses", json=body) as response:
            text = "".join([chunk async for chunk in response.aiter_text()])
    comments = [line for line in text.split("\n") if line.startswith(":")]
    assert len(comments) >= 2
    assert set(comments) == {": keep-alive"}
    events = parse_event_stream(text)
    assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == "before after"
    assert events[-1]["type"] == "response.completed"


async def test_no_keep_alive_while_events_flow() -> None:
    agent = ScriptedAgent(["a", "b"])
    host = Host(agent, channels=[ResponsesChannel(keepalive_interval=5.0)], store=MemoryStore())
    async with serving(host) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        response = await client.post("/v1/responses", json={"input": "x", "stream": True})
    assert ": keep-alive" not in response.text
    assert response.text.endswith("data: [DONE]\n\n")


async def _wait_for(condition: Any, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached in time")
        await asyncio.sleep(0.01)


async def test_a_client_that_disconnects_stops_an_unstored_run() -> None:
    seen: list[str] = []

    async def slow(context: RunContext) -> AsyncIterator[str]:
        try:
            for n in range(1000):
                yield f"{n} "
                await asyncio.sleep(0.01)
            seen.append("finished")
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    host = Host(slow, channels=[ResponsesChannel()], store=MemoryStore())
    async with serving(host) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        body = {"input": "x", "stream": True, "store": False}
        async with client.stream("POST", "/v1/responses", json=body) as response:
            async for chunk in response.aiter_text():
                if "response.output_text.delta" in chunk:
                    break
        await _wait_for(lambda: bool(seen))
        assert seen == ["cancelled"]
        assert host.engine.live_runs == 0


async def test_a_client_that_disconnects_does_not_stop_a_stored_run() -> None:
    done = asyncio.Event()

    async def slow(context: RunContext) -> AsyncIterator[str]:
        for n in range(20):
            yield f"{n} "
            await asyncio.sleep(0.01)
        done.set()

    host = Host(slow, channels=[ResponsesChannel()], store=MemoryStore())
    async with serving(host) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        async with client.stream("POST", "/v1/responses", json={"input": "x", "stream": True}) as response:
            async for chunk in response.aiter_text():
                if "response.created" in chunk:
                    response_id = chunk.split('"id":"', 1)[1].split('"', 1)[0]
                    break
        await asyncio.wait_for(done.wait(), timeout=5)
        await _wait_for(lambda: host.engine.live_runs == 0)
        stored = (await client.get(f"/v1/responses/{response_id}")).json()
    assert stored["status"] == "completed"
    assert stored["output"][0]["content"][0]["text"] == "".join(f"{n} " for n in range(20))
