"""The MCP benchmark (`benchmarks/mcp_bench.py`): its app, its sessions, its wrk script (run for one
second against a real server, so a script that wrk rejects or that the server answers with errors
fails here), its ratio and its report."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from hosting.testing import serve

ROOT = Path(__file__).resolve().parent.parent


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "benchmarks_mcp_under_test", ROOT / "benchmarks" / "mcp_bench.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _load()


def test_the_sessions_are_distinct_and_each_answers_a_call() -> None:
    with serve(bench.build_app()) as url:
        port = int(url.rsplit(":", 1)[1])
        sessions = bench.open_sessions(port, 3)
        assert len(set(sessions)) == 3
        headers = {
            "accept": bench.ACCEPT,
            "mcp-session-id": sessions[2],
            "mcp-protocol-version": bench.PROTOCOL,
        }
        call = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": bench.CALL_PARAMS}
        answer = bench.jsonrpc_answer(httpx.post(f"{url}/mcp", json=call, headers=headers, timeout=30))
    assert answer["id"] == 9
    assert answer["result"]["content"] == [{"type": "text", "text": "tok " * 32}]


def test_the_script_numbers_each_call_and_spreads_them_over_the_sessions() -> None:
    script = bench.mcp_script(["s1", "s2"])
    assert 'sessions = {"s1", "s2"}' in script
    assert "sessions[(counter % #sessions) + 1]" in script
    body = re.search(r"local body = (.*)$", script, re.MULTILINE)
    assert body is not None
    # The Lua concatenation, done here for counter = 5.
    pieces = [json.loads(piece) if piece.startswith('"') else piece for piece in body.group(1).split(" .. ")]
    text = "".join("5" if piece == "counter" else piece.strip("'").replace('\\"', '"') for piece in pieces)
    assert json.loads(text) == {
        "jsonrpc": "2.0",
        "id": 5,
        "method": "tools/call",
        "params": bench.CALL_PARAMS,
    }


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_drives_both_loads_for_a_second_without_errors() -> None:
    with serve(bench.build_app()) as url:
        port = int(url.rsplit(":", 1)[1])
        mcp = bench.harness.wrk(port, "/mcp", bench.mcp_script(bench.open_sessions(port, 4)), seconds=1)
        responses = bench.harness.wrk(port, "/v1/responses", bench.responses_script(), seconds=1)
    for row in (mcp, responses):
        assert row["rps"] > 0
        assert row["p50_ms"] > 0


def test_the_report_shows_the_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    bench.report(
        {
            "responses": {"rps": 1000.0, "p50_ms": 1.0, "p99_ms": 2.0},
            "mcp": {"rps": 250.0, "p50_ms": 4.0, "p99_ms": 8.0, "ratio": 0.25},
        }
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("short answer, Responses (store)") and lines[0].endswith("1.00")
    assert lines[1].startswith("short answer, MCP tools/call") and lines[1].endswith("0.25")
