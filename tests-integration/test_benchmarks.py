"""The benchmark harness (`benchmarks/run.py`, `benchmarks/apps.py`): its arithmetic, its report,
the apps it compares, and one bounded pass over its real server path.

`benchmarks/` is not a package: both files are loaded from their paths, and `apps.py` afresh for
each configuration, since it builds its app at import from the environment.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
HEADERS = {"Content-Type": "application/json"}
DELTA = "response.output_text.delta"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run = _load("benchmarks_run_under_test", BENCHMARKS / "run.py")

STORE_FALSE = run.body(store=False)
WHOLE_STORE_FALSE = run.body(store=False, input=run.WHOLE)
STREAMING = run.body(store=False, stream=True)


@pytest.fixture(autouse=True)
def no_bench_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The apps and servers see only the BENCH_ variables a test sets."""
    for name in ("BENCH_APP", "BENCH_STORE", "BENCH_CAPTURE_DIR", "BENCH_DATA_DIR", "BENCH_SLOW"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def load_apps(monkeypatch: pytest.MonkeyPatch) -> Callable[..., ModuleType]:
    """``load_apps(BENCH_APP=..., ...)``: `benchmarks/apps.py` imported afresh under that environment."""
    loaded = 0

    def load(**environment: str) -> ModuleType:
        nonlocal loaded
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        loaded += 1
        return _load(f"benchmarks_apps_under_test_{loaded}", BENCHMARKS / "apps.py")

    return load


@pytest.fixture
def isolated_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`history_costs` puts ROOT on sys.path and imports `benchmarks.apps`; undo both afterwards."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name == "benchmarks" or name.startswith("benchmarks."):
            del sys.modules[name]


# -- in_rounds -------------------------------------------------------------------------------------

# Per load: each round's (rps, p50_ms, p99_ms). The host's rps over the baseline's, round by round:
# json 0.9, 0.5, 0.8 (median 0.8, where the ratio of the medians is 100 / 200 = 0.5);
# sse 0.6, 1.2, 0.9 (median 0.9; against json_baseline it would be 6).
SCRIPT: dict[str, tuple[int, list[tuple[float, float, float]]]] = {
    "json_baseline": (8001, [(100.0, 1.0, 9.0), (200.0, 3.0, 7.0), (300.0, 2.0, 8.0)]),
    "json_store_false": (8002, [(90.0, 5.0, 50.0), (100.0, 4.0, 40.0), (240.0, 6.0, 60.0)]),
    "sse_baseline": (8003, [(10.0, 1.5, 2.5), (10.0, 1.5, 2.5), (10.0, 1.5, 2.5)]),
    "sse_store_false": (8004, [(6.0, 2.0, 3.0), (12.0, 2.0, 3.0), (9.0, 2.0, 3.0)]),
}


@pytest.fixture
def scripted_rounds(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[dict[str, dict[str, Any]], list[tuple[Any, ...]]]:
    """`in_rounds` over SCRIPT for three rounds of 4 s, with `wrk` faked: its results and wrk's calls."""
    names = {port: name for name, (port, _) in SCRIPT.items()}
    calls: list[tuple[Any, ...]] = []

    def fake_wrk(port: int, payload: bytes, *, seconds: int, connections: int) -> dict[str, float]:
        name = names[port]
        calls.append((name, payload, seconds, connections))
        round_index = sum(1 for call in calls if call[0] == name) - 1
        rps, p50, p99 = SCRIPT[name][1][round_index]
        return {"rps": rps, "p50_ms": p50, "p99_ms": p99}

    monkeypatch.setattr(run, "wrk", fake_wrk)
    loads = {name: (port, name.encode()) for name, (port, _) in SCRIPT.items()}
    return run.in_rounds(loads, rounds=3, seconds=4), calls


def test_in_rounds_has_the_loads_take_turns_round_after_round(
    scripted_rounds: tuple[dict[str, dict[str, Any]], list[tuple[Any, ...]]],
) -> None:
    _, calls = scripted_rounds
    one_round = [(name, name.encode(), 4, 32) for name in SCRIPT]
    assert calls == one_round * 3


def test_in_rounds_reports_the_median_of_the_rounds_and_every_rounds_throughput(
    scripted_rounds: tuple[dict[str, dict[str, Any]], list[tuple[Any, ...]]],
) -> None:
    results, _ = scripted_rounds
    assert set(results) == set(SCRIPT)
    assert {key: results["json_baseline"][key] for key in ("rps", "p50_ms", "p99_ms", "rounds")} == {
        "rps": 200.0,
        "p50_ms": 2.0,
        "p99_ms": 8.0,
        "rounds": [100.0, 200.0, 300.0],
    }
    assert {key: results["json_store_false"][key] for key in ("rps", "p50_ms", "p99_ms", "rounds")} == {
        "rps": 100.0,
        "p50_ms": 5.0,
        "p99_ms": 50.0,
        "rounds": [90.0, 100.0, 240.0],
    }
    assert results["sse_store_false"]["rounds"] == [6.0, 12.0, 9.0]


def test_in_rounds_ratio_is_the_median_of_per_round_ratios_against_the_baseline_of_the_same_kind(
    scripted_rounds: tuple[dict[str, dict[str, Any]], list[tuple[Any, ...]]],
) -> None:
    results, _ = scripted_rounds
    ratios = {name: row["ratio"] for name, row in results.items()}
    assert ratios == pytest.approx(
        {"json_baseline": 1.0, "json_store_false": 0.8, "sse_baseline": 1.0, "sse_store_false": 0.9}
    )
    ratio_of_medians = results["json_store_false"]["rps"] / results["json_baseline"]["rps"]
    assert ratio_of_medians == pytest.approx(0.5)


# -- latency ---------------------------------------------------------------------------------------

WRK_OUTPUT = """\
Running 4s test @ http://127.0.0.1:8000/v1/responses
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.58ms  612.00us  21.00ms   91.00%
    Req/Sec    11.9k   400.00    12.50k    70.00%
  Latency Distribution
     50%  412.00us
     75%    2.58ms
     90%    3.10ms
     99%    1.25s
  47556 requests in 4.00s, 60.00MB read
Requests/sec:  11889.00
Transfer/sec:     15.00MB
"""


def test_latency_reads_wrk_percentiles_in_milliseconds_whatever_unit_wrk_printed() -> None:
    assert run.harness.latency(WRK_OUTPUT, "50%") == pytest.approx(0.412)
    assert run.harness.latency(WRK_OUTPUT, "75%") == pytest.approx(2.58)
    assert run.harness.latency(WRK_OUTPUT, "99%") == pytest.approx(1250.0)


def test_latency_is_nan_when_wrk_printed_no_such_percentile() -> None:
    without_distribution = WRK_OUTPUT.split("  Latency Distribution")[0]
    assert math.isnan(run.harness.latency(without_distribution, "50%"))
    assert math.isnan(run.harness.latency(WRK_OUTPUT, "99.9%"))


# -- report ----------------------------------------------------------------------------------------

TARGET_ROWS = {
    "non-streaming, store_false",
    "non-streaming, store_true_sqlite",
    "SSE events/s, host",
    "first event, host",
    "memory per idle stream, host",
    "history, chain, turn 5",
    "history, conversation, turn 5",
}


def _results(
    *,
    store_false: float,
    sqlite: float,
    sse: float,
    first_event_ms: float,
    memory_bytes: float,
    history: float,
) -> dict[str, Any]:
    """A results dict shaped like the one `main()` builds; targets are binary-exact at their bounds."""
    figures = {"rps": 1000.0, "p50_ms": 1.0, "p99_ms": 2.0}
    one = 2.0**-16
    return {
        "machine": {"cpus": 2, "python": "3.11.7"},
        "events_per_stream": 41,
        "json_baseline": {**figures, "rounds": [1000.0], "ratio": 1.0},
        "json_store_false": {**figures, "rounds": [1000.0], "ratio": store_false},
        "json_store_true_sqlite": {**figures, "rounds": [1000.0], "ratio": sqlite},
        "json_store_false_32_deltas": {**figures, "rounds": [1000.0], "ratio": 0.5},
        "json_store_false_telemetry": {**figures, "rounds": [1000.0], "ratio": 0.5},
        "sse_baseline": {**figures, "rounds": [1000.0], "ratio": 1.0, "events_per_s": 41000.0},
        "sse_store_false": {**figures, "rounds": [1000.0], "ratio": sse, "events_per_s": 41000.0 * sse},
        "first_event_baseline_ms": 0.25,
        "first_event_store_false_ms": first_event_ms,
        "memory_per_stream_baseline_bytes": 20.0 * 1024,
        "memory_per_stream_store_false_bytes": memory_bytes,
        "history": {
            "chain_turn_1_s": one,
            "chain_turn_5_s": one * history,
            "conversation_turn_1_s": one,
            "conversation_turn_5_s": one * history,
        },
        "turns": 5,
    }


def _verdicts(printed: str) -> dict[str, str]:
    verdicts = {}
    for line in printed.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        last = cells[-1].split()[-1]
        if last in ("ok", "MISSED"):
            verdicts[cells[0]] = last
    return verdicts


def test_report_says_ok_for_every_target_met_even_at_its_bound(capsys: pytest.CaptureFixture[str]) -> None:
    run.report(
        _results(
            store_false=0.6, sqlite=0.35, sse=0.6, first_event_ms=0.34375, memory_bytes=40 * 1024, history=1.5
        )
    )
    printed = capsys.readouterr().out
    assert _verdicts(printed) == dict.fromkeys(TARGET_ROWS, "ok")
    assert "+0.094 ms" in printed


def test_report_says_missed_for_every_target_missed(capsys: pytest.CaptureFixture[str]) -> None:
    run.report(
        _results(
            store_false=0.59,
            sqlite=0.34,
            sse=0.59,
            first_event_ms=0.375,
            memory_bytes=40 * 1024 + 1,
            history=1.75,
        )
    )
    assert _verdicts(capsys.readouterr().out) == dict.fromkeys(TARGET_ROWS, "MISSED")


# -- the apps, in process --------------------------------------------------------------------------


def _events(stream: bytes) -> list[tuple[str | None, str]]:
    """(event name or None, data) for each SSE message of `stream`."""
    events: list[tuple[str | None, str]] = []
    for block in stream.decode().split("\n\n"):
        lines = block.splitlines()
        name = next((line.removeprefix("event: ") for line in lines if line.startswith("event: ")), None)
        data = next((line.removeprefix("data: ") for line in lines if line.startswith("data: ")), None)
        if data is not None:
            events.append((name, data))
    return events


def _output_text(response: dict[str, Any]) -> str:
    return "".join(
        part["text"] for item in response["output"] if item["type"] == "message" for part in item["content"]
    )


async def _post_all(app: Any, payloads: list[bytes]) -> list[bytes]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench.test") as client:
        answers = []
        for payload in payloads:
            response = await client.post("/v1/responses", content=payload, headers=HEADERS)
            assert response.status_code == 200, response.text
            answers.append(response.content)
        return answers


async def _hosting_answers(
    load_apps: Callable[..., ModuleType], payloads: list[bytes]
) -> tuple[ModuleType, list[bytes]]:
    apps = load_apps(BENCH_APP="hosting", BENCH_STORE="memory")
    async with apps.app.lifespan():
        return apps, await _post_all(apps.app, payloads)


async def test_the_hosting_app_answers_the_same_text_whole_and_in_32_streamed_deltas(
    load_apps: Callable[..., ModuleType],
) -> None:
    apps, (whole, in_deltas, streamed) = await _hosting_answers(
        load_apps, [WHOLE_STORE_FALSE, STORE_FALSE, STREAMING]
    )
    for answer in (whole, in_deltas):
        response = json.loads(answer)
        assert (response["status"], _output_text(response)) == ("completed", apps.ANSWER)
    events = _events(streamed)
    deltas = [json.loads(data)["delta"] for name, data in events if name == DELTA]
    assert len(deltas) == 32
    assert "".join(deltas) == apps.ANSWER
    completed = [json.loads(data)["response"] for name, data in events if name == "response.completed"]
    assert [(done["status"], _output_text(done)) for done in completed] == [("completed", apps.ANSWER)]
    assert events[-1] == (None, "[DONE]")


async def test_the_baseline_app_serves_the_very_bytes_captured_from_the_hosting_app(
    load_apps: Callable[..., ModuleType], tmp_path: Path
) -> None:
    _, (whole, streamed) = await _hosting_answers(load_apps, [WHOLE_STORE_FALSE, STREAMING])
    (tmp_path / "response.json").write_bytes(whole)
    (tmp_path / "stream.sse").write_bytes(streamed)
    baseline = load_apps(BENCH_APP="baseline", BENCH_CAPTURE_DIR=str(tmp_path))
    assert await _post_all(baseline.app, [WHOLE_STORE_FALSE, STREAMING, STORE_FALSE]) == [
        whole,
        streamed,
        whole,
    ]


# -- history ---------------------------------------------------------------------------------------


def test_history_costs_times_the_first_and_last_turn_of_a_chain_and_a_conversation_and_leaves_no_files(
    isolated_imports: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    costs = run.history_costs(turns=5, samples=3)
    assert set(costs) == {
        "chain_turn_1_s",
        "chain_turn_5_s",
        "conversation_turn_1_s",
        "conversation_turn_5_s",
    }
    assert all(isinstance(seconds, float) and seconds > 0 for seconds in costs.values()), costs
    assert list(scratch.iterdir()) == []


# -- the real server path --------------------------------------------------------------------------


def test_a_baseline_server_serves_its_capture_over_a_socket_and_is_gone_after_its_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    captured = tmp_path / "captured"
    captured.mkdir()
    whole = b'{"id":"resp_smoke","object":"response","status":"completed"}'
    streamed = (
        b'event: response.created\ndata: {"type":"response.created"}\n\n'
        b'event: response.completed\ndata: {"type":"response.completed"}\n\n'
        b"data: [DONE]\n\n"
    )
    (captured / "response.json").write_bytes(whole)
    (captured / "stream.sse").write_bytes(streamed)
    monkeypatch.setattr(run, "LOG_DIR", tmp_path)
    with run.server("baseline", BENCH_CAPTURE_DIR=str(captured)) as (port, pid):
        assert Path(f"/proc/{pid}").exists()
        assert run.post(port, WHOLE_STORE_FALSE) == whole
        assert run.post(port, STREAMING) == streamed
        first_event = run.first_event_seconds(port, STREAMING, samples=3)
        assert isinstance(first_event, float) and first_event > 0
    assert not Path(f"/proc/{pid}").exists()


def test_sse_messages_counts_each_event_and_done_but_not_comments() -> None:
    stream = (
        b"event: response.created\ndata: {}\n\n"
        b": ping\n\n"
        b"event: response.output_text.delta\ndata: {}\n\n"
        b"data: [DONE]\n\n"
    )
    assert run.sse_messages(stream) == 3
