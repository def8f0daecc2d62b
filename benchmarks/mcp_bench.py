"""A short answer over MCP, as a ratio to the same answer over the Responses API, in one run.

One host serves both channels (an agent that answers at once, a memory store). The benchmark opens
32 MCP sessions (``initialize``, then ``notifications/initialized``), one per wrk connection, as 32
clients would, then wrk sends, in turns, round after round (as `benchmarks.harness.in_rounds` does):
``tools/call`` to the sessions in turn (each call with its own JSON-RPC id; the answer is an SSE
stream of one message, the SDK's default), and ``POST /v1/responses`` with ``store: true`` (an MCP
call is always stored, so the stored response is the fair comparison). The row is MCP's requests
per second over the Responses channel's, the median of the rounds' ratios.

Usage: python benchmarks/mcp_bench.py [--quick] [--json PATH]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402

WHOLE = "answer at once"
PROTOCOL = "2025-11-25"
ACCEPT = "application/json, text/event-stream"
RESPONSES_BODY = {"model": "agent", "input": WHOLE, "store": True}
CALL_PARAMS = {"name": "agent", "arguments": {"input": WHOLE}}
SESSIONS = 32  # one per wrk connection, as 32 clients would have


def build_app() -> Any:
    """The host both loads go to (``uvicorn --factory benchmarks.mcp_bench:build_app``)."""
    from hosting.mcp import MCPChannel

    return harness.instant_host(MCPChannel())


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
    return harness.post_script(json.dumps(RESPONSES_BODY).encode())


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


def measure(*, rounds: int, seconds: int) -> dict[str, Any]:
    """Both loads in turns; the MCP row with its ratio to the Responses channel's."""
    with harness.server("benchmarks.mcp_bench:build_app", label="the MCP benchmark server", factory=True) as (
        port,
        _,
    ):
        loads = {
            "responses": ("/v1/responses", responses_script()),
            "mcp": ("/mcp", mcp_script(open_sessions(port, SESSIONS))),
        }
        return harness.against(port, loads, baseline="responses", rounds=rounds, seconds=seconds)


def report(results: dict[str, Any]) -> None:
    harness.report_rows(
        results, (("responses", "short answer, Responses (store)"), ("mcp", "short answer, MCP tools/call"))
    )


if __name__ == "__main__":
    harness.compare_main(__doc__ or "", measure, report)
