"""A short answer over MCP, as a ratio to the same answer over the Responses API, in one run.

One host serves both channels (an agent that answers at once, a memory store). The benchmark opens
32 MCP sessions (``initialize``, then ``notifications/initialized``), one per wrk connection, as 32
clients would, then wrk sends, in turns, round after round (as `benchmarks.run.in_rounds` does):
``tools/call`` to the sessions in turn (each call with its own JSON-RPC id; the answer is an SSE
stream of one message, the SDK's default), and ``POST /v1/responses`` with ``store: true`` (an MCP
call is always stored, so the stored response is the fair comparison). The row is MCP's requests
per second over the Responses channel's, the median of the rounds' ratios.

Usage: python benchmarks/mcp_bench.py [--quick] [--json PATH]
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
PROTOCOL = "2025-11-25"
ACCEPT = "application/json, text/event-stream"
RESPONSES_BODY = {"model": "agent", "input": WHOLE, "store": True}
CALL_PARAMS = {"name": "agent", "arguments": {"input": WHOLE}}
SESSIONS = 32  # one per wrk connection, as 32 clients would have


def build_app() -> Any:
    """The host both loads go to (``uvicorn --factory benchmarks.mcp_bench:build_app``)."""
    from hosting.core import Host, Limits, MemoryStore, agent
    from hosting.mcp import MCPChannel
    from hosting.responses import ResponsesChannel

    @agent(name="agent")
    async def instant(context: Any) -> Any:
        yield "tok " * 32

    return Host(
        instant,
        channels=[ResponsesChannel(), MCPChannel()],
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
            sys.executable, "-m", "uvicorn", "--factory", "benchmarks.mcp_bench:build_app",
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
                raise SystemExit("the MCP benchmark server exited at start-up")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the MCP benchmark server did not start") from None
                time.sleep(0.05)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def jsonrpc_answer(response: Any) -> dict[str, Any]:
    """The JSON-RPC message of an answer, whether sent as JSON or as one SSE event."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in response.text.splitlines():
            if line.startswith("data:"):
                answer: dict[str, Any] = json.loads(line[5:])
                return answer
        raise SystemExit(f"an SSE answer without data: {response.text!r}")
    decoded: dict[str, Any] = response.json()
    return decoded


def open_sessions(port: int, count: int) -> list[str]:
    """Open `count` MCP sessions, check that a call answers in each, and return their ids."""
    import httpx

    url = f"http://127.0.0.1:{port}/mcp"
    initialize = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL,
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"},
        },
    }
    sessions: list[str] = []
    for _ in range(count):
        opened = httpx.post(url, json=initialize, headers={"accept": ACCEPT}, timeout=30)
        opened.raise_for_status()
        session = opened.headers["mcp-session-id"]
        headers = {"accept": ACCEPT, "mcp-session-id": session, "mcp-protocol-version": PROTOCOL}
        httpx.post(
            url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers, timeout=30
        )
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": CALL_PARAMS}
        answer = jsonrpc_answer(httpx.post(url, json=call, headers=headers, timeout=30))
        if "error" in answer or answer["result"].get("isError"):
            raise SystemExit(f"tools/call answered {answer}")
        sessions.append(session)
    response = httpx.post(f"http://127.0.0.1:{port}/v1/responses", json=RESPONSES_BODY, timeout=30).json()
    if response.get("status") != "completed":
        raise SystemExit(f"/v1/responses answered {response}")
    return sessions


def responses_script() -> str:
    """A wrk script that POSTs the Responses body."""
    return (
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(json.dumps(RESPONSES_BODY))}\n"
    )


def mcp_script(sessions: list[str]) -> str:
    """A wrk script that sends `tools/call`, each with a new id, to the sessions in turn."""
    body = json.dumps({"jsonrpc": "2.0", "id": 0, "method": "tools/call", "params": CALL_PARAMS})
    head, tail = body.split('"id": 0')
    return "\n".join(
        [
            f"sessions = {{{', '.join(json.dumps(session) for session in sessions)}}}",
            "counter = 0",
            "request = function()",
            "  counter = counter + 1",
            "  local headers = {}",
            '  headers["Content-Type"] = "application/json"',
            f'  headers["Accept"] = {json.dumps(ACCEPT)}',
            f'  headers["Mcp-Protocol-Version"] = {json.dumps(PROTOCOL)}',
            '  headers["Mcp-Session-Id"] = sessions[(counter % #sessions) + 1]',
            # A session tells the calls in flight apart by their JSON-RPC id: each needs its own.
            f"  local body = {json.dumps(head)} .. '\"id\": ' .. counter .. {json.dumps(tail)}",
            '  return wrk.format("POST", "/mcp", headers, body)',
            "end",
            "",
        ]
    )


def wrk(port: int, path: str, script_text: str, *, seconds: int) -> dict[str, float]:
    """One wrk run; fails on any error response."""
    handle, name = tempfile.mkstemp(suffix=".lua")
    os.close(handle)
    script = Path(name)
    try:
        script.write_text(script_text)
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


def measure(*, rounds: int, seconds: int) -> dict[str, Any]:
    """Both loads in turns; the MCP row with its ratio to the Responses channel's."""
    with server() as port:
        loads = {
            "responses": ("/v1/responses", responses_script()),
            "mcp": ("/mcp", mcp_script(open_sessions(port, SESSIONS))),
        }
        for path, script in loads.values():  # warm up
            wrk(port, path, script, seconds=1)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in loads}
        for _ in range(rounds):
            for name, (path, script) in loads.items():
                runs[name].append(wrk(port, path, script, seconds=seconds))
    results: dict[str, Any] = {}
    for name, measured in runs.items():
        results[name] = {
            key: statistics.median(run[key] for run in measured) for key in ("rps", "p50_ms", "p99_ms")
        }
    results["mcp"]["ratio"] = statistics.median(
        ratio(mcp["rps"], responses["rps"])
        for mcp, responses in zip(runs["mcp"], runs["responses"], strict=True)
    )
    return results


def report(results: dict[str, Any]) -> None:
    for name, label in (
        ("responses", "short answer, Responses (store)"),
        ("mcp", "short answer, MCP tools/call"),
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
