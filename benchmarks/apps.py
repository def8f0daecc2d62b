"""The servers the benchmark compares, chosen by the BENCH_APP environment variable.

- ``baseline``: a bare Starlette app that answers ``POST /v1/responses`` with precomputed bytes
  (the JSON Response, or the SSE stream split into its events), captured from the hosting app.
- ``hosting``: the real host (Responses channel) with an agent that answers instantly: in one
  piece when the input is ``answer at once`` (the non-streaming cases), else in 32 deltas. The
  answer's text is the same either way.
  BENCH_STORE selects ``memory`` or ``sqlite`` (in BENCH_DATA_DIR).
- BENCH_SLOW=1 makes both stream one event, then wait (for the memory-per-stream case).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

DELTAS = 32
ANSWER = "".join(f"tok{index} " for index in range(DELTAS))
WHOLE = "answer at once"
SLOW = os.environ.get("BENCH_SLOW") == "1"
SLOW_SECONDS = 120.0


def build_baseline() -> Starlette:
    captured = Path(os.environ["BENCH_CAPTURE_DIR"])
    body = (captured / "response.json").read_bytes()
    events = [
        chunk + b"\n\n" for chunk in (captured / "stream.sse").read_bytes().split(b"\n\n") if chunk.strip()
    ]

    async def responses(request: Request) -> Response:
        payload = json.loads(await request.body())
        if not payload.get("stream"):
            return Response(body, media_type="application/json")

        async def stream() -> AsyncIterator[bytes]:
            if SLOW:
                yield events[0]
                await asyncio.sleep(SLOW_SECONDS)
                return
            for event in events:
                yield event

        return StreamingResponse(stream(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/responses", responses, methods=["POST"])])


def build_hosting() -> object:
    from hosting.core import Host, Limits, MemoryStore, RunContext, SQLiteStore, agent
    from hosting.core.stores import Store
    from hosting.responses import ResponsesChannel

    @agent
    async def instant(context: RunContext) -> AsyncIterator[str]:
        if SLOW:
            yield "tok "
            await asyncio.sleep(SLOW_SECONDS)
            return
        if context.input_text == WHOLE:
            yield ANSWER  # answers instantly, in one piece: the non-streaming cases
            return
        for index in range(DELTAS):
            yield f"tok{index} "

    store: Store
    if os.environ.get("BENCH_STORE", "memory") == "sqlite":
        store = SQLiteStore(os.environ["BENCH_DATA_DIR"])
    else:
        store = MemoryStore()
    telemetry = None
    if os.environ.get("BENCH_TELEMETRY") == "1":
        # A tracer and a meter provider with nothing exported: the cost of making the spans.
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider

        from hosting.core import Telemetry

        telemetry = Telemetry(tracer_provider=TracerProvider(), meter_provider=MeterProvider())
    return Host(
        instant,
        channels=[ResponsesChannel()],
        store=store,
        retention_interval=0,
        limits=Limits(max_concurrent_runs_per_user=1_000_000),
        telemetry=telemetry,
    )


app = build_baseline() if os.environ.get("BENCH_APP") == "baseline" else build_hosting()
