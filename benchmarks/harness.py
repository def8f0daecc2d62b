"""What every benchmark script shares: wrk, a uvicorn server pinned to its core, rounds and ratios.

The servers run on core 0 (`SERVER_CORE`); wrk and the probes on core 1 (`CLIENT_CORE`). The loads
compared take turns, round after round (`in_rounds`), and each is reported as a ratio to a baseline
measured in the same rounds: absolute numbers move with the machine, ratios within one round do not
(much).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SERVER_CORE = "0"
CLIENT_CORE = "1"
LOG_DIR = ROOT / "bench-results" / "logs"
FIGURES = ("rps", "p50_ms", "p99_ms")

# -- tools -----------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk from Debian's packages ...", flush=True)
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*prefix, "apt-get", "update", "-qq"], check=False, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        [*prefix, "apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env, stdout=subprocess.DEVNULL
    )
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk could not be installed")
    return found


def pinned(core: str, command: list[str]) -> list[str]:
    many = shutil.which("taskset") and (os.cpu_count() or 1) > 1
    return ["taskset", "-c", core, *command] if many else command


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline else float("nan")


# -- servers ---------------------------------------------------------------------------------------


@contextmanager
def server(
    target: str,
    *,
    label: str,
    factory: bool = False,
    log: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[int, int]]:
    """Run ``uvicorn target`` on core 0 until it accepts connections; yield (port, pid).

    Args:
        target: the app, ``module:name`` (with `factory`, a function that builds it).
        label: how the errors name the server.
        factory: whether `target` is a factory (``uvicorn --factory``).
        log: the file for the server's output, ``{port}`` in its name standing for the port;
            without one, its output is dropped and its errors go to this process's stderr.
        env: variables added to this process's environment for the server.
    """
    port = free_port()
    command = pinned(
        SERVER_CORE,
        [
            sys.executable, "-m", "uvicorn", *(["--factory"] if factory else []), target,
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
            "--loop", "uvloop", "--http", "httptools",
        ],
    )  # fmt: skip
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    output = log.with_name(log.name.format(port=port)).open("w") if log else None
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=environment,
        stdout=output or subprocess.DEVNULL,
        stderr=subprocess.STDOUT if output else None,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{label} exited at start-up" + (f" (see {output.name})" if output else ""))
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{label} did not start") from None
                time.sleep(0.05)
        yield port, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if output:
            output.close()


# -- measurements ----------------------------------------------------------------------------------


def post_script(payload: bytes, headers: dict[str, str] | None = None) -> str:
    """A wrk script that POSTs the JSON `payload`, with `headers` besides its Content-Type."""
    lines = ['wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"']
    lines += [
        f"wrk.headers[{json.dumps(key)}] = {json.dumps(value)}" for key, value in (headers or {}).items()
    ]
    lines.append(f"wrk.body = {json.dumps(payload.decode())}")
    return "\n".join(lines) + "\n"


def wrk(port: int, path: str, script_text: str, *, seconds: int, connections: int = 32) -> dict[str, float]:
    """One wrk run of the Lua `script_text` against `path`; fails on any error response."""
    handle, name = tempfile.mkstemp(suffix=".lua")
    os.close(handle)
    script = Path(name)
    try:
        script.write_text(script_text)
        command = pinned(
            CLIENT_CORE,
            [ensure_wrk(), "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
             f"http://127.0.0.1:{port}{path}"],
        )  # fmt: skip
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        script.unlink(missing_ok=True)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise SystemExit(f"wrk saw {errors.group(1)} error responses:\n{output}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    return {"rps": rps, "p50_ms": latency(output, "50%"), "p99_ms": latency(output, "99%")}


def latency(output: str, percentile: str) -> float:
    """A percentile of wrk's latency distribution, in milliseconds whatever unit wrk printed."""
    match = re.search(rf"^\s+{re.escape(percentile)}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if match is None:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def in_rounds(
    loads: dict[str, Callable[..., dict[str, float]]],
    *,
    rounds: int,
    seconds: int,
    baseline_of: Callable[[str], str],
) -> dict[str, dict[str, Any]]:
    """Each load (name -> a run of it, called with ``seconds=``) measured `rounds` times, taking turns.

    A machine's speed drifts (other tenants, frequency): measured one after the other, two
    servers would each meet a different machine. Taking turns, A B C, A B C, ..., every round
    meets all of them at about the same moment, so a ratio is taken within each round (against
    the load `baseline_of` names) and its median reported. Throughput and latency are the medians
    of the rounds; ``rounds`` keeps each round's throughput.
    """
    measured: dict[str, list[dict[str, float]]] = {name: [] for name in loads}
    for _ in range(rounds):
        for name, load in loads.items():
            measured[name].append(load(seconds=seconds))
    results: dict[str, dict[str, Any]] = {}
    for name, runs in measured.items():
        results[name] = {key: statistics.median(run[key] for run in runs) for key in FIGURES}
        results[name]["rounds"] = [run["rps"] for run in runs]
    for name, row in results.items():
        baseline = results[baseline_of(name)]["rounds"]
        row["ratio"] = statistics.median(
            ratio(value, base) for value, base in zip(row["rounds"], baseline, strict=True)
        )
    return results


def against(
    port: int, loads: dict[str, tuple[str, str]], *, baseline: str, rounds: int, seconds: int
) -> dict[str, dict[str, Any]]:
    """Loads (name -> path, wrk script) on one server, warmed up, then `in_rounds` against `baseline`."""
    for path, script in loads.values():  # warm up
        wrk(port, path, script, seconds=1)
    return in_rounds(
        {name: functools.partial(wrk, port, path, script) for name, (path, script) in loads.items()},
        rounds=rounds,
        seconds=seconds,
        baseline_of=lambda _: baseline,
    )


async def median_seconds(call: Callable[[], Awaitable[Any]], samples: int) -> float:
    """The median time `call` takes, over `samples` calls."""
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        await call()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


async def history_timings(
    store: Any,
    owner: str,
    *,
    chain: tuple[str, str],
    conversations: tuple[str, str],
    turns: int,
    samples: int,
) -> dict[str, float]:
    """Seconds to read the context of turn 1 and of turn `turns` of a chain and of a conversation.

    Args:
        store: the store read.
        owner: whose responses and conversations they are.
        chain: the ids of the first response of a chain and of its response number `turns`.
        conversations: the ids of a conversation of one turn and of one of `turns` turns.
        turns: the length of the long ones.
        samples: how many reads each median is of.
    """
    first, last = chain
    short, long = conversations
    return {
        "chain_turn_1_s": await median_seconds(lambda: store.get_history(owner, first), samples),
        f"chain_turn_{turns}_s": await median_seconds(lambda: store.get_history(owner, last), samples),
        "conversation_turn_1_s": await median_seconds(
            lambda: store.list_conversation_items(owner, short), samples
        ),
        f"conversation_turn_{turns}_s": await median_seconds(
            lambda: store.list_conversation_items(owner, long), samples
        ),
    }


def write_results(results: dict[str, Any], path: Path) -> None:
    """Write the figures to `path` as JSON, and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2))
    print(f"\nJSON written to {path}")


# -- a channel against the Responses channel -------------------------------------------------------


def instant_host(channel: Any) -> Any:
    """A host with the Responses channel and `channel`, an agent that answers at once, a memory store."""
    from hosting.core import Host, Limits, MemoryStore, agent
    from hosting.responses import ResponsesChannel

    @agent(name="agent")
    async def instant(context: Any) -> Any:
        yield "tok " * 32

    return Host(
        instant,
        channels=[ResponsesChannel(), channel],
        store=MemoryStore(),
        retention_interval=0,
        limits=Limits(max_concurrent_runs_per_user=1_000_000),
    )


def report_rows(results: dict[str, Any], rows: tuple[tuple[str, str], ...]) -> None:
    """One line for each (name, label) of `rows`: throughput, latency and ratio."""
    for name, label in rows:
        row = results[name]
        detail = f"p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms"
        print(f"{label:34} {row['rps']:8.0f} req/s  {detail:32} {row.get('ratio', 1.0):.2f}")


def compare_main(
    description: str,
    measure: Callable[..., dict[str, Any]],
    report: Callable[[dict[str, Any]], None],
) -> None:
    """The command line of a comparison: ``[--quick] [--json PATH]``; measures, reports, writes."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="shorter runs (for a smoke check)")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    ensure_wrk()
    results = measure(rounds=2 if args.quick else 3, seconds=2 if args.quick else 4)
    report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
