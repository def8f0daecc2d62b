"""Many streams at once, half of them dropped at random points, against a real uvicorn.

The server must stay healthy, every stored run must reach a terminal status (a dropped stream
is not a cancel), unstored runs whose client left must be cancelled, and nothing may be left
behind: no task, no live run, no per-user run count.
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import weakref
from typing import Any

import httpx

from hosting.core import Host, MemoryStore
from hosting.core.channels import Run
from hosting.core.stores import TERMINAL_STATUSES
from hosting.responses import ResponsesChannel
from hosting.testing import Delay, ScriptedAgent, serving

STREAMS = 200
DELTAS = 20
DEADLINE = 60.0


def script() -> list[Any]:
    steps: list[Any] = []
    for index in range(DELTAS):
        steps += [f"w{index} ", Delay(0.005)]
    return steps


async def one_stream(
    client: httpx.AsyncClient, number: int, drop_after: int | None, *, store: bool
) -> tuple[str, str, bool]:
    """Stream one response; stop reading after `drop_after` events (None: read to the end).

    Returns the response id, the text read, and whether the stream was read to its end.
    """
    body = {"model": "scripted", "input": f"stream {number}", "stream": True, "store": store}
    response_id = ""
    text = ""
    events = 0
    async with client.stream("POST", "/v1/responses", json=body) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line[len("data: ") :])
            events += 1
            if event["type"] == "response.created":
                response_id = event["response"]["id"]
            elif event["type"] == "response.output_text.delta":
                text += event["delta"]
            if drop_after is not None and events >= drop_after:
                return response_id, text, False  # leaving the block closes the connection mid-stream
    return response_id, text, True


async def test_two_hundred_streams_half_dropped_leave_nothing_behind() -> None:
    agent = ScriptedAgent(script())
    store = MemoryStore()
    host = Host(agent, channels=[ResponsesChannel()], store=store, retention_interval=0)
    chooser = random.Random(20261125)
    plans = [(n, chooser.randint(1, 2 * DELTAS) if n % 2 else None, n % 4 != 3) for n in range(STREAMS)]
    expected = "".join(f"w{index} " for index in range(DELTAS))

    async with serving(host) as base_url:
        limits = httpx.Limits(max_connections=STREAMS + 10, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
            before = {task for task in asyncio.all_tasks() if not task.done()}
            outcomes = await asyncio.wait_for(
                asyncio.gather(*(one_stream(client, n, drop, store=stored) for n, drop, stored in plans)),
                timeout=DEADLINE,
            )
            # Every run ends: stored ones complete although their client left, unstored ones whose
            # client left are cancelled. Wait (bounded) for the engine to let go of all of them.
            for _ in range(int(DEADLINE / 0.05)):
                if not host.engine.live_runs:
                    break
                await asyncio.sleep(0.05)
            assert host.engine.live_runs == 0

            health = await client.get("/healthz")
            assert health.status_code == 200
            after_one_more = await client.post(
                "/v1/responses", json={"model": "scripted", "input": "still ok?"}
            )
            assert after_one_more.json()["status"] == "completed"

            await asyncio.sleep(0.2)  # let connection handlers of the dropped streams wind down
            leftover = {task for task in asyncio.all_tasks() if not task.done()} - before
            current = asyncio.current_task()
            assert [task for task in leftover if task is not current] == []

    for (number, drop, stored), (response_id, text, finished) in zip(plans, outcomes, strict=True):
        assert response_id, f"stream {number} never saw response.created"
        if drop is None:
            assert finished
            assert text == expected
        record = await store.get_response("anonymous", response_id)
        if stored:
            assert record is not None
            assert record.status in TERMINAL_STATUSES
            assert record.status == "completed", (number, record.status)
        else:
            assert record is None  # store: false writes nothing, dropped or not

    cancelled = [run for run in agent.runs if run.cancelled]
    unstored_dropped = [plan for plan in plans if not plan[2] and plan[1] is not None]
    assert 0 < len(cancelled) <= len(unstored_dropped)
    assert host.engine._runs_per_user == {}

    # No run is kept alive by the engine once its followers are gone.
    gc.collect()
    runs = [obj for obj in gc.get_objects() if isinstance(obj, Run)]
    references = [weakref.ref(run) for run in runs]
    del runs
    gc.collect()
    assert [ref for ref in references if ref() is not None] == []
