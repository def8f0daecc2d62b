"""Real processes: `host.serve()` and the `hosting serve` CLI answer, then stop cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

APPS = Path(__file__).parent / "apps"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(base_url: str, process: subprocess.Popen[str], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early: {process.communicate()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError("server did not become healthy in time")


def run_until_sigterm(command: list[str], port: int) -> str:
    env = {**os.environ, "PYTHONPATH": str(APPS)}
    process = subprocess.Popen(
        command, cwd=APPS, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_healthy(base_url, process)
        answer = httpx.post(f"{base_url}/invoke", json={"text": "over a socket"}, timeout=10)
        assert answer.json() == {"text": "over a socket"}
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    # uvicorn re-raises the signal once shutdown is complete, so a clean stop may exit -SIGTERM.
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    return output


def test_host_serve_runs_uvicorn_and_stops_on_sigterm() -> None:
    port = free_port()
    output = run_until_sigterm([sys.executable, "echo_app.py", str(port)], port)
    assert "shutdown callbacks ran" in output


def test_hosting_serve_cli() -> None:
    port = free_port()
    command = [sys.executable, "-m", "hosting.core._cli", "serve", "echo_app:host", "--port", str(port)]
    output = run_until_sigterm(command, port)
    assert "shutdown callbacks ran" in output
