"""`make bench`: what the host costs, as ratios to a bare Starlette app measured in the same run.

Each server runs under uvicorn, pinned to core 0; the load generator (wrk, installed from Debian's
packages when missing) and the probes run on core 1. The servers compared start together, and only
the one measured gets load; they take turns, round after round (`in_rounds`). Every figure is
reported beside the baseline's, and the ratio is what the targets in docs/benchmarks.md are about:
absolute numbers move with the machine, ratios within one round do not (much).

Usage: python benchmarks/run.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402
from benchmarks.harness import CLIENT_CORE, ensure_wrk, ratio  # noqa: E402

LOG_DIR = harness.LOG_DIR  # where the servers' output goes

REQUEST = {"model": "agent", "input": "hello"}
WHOLE = "answer at once"  # benchmarks/apps.py: the agent answers this in one piece


def body(**fields: Any) -> bytes:
    return json.dumps({**REQUEST, **fields}).encode()


# -- servers ---------------------------------------------------------------------------------------


@contextmanager
def server(app: str, **env: str) -> Iterator[tuple[int, int]]:
    """Start `benchmarks.apps:app` with BENCH_APP=`app`; yield (port, pid)."""
    with harness.server(
        "benchmarks.apps:app",
        label=f"server {app}",
        log=LOG_DIR / f"{app}-{{port}}.log",
        env={"BENCH_APP": app, **env},
    ) as started:
        yield started


def post(port: int, payload: bytes) -> bytes:
    """One POST over a raw socket; returns the whole response body (de-chunked enough for SSE text)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request_bytes(payload, close=True))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        out = b""
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            out += rest[:size]
            rest = rest[size + 2 :]
        return out
    return rest


def request_bytes(payload: bytes, *, close: bool) -> bytes:
    connection = "close" if close else "keep-alive"
    return (
        b"POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(payload)}\r\nConnection: {connection}\r\n\r\n".encode()
        + payload
    )


# -- measurements ----------------------------------------------------------------------------------


def wrk(port: int, payload: bytes, *, seconds: int, connections: int) -> dict[str, float]:
    """One wrk run POSTing `payload` to ``/v1/responses``."""
    return harness.wrk(
        port, "/v1/responses", harness.post_script(payload), seconds=seconds, connections=connections
    )


def in_rounds(loads: dict[str, tuple[int, bytes]], *, rounds: int, seconds: int) -> dict[str, dict[str, Any]]:
    """Each load (name -> port, body) measured `rounds` times, taking turns: A B C, A B C, ...

    See `harness.in_rounds`: a ratio is taken within each round, against the baseline's load of
    the same kind (``json_...`` against ``json_baseline``), and its median reported.
    """
    return harness.in_rounds(
        {
            name: functools.partial(_wrk_of_run, port, payload, connections=32)
            for name, (port, payload) in loads.items()
        },
        rounds=rounds,
        seconds=seconds,
        baseline_of=lambda name: f"{name.split('_', 1)[0]}_baseline",
    )


def _wrk_of_run(port: int, payload: bytes, *, seconds: int, connections: int) -> dict[str, float]:
    # `wrk` looked up when called, not when the loads are made, so that a test can replace it.
    return wrk(port, payload, seconds=seconds, connections=connections)


def first_event_seconds(port: int, payload: bytes, *, samples: int) -> float:
    """Median time from sending a streaming request to receiving its first SSE event."""
    timings: list[float] = []
    message = request_bytes(payload, close=True)
    for _ in range(samples):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            started = time.perf_counter()
            sock.sendall(message)
            received = b""
            while b"data:" not in received:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
            timings.append(time.perf_counter() - started)
            # Read to the end before the next sample, so that each one meets an idle server
            # rather than one still winding down the stream the previous sample walked away from.
            while b"[DONE]" not in received[-64:]:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
    return statistics.median(timings)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


async def open_streams(port: int, payload: bytes, count: int) -> list[asyncio.StreamWriter]:
    message = request_bytes(payload, close=False)
    writers: list[asyncio.StreamWriter] = []

    async def one() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writers.append(writer)
        writer.write(message)
        await writer.drain()
        received = b""
        while b"data:" not in received:
            chunk = await asyncio.wait_for(reader.read(65536), timeout=60)
            if not chunk:
                raise RuntimeError("stream closed early")
            received += chunk

    for start in range(0, count, 100):  # open in batches: the listen backlog is finite
        await asyncio.gather(*(one() for _ in range(min(100, count - start))))
    return writers


def memory_per_stream(port: int, pid: int, payload: bytes, *, count: int) -> float:
    """Bytes of server memory per open, idle stream."""

    async def measure() -> tuple[int, int]:
        # Warm up: the first streams import and allocate what every later stream shares.
        for writer in await open_streams(port, payload, 20):
            writer.close()
        await asyncio.sleep(1.0)
        before = rss_bytes(pid)
        writers = await open_streams(port, payload, count)
        await asyncio.sleep(1.0)
        after = rss_bytes(pid)
        for writer in writers:
            writer.close()
        return before, after

    before, after = asyncio.run(measure())
    return (after - before) / count


def history_costs(turns: int, samples: int) -> dict[str, float]:
    """Seconds to assemble the context of turn 1 and turn `turns` of a chain and of a conversation."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from benchmarks.apps import build_hosting  # noqa: F401  (checks the app still builds)

    from hosting.core import Host, SQLiteStore, agent, user_message
    from hosting.core.channels import ChannelRequest

    @agent
    async def instant(context: Any) -> Any:
        yield "ok"

    async def main() -> dict[str, float]:
        with tempfile.TemporaryDirectory() as directory:
            store = SQLiteStore(directory)
            host = Host(instant, channels=[_NoChannel()], store=store, retention_interval=0)
            await host.startup()
            engine = host.engine
            owner = "anonymous"
            first = await engine.run(ChannelRequest(channel="bench", input=(user_message("turn 1"),)))
            last = first
            for index in range(2, turns + 1):
                last = await engine.run(
                    ChannelRequest(
                        channel="bench",
                        input=(user_message(f"turn {index}"),),
                        previous_response_id=last.response_id,
                    )
                )
            short_conversation = await engine.conversation_for_session(owner, "short")
            long_conversation = await engine.conversation_for_session(owner, "long")
            await engine.run(
                ChannelRequest(
                    channel="bench", input=(user_message("x"),), conversation_id=short_conversation
                )
            )
            for index in range(turns):
                await engine.run(
                    ChannelRequest(
                        channel="bench", input=(user_message(f"t{index}"),), conversation_id=long_conversation
                    )
                )

            results = await harness.history_timings(
                store,
                owner,
                chain=(first.response_id, last.response_id),
                conversations=(short_conversation, long_conversation),
                turns=turns,
                samples=samples,
            )
            await host.shutdown()
            return results

    return asyncio.run(main())


class _NoChannel:
    name = "bench"

    def contribute(self, context: Any) -> Any:
        from hosting.core.channels import ChannelContribution

        return ChannelContribution()


# -- the run ---------------------------------------------------------------------------------------


def capture(directory: Path) -> None:
    """Capture the host's real answers, so the baseline serves the very same bytes."""
    with server("hosting", BENCH_STORE="memory") as (port, _):
        (directory / "response.json").write_bytes(post(port, body(store=False)))
        (directory / "stream.sse").write_bytes(post(port, body(store=False, stream=True)))


def sse_messages(stream: bytes) -> int:
    """The SSE messages in `stream`: each event, and the closing ``[DONE]`` (comments are none)."""
    return sum(1 for message in stream.split(b"\n\n") if b"data:" in message)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="shorter runs (for a smoke check)")
    parser.add_argument(
        "--json", default=str(ROOT / "bench-results" / "latest.json"), help="where to write JSON"
    )
    args = parser.parse_args()
    rounds = 2 if args.quick else 3
    seconds = 2 if args.quick else 4
    streams = 200 if args.quick else 1000
    samples = 50 if args.quick else 300
    turns = 100 if args.quick else 500
    ensure_wrk()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    os.sched_setaffinity(0, {int(CLIENT_CORE)}) if hasattr(os, "sched_setaffinity") and (
        os.cpu_count() or 1
    ) > 1 else None
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}

    with tempfile.TemporaryDirectory() as captured, tempfile.TemporaryDirectory() as data:
        capture(Path(captured))
        events_per_stream = sse_messages((Path(captured) / "stream.sse").read_bytes())
        results["events_per_stream"] = events_per_stream
        env = {"BENCH_CAPTURE_DIR": captured, "BENCH_DATA_DIR": data}
        cases = {
            "baseline": ("baseline", {}),
            "store_false": ("hosting", {"BENCH_STORE": "memory"}),
            "store_true_sqlite": ("hosting", {"BENCH_STORE": "sqlite"}),
            "telemetry": ("hosting", {"BENCH_STORE": "memory", "BENCH_TELEMETRY": "1"}),
        }
        with contextlib.ExitStack() as stack:
            # All the servers at once (idle ones cost nothing), measured in turns: see `in_rounds`.
            ports = {
                name: stack.enter_context(server(app, **env, **extra))[0]
                for name, (app, extra) in cases.items()
            }
            whole_false, deltas, streaming = (
                body(store=False, input=WHOLE),
                body(store=False),
                body(store=False, stream=True),
            )
            loads: dict[str, tuple[int, bytes]] = {
                "json_baseline": (ports["baseline"], whole_false),
                "json_store_false": (ports["store_false"], whole_false),
                "json_store_true_sqlite": (ports["store_true_sqlite"], body(store=True, input=WHOLE)),
                "json_store_false_32_deltas": (ports["store_false"], deltas),
                "json_store_false_telemetry": (ports["telemetry"], whole_false),
                "sse_baseline": (ports["baseline"], streaming),
                "sse_store_false": (ports["store_false"], streaming),
            }
            for port, payload in loads.values():  # warm up: caches, pools, the SQLite file
                post(port, payload)
                wrk(port, payload, seconds=1, connections=32)
            results.update(in_rounds(loads, rounds=rounds, seconds=seconds))
            for name in ("baseline", "store_false"):
                sse = results[f"sse_{name}"]
                sse["events_per_s"] = sse["rps"] * events_per_stream
                results[f"first_event_{name}_ms"] = 1000 * first_event_seconds(
                    ports[name], streaming, samples=samples
                )
        for name, app in (("baseline", "baseline"), ("store_false", "hosting")):
            with server(app, **env, BENCH_SLOW="1", BENCH_STORE="memory") as (port, pid):
                results[f"memory_per_stream_{name}_bytes"] = memory_per_stream(
                    port, pid, streaming, count=streams
                )
    results["history"] = history_costs(turns, samples)
    results["turns"] = turns
    report(results)
    harness.write_results(results, Path(args.json))


def report(results: dict[str, Any]) -> None:
    base_json = results["json_baseline"]
    base_sse = results["sse_baseline"]
    rows = [
        ("non-streaming, baseline", f"{base_json['rps']:.0f} req/s", f"p50 {base_json['p50_ms']:.2f} ms, p99 {base_json['p99_ms']:.2f} ms", "1.00", ""),
    ]  # fmt: skip
    for name, target in (("store_false", 0.6), ("store_true_sqlite", 0.35)):
        row = results[f"json_{name}"]
        value = row["ratio"]
        rows.append(
            (f"non-streaming, {name}", f"{row['rps']:.0f} req/s", f"p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms",
             f"{value:.2f}", f">= {target} {'ok' if value >= target else 'MISSED'}")
        )  # fmt: skip
    row = results["json_store_false_32_deltas"]
    rows.append(
        ("non-streaming, store_false, 32 deltas", f"{row['rps']:.0f} req/s",
         f"p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms", f"{row['ratio']:.2f}", "")
    )  # fmt: skip
    row = results["json_store_false_telemetry"]
    rows.append(
        ("non-streaming, store_false, tracer and meter on", f"{row['rps']:.0f} req/s",
         f"p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms", f"{row['ratio']:.2f}",
         f"telemetry off: {results['json_store_false']['ratio']:.2f}")
    )  # fmt: skip
    sse = results["sse_store_false"]
    value = sse["ratio"]
    rows.append(("SSE events/s, baseline", f"{base_sse['events_per_s']:.0f} ev/s", "", "1.00", ""))
    rows.append(
        (
            "SSE events/s, host",
            f"{sse['events_per_s']:.0f} ev/s",
            "",
            f"{value:.2f}",
            f">= 0.6 {'ok' if value >= 0.6 else 'MISSED'}",
        )
    )
    base_first, first = results["first_event_baseline_ms"], results["first_event_store_false_ms"]
    gap = first - base_first
    rows.append(("first event, baseline", f"{base_first:.3f} ms", "", "", ""))
    rows.append(
        (
            "first event, host",
            f"{first:.3f} ms",
            f"{gap:+.3f} ms",
            f"{ratio(first, base_first):.2f}",
            f"<= +0.1 ms {'ok' if gap <= 0.1 else 'MISSED'}",
        )
    )
    base_memory, memory = (
        results["memory_per_stream_baseline_bytes"],
        results["memory_per_stream_store_false_bytes"],
    )
    rows.append(("memory per idle stream, baseline", f"{base_memory / 1024:.1f} KiB", "", "", ""))
    rows.append(
        (
            "memory per idle stream, host",
            f"{memory / 1024:.1f} KiB",
            "",
            f"{ratio(memory, base_memory):.2f}",
            f"<= 40 KiB {'ok' if memory <= 40 * 1024 else 'MISSED'}",
        )
    )
    history = results["history"]
    turns = results["turns"]
    for kind in ("chain", "conversation"):
        one, many = history[f"{kind}_turn_1_s"], history[f"{kind}_turn_{turns}_s"]
        value = ratio(many, one)
        rows.append((f"history, {kind}, turn 1", f"{one * 1e6:.0f} us", "", "", ""))
        rows.append((f"history, {kind}, turn {turns}", f"{many * 1e6:.0f} us", "", f"{value:.2f}", f"<= 1.5 {'ok' if value <= 1.5 else 'MISSED'}"))  # fmt: skip
    widths = [max(len(str(row[index])) for row in rows) for index in range(5)]
    header = ("case", "value", "detail", "ratio", "target")
    widths = [max(width, len(title)) for width, title in zip(widths, header, strict=True)]
    for row in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
