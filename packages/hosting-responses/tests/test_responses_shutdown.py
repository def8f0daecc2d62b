"""A stopping host: streams of its own runs end with them; one following another process's run is closed."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import httpx

from hosting.core import Host, MemoryStore, RunContext
from hosting.responses import ResponsesChannel
from hosting.testing import serving


async def slow(context: RunContext) -> AsyncIterator[str]:
    yield "started "
    await asyncio.sleep(float(context.input_text))
    yield "finished"


def events_of(lines: list[str]) -> list[str]:
    return [json.loads(line[6:])["type"] for line in lines if line.startswith("data: {")]


async def test_a_stream_of_another_processs_run_is_closed_at_once_and_the_run_goes_on() -> None:
    store = MemoryStore()  # shared: two hosts as two processes on one networked store
    running_here = Host(slow, channels=[ResponsesChannel()], store=store, shutdown_grace=0.3)
    stopping = Host(slow, channels=[ResponsesChannel()], store=store, shutdown_grace=5.0)
    await running_here.startup()
    try:
        async with serving(stopping) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
            transport = httpx.ASGITransport(app=running_here)
            async with httpx.AsyncClient(transport=transport, base_url="http://other") as other:
                created = await other.post(
                    "/v1/responses", json={"model": "slow", "input": "30", "background": True}
                )
            response_id = created.json()["id"]
            lines: list[str] = []
            async with http.stream(
                "GET", f"/v1/responses/{response_id}", params={"stream": "true"}
            ) as stream:
                assert stream.status_code == 200
                reading = stream.aiter_lines()
                while "response.output_text.delta" not in events_of(lines):
                    lines.append(await asyncio.wait_for(anext(reading), 5))
                started = time.monotonic()
                stopping.begin_drain()
                async for line in reading:
                    lines.append(line)
                closed_after = time.monotonic() - started
            # Closed at once (not after the 5 s grace period), with no end: the run is not over.
            assert closed_after < 1.0
            assert "data: [DONE]" not in lines
            assert not {"response.completed", "response.incomplete", "response.failed"} & set(
                events_of(lines)
            )
            # A new follower is closed too, before its first event.
            late = await http.get(f"/v1/responses/{response_id}", params={"stream": "true"})
            assert late.status_code == 200
            assert late.text == ""
        assert running_here.engine.live_runs == 1  # it goes on where it runs
        record = await store.get_response("anonymous", response_id)
        assert record is not None
        assert not record.finished
    finally:
        await running_here.shutdown()
    record = await store.get_response("anonymous", response_id)
    assert record is not None
    assert (record.status, record.incomplete_reason) == ("incomplete", "shutdown")


async def test_a_stream_of_its_own_run_ends_with_response_incomplete() -> None:
    host = Host(slow, channels=[ResponsesChannel()], store=MemoryStore(), shutdown_grace=0.3)
    async with serving(host) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        lines: list[str] = []
        body = {"model": "slow", "input": "30", "stream": True}
        async with http.stream("POST", "/v1/responses", json=body) as stream:
            reading = stream.aiter_lines()
            while "response.output_text.delta" not in events_of(lines):
                lines.append(await asyncio.wait_for(anext(reading), 5))
            host.begin_drain()
            async for line in reading:
                lines.append(line)
        assert events_of(lines)[-1] == "response.incomplete"
        assert [line for line in lines if line][-1] == "data: [DONE]"
        final = json.loads(next(line for line in reversed(lines) if "response.incomplete" in line)[6:])
        assert final["response"]["incomplete_details"] == {"reason": None, "cause": "shutdown"}
