"""`store: true` on PostgreSQL as a ratio to the bare baseline, and a follower on another replica.

Rows:

- non-streaming requests with ``store: true`` on SQLite and on PostgreSQL, each as a ratio to the
  bare Starlette baseline measured in the same rounds (`benchmarks.harness.in_rounds`);
- a follower on replica B of a run streaming on replica A (both on one PostgreSQL): the time from
  an event's production (a timestamp the agent writes into each delta) to its arrival at the
  follower, p50 and p99;
- the store's own wake-up: an append on one `PostgresStore`, and the moment
  `wait_for_run_events` returns on another one (LISTEN/NOTIFY), p50 and p99;
- the context of turn 1 and of turn 500 of a chain and of a conversation, read from PostgreSQL.

The database is a throwaway server from ``scripts/postgres.sh`` (installed when missing), or the
one at ``--database-url``. Usage: python benchmarks/postgres_bench.py [--quick] [--json PATH]
[--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402
from benchmarks.harness import LOG_DIR, ensure_wrk  # noqa: E402
from benchmarks.run import WHOLE, body, capture, in_rounds, post, wrk  # noqa: E402
from benchmarks.run import server as baseline_server  # noqa: E402

FOLLOW_GAP = 0.02  # seconds between the deltas of a followed run


def build_app() -> Any:
    """The host measured (``uvicorn --factory benchmarks.postgres_bench:build_app``).

    BENCH_STORE is ``sqlite`` (in BENCH_DATA_DIR) or ``postgres`` (HOSTING_DATABASE_URL and
    HOSTING_DATABASE_SCHEMA). The agent answers ``answer at once`` in one piece, as the main
    benchmark's does; ``follow N`` in N deltas, FOLLOW_GAP apart, each the time it was produced.
    """
    from benchmarks.apps import ANSWER

    from hosting.core import Host, Limits, RunContext, SQLiteStore, agent
    from hosting.core.stores import Store
    from hosting.postgres import store_from_environ
    from hosting.responses import ResponsesChannel

    @agent
    async def timed(context: RunContext) -> Any:
        text = context.input_text
        if text.startswith("follow "):
            for index in range(int(text.split()[1])):
                if index:
                    await asyncio.sleep(FOLLOW_GAP)
                yield f"{time.time():.6f} "
            return
        yield ANSWER

    store: Store | None
    if os.environ["BENCH_STORE"] == "postgres":
        store = store_from_environ()
    else:
        store = SQLiteStore(os.environ["BENCH_DATA_DIR"])
    return Host(
        timed,
        channels=[ResponsesChannel()],
        store=store,
        retention_interval=0,
        limits=Limits(max_concurrent_runs_per_user=1_000_000),
    )


@contextmanager
def host_server(**env: str) -> Iterator[int]:
    """One host (`build_app`) under uvicorn on core 0; yields its port."""
    with harness.server(
        "benchmarks.postgres_bench:build_app",
        label="the benchmark host",
        factory=True,
        log=LOG_DIR / "postgres-bench-{port}.log",
        env=env,
    ) as (port, _):
        yield port


@contextmanager
def database(url: str | None) -> Iterator[str]:
    """The URL of the database to use: `url`, or a throwaway server started by the script."""
    if url:
        yield url
        return
    script = ROOT / "scripts" / "postgres.sh"
    started = subprocess.run(
        ["bash", str(script), "start"], stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
    )
    if started.returncode != 0:
        raise SystemExit(f"scripts/postgres.sh start failed:\n{started.stderr}")
    values = dict(line.split("=", 1) for line in started.stdout.splitlines() if "=" in line)
    try:
        yield values["POSTGRES_URL"]
    finally:
        subprocess.run(
            ["bash", str(script), "stop", values["POSTGRES_DIR"]], stdin=subprocess.DEVNULL, check=False
        )


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "samples": len(ordered),
    }


def follower_latency(port_a: int, port_b: int, *, runs: int, events: int) -> dict[str, float]:
    """Seconds from a delta's production on A to its arrival at a follower on B, over `runs` runs."""
    import httpx

    samples: list[float] = []
    for _ in range(runs):
        with httpx.Client(timeout=60) as client:
            first: dict[str, Any] = {}
            seen_first = threading.Event()

            def produce(first: dict[str, Any] = first, seen_first: threading.Event = seen_first) -> None:
                request = {"model": "agent", "input": f"follow {events}", "stream": True, "store": True}
                with client.stream("POST", f"http://127.0.0.1:{port_a}/v1/responses", json=request) as answer:
                    for line in answer.iter_lines():
                        if line.startswith("data:") and not seen_first.is_set() and "[DONE]" not in line:
                            event = json.loads(line[5:])
                            if event.get("type") == "response.created":
                                first["id"] = event["response"]["id"]
                                first["number"] = event["sequence_number"]
                                seen_first.set()

            producer = threading.Thread(target=produce)
            producer.start()
            if not seen_first.wait(30):
                raise SystemExit("the producing stream never started")
            url = f"http://127.0.0.1:{port_b}/v1/responses/{first['id']}"
            params = {"stream": "true", "starting_after": str(first["number"])}
            with httpx.Client(timeout=60) as follower, follower.stream("GET", url, params=params) as followed:
                for line in followed.iter_lines():
                    arrived = time.time()
                    if not line.startswith("data:") or "[DONE]" in line:
                        continue
                    event = json.loads(line[5:])
                    if event.get("type") == "response.output_text.delta":
                        samples.append(arrived - float(event["delta"]))
            producer.join(timeout=60)
    return percentiles(samples)


def store_wakeup(url: str, *, samples: int) -> dict[str, float]:
    """Seconds from an append on one store to `wait_for_run_events` returning on another."""
    from hosting.core.stores import ResponseRecord, StoredEvent
    from hosting.postgres import PostgresStore

    async def measure() -> list[float]:
        schema = f"bench_{secrets.token_hex(4)}"
        writer, follower = PostgresStore(url, schema=schema), PostgresStore(url, schema=schema)
        await writer.open()
        await follower.open()
        timings: list[float] = []
        try:
            record = ResponseRecord(
                id="resp_bench", owner="bench", created_at=time.time(), status="in_progress"
            )
            await writer.create_response(record)
            await follower.wait_for_run_events(record.id, 1.0)  # subscribes
            for number in range(samples):
                waiting = asyncio.create_task(follower.wait_for_run_events(record.id, 5.0))
                await asyncio.sleep(0.005)
                started = time.perf_counter()
                await writer.append_run_events("bench", record.id, [StoredEvent(number, {"n": number})])
                await waiting
                timings.append(time.perf_counter() - started)
        finally:
            await writer.close()
            await follower.close()
        return timings

    return percentiles(asyncio.run(measure()))


def history_costs(url: str, *, turns: int, samples: int) -> dict[str, float]:
    """Seconds to read the context of turn 1 and of turn `turns` of a chain and of a conversation."""
    from hosting.core import Message, TextPart
    from hosting.core.stores import ConversationRecord, ResponseRecord
    from hosting.postgres import PostgresStore

    def message(role: str, text: str) -> Message:
        return Message(role, (TextPart(text),), id=f"msg_{secrets.token_hex(8)}")  # type: ignore[arg-type]

    async def measure() -> dict[str, float]:
        store = PostgresStore(url, schema=f"bench_{secrets.token_hex(4)}")
        await store.open()
        try:
            previous: str | None = None
            ids: list[str] = []
            for index in range(turns):
                record = ResponseRecord(
                    id=f"resp_{secrets.token_hex(8)}",
                    owner="bench",
                    created_at=time.time(),
                    status="completed",
                    input_items=(message("user", f"q{index}"),),
                    output_items=(message("assistant", f"a{index}"),),
                    previous_response_id=previous,
                    completed_at=time.time(),
                )
                await store.create_response(record)
                previous = record.id
                ids.append(record.id)
            for name, count in (("short", 1), ("long", turns)):
                await store.create_conversation(ConversationRecord(f"conv_{name}", "bench", time.time()))
                for index in range(count):
                    items = [message("user", f"q{index}"), message("assistant", f"a{index}")]
                    await store.append_conversation_items("bench", f"conv_{name}", items)

            return await harness.history_timings(
                store,
                "bench",
                chain=(ids[0], ids[-1]),
                conversations=("conv_short", "conv_long"),
                turns=turns,
                samples=samples,
            )
        finally:
            await store.close()

    return asyncio.run(measure())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="shorter runs (for a smoke check)")
    parser.add_argument(
        "--json", default=str(ROOT / "bench-results" / "postgres.json"), help="where to write JSON"
    )
    parser.add_argument("--database-url", default=os.environ.get("HOSTING_TEST_DATABASE_URL"))
    args = parser.parse_args()
    rounds, seconds = (2, 2) if args.quick else (3, 4)
    follow_runs, follow_events = (3, 30) if args.quick else (10, 50)
    ensure_wrk()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}
    with (
        database(args.database_url) as url,
        tempfile.TemporaryDirectory() as captured,
        tempfile.TemporaryDirectory() as data,
    ):
        capture(Path(captured))
        postgres = {"BENCH_STORE": "postgres", "HOSTING_DATABASE_URL": url}
        with contextlib.ExitStack() as stack:
            baseline, _ = stack.enter_context(baseline_server("baseline", BENCH_CAPTURE_DIR=captured))
            sqlite = stack.enter_context(host_server(BENCH_STORE="sqlite", BENCH_DATA_DIR=data))
            on_postgres = stack.enter_context(host_server(**postgres, HOSTING_DATABASE_SCHEMA="bench_json"))
            stored = body(store=True, input=WHOLE)
            loads = {
                "json_baseline": (baseline, body(store=False, input=WHOLE)),
                "json_store_true_sqlite": (sqlite, stored),
                "json_store_true_postgres": (on_postgres, stored),
            }
            for port, payload in loads.values():  # warm up: pools, caches, prepared statements
                post(port, payload)
                wrk(port, payload, seconds=1, connections=32)
            results.update(in_rounds(loads, rounds=rounds, seconds=seconds))
        with (
            host_server(**postgres, HOSTING_DATABASE_SCHEMA="bench_follow") as port_a,
            host_server(**postgres, HOSTING_DATABASE_SCHEMA="bench_follow") as port_b,
        ):
            results["follower_other_replica"] = follower_latency(
                port_a, port_b, runs=follow_runs, events=follow_events
            )
        results["store_wakeup"] = store_wakeup(url, samples=50 if args.quick else 300)
        results["turns"] = turns = 100 if args.quick else 500
        results["history"] = history_costs(url, turns=turns, samples=50 if args.quick else 200)
    report(results)
    harness.write_results(results, Path(args.json))


def report(results: dict[str, Any]) -> None:
    rows = [("case", "value", "detail", "ratio")]
    for name in ("json_baseline", "json_store_true_sqlite", "json_store_true_postgres"):
        row = results[name]
        rows.append(
            (
                f"non-streaming, {name.removeprefix('json_')}",
                f"{row['rps']:.0f} req/s",
                f"p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms",
                f"{row['ratio']:.2f}",
            )
        )
    for name, title in (
        ("follower_other_replica", "follower on the other replica, production to arrival"),
        ("store_wakeup", "store wake-up across connections (LISTEN/NOTIFY)"),
    ):
        row = results[name]
        rows.append(
            (title, f"p50 {row['p50_ms']:.1f} ms", f"p99 {row['p99_ms']:.1f} ms, {row['samples']} events", "")
        )
    history, turns = results["history"], results["turns"]
    for kind in ("chain", "conversation"):
        one, many = history[f"{kind}_turn_1_s"], history[f"{kind}_turn_{turns}_s"]
        rows.append((f"history on PostgreSQL, {kind}, turn 1", f"{one * 1e6:.0f} us", "", ""))
        rows.append(
            (f"history on PostgreSQL, {kind}, turn {turns}", f"{many * 1e6:.0f} us", "", f"{many / one:.2f}")
        )
    widths = [max(len(row[index]) for row in rows) for index in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
