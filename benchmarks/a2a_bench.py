"""A short answer over A2A, as a ratio to the same answer over the Responses API, in one run.

One host serves both channels (an agent that answers at once, a memory store). wrk sends, in
turns (see `benchmarks.run.in_rounds`), ``SendMessage`` to ``/a2a`` and ``POST /v1/responses`` with
``store: true`` (an A2A task is always stored, so the stored response is the fair comparison). The
row is A2A's requests per second over the Responses channel's, the median of the rounds' ratios.

Usage: python benchmarks/a2a_bench.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
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

from benchmarks.run import CLIENT_CORE, SERVER_CORE, ensure_wrk, free_port, latency, pinned, ratio  # noqa: E402

WHOLE = "answer at once"
RESPONSES = ("/v1/responses", {"model": "agent", "input": WHOLE, "store": True}, {})
A2A = (
    "/a2a",
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "SendMessage",
        "params": {"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": WHOLE}]}},
    },
    {"A2A-Version": "1.0"},
)


def build_app() -> Any:
    """The host both loads go to (``uvicorn --factory benchmarks.a2a_bench:build_app``)."""
    from hosting.a2a import A2AChannel
    from hosting.core import Host, Limits, MemoryStore, agent
    from hosting.responses import ResponsesChannel

    @agent(name="agent")
    async def instant(context: Any) -> Any:
        yield "tok " * 32

    return Host(
        instant,
        channels=[ResponsesChannel(), A2AChannel()],
        store=MemoryStore(),
        retention_interval=0,
        limits=Limits(max_concurrent_runs_per_user=1_000_000),
    )


@contextmanager
def server() -> Iterator[int]:
    port = free_port()
    command = pinned(
        SERVER_CORE,
        [
            sys.executable, "-m", "uvicorn", "--factory", "benchmarks.a2a_bench:build_app",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
            "--loop", "uvloop", "--http", "httptools",
        ],
    )  # fmt: skip
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise SystemExit("the A2A benchmark server exited at start-up")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the A2A benchmark server did not start") from None
                time.sleep(0.05)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wrk(port: int, load: tuple[str, dict[str, Any], dict[str, str]], *, seconds: int) -> dict[str, float]:
    """One wrk run of `load` (path, JSON body, headers); fails on any error response."""
    path, payload, headers = load
    handle, name = tempfile.mkstemp(suffix=".lua")
    os.close(handle)
    script = Path(name)
    try:
        lines = ['wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"']
        lines += [f"wrk.headers[{json.dumps(key)}] = {json.dumps(value)}" for key, value in headers.items()]
        lines.append(f"wrk.body = {json.dumps(json.dumps(payload))}")
        script.write_text("\n".join(lines) + "\n")
        command = pinned(
            CLIENT_CORE,
            [ensure_wrk(), "-t1", "-c32", f"-d{seconds}s", "--latency", "-s", str(script),
             f"http://127.0.0.1:{port}{path}"],
        )  # fmt: skip
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        script.unlink(missing_ok=True)
    if "Non-2xx or 3xx responses" in output:
        raise SystemExit(f"wrk saw error responses:\n{output}")
    rps = float(output.split("Requests/sec:")[1].split()[0])
    return {"rps": rps, "p50_ms": latency(output, "50%"), "p99_ms": latency(output, "99%")}


def check(port: int) -> None:
    """Both loads answer what they should (an A2A error is an HTTP 200, which wrk cannot tell)."""
    import httpx

    for path, payload, headers in (RESPONSES, A2A):
        answer = httpx.post(
            f"http://127.0.0.1:{port}{path}", json=payload, headers=headers, timeout=30
        ).json()
        if answer.get("error") or answer.get("status", "completed") != "completed":
            raise SystemExit(f"{path} answered {answer}")
        if path == "/a2a" and answer["result"]["task"]["status"]["state"] != "TASK_STATE_COMPLETED":
            raise SystemExit(f"{path} answered {answer}")


def measure(*, rounds: int, seconds: int) -> dict[str, Any]:
    """Both loads in turns; the A2A row with its ratio to the Responses channel's."""
    with server() as port:
        check(port)
        for load in (RESPONSES, A2A):  # warm up
            wrk(port, load, seconds=1)
        runs: dict[str, list[dict[str, float]]] = {"responses": [], "a2a": []}
        for _ in range(rounds):
            runs["responses"].append(wrk(port, RESPONSES, seconds=seconds))
            runs["a2a"].append(wrk(port, A2A, seconds=seconds))
    results: dict[str, Any] = {}
    for name, measured in runs.items():
        results[name] = {
            key: statistics.median(run[key] for run in measured) for key in ("rps", "p50_ms", "p99_ms")
        }
    results["a2a"]["ratio"] = statistics.median(
        ratio(a2a["rps"], responses["rps"])
        for a2a, responses in zip(runs["a2a"], runs["responses"], strict=True)
    )
    return results


def report(results: dict[str, Any]) -> None:
    for name, label in (
        ("responses", "short answer, Responses (store)"),
        ("a2a", "short answer, A2A SendMessage"),
    ):
        row = results[name]
        detail = f"p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms"
        print(f"{label:34} {row['rps']:8.0f} req/s  {detail:32} {row.get('ratio', 1.0):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="shorter runs (for a smoke check)")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    ensure_wrk()
    results = measure(rounds=2 if args.quick else 3, seconds=2 if args.quick else 4)
    report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
