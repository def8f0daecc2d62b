"""``hosting``: the version, uvicorn's options and UVICORN_* variables, refusals, logs and a clean stop."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import hosting.core

APP = """
from hosting.core import Host, MemoryStore, SQLiteStore
from hosting.core.channels import ChannelContribution


class Quiet:
    name = "quiet"

    def contribute(self, context):
        return ChannelContribution()


async def answer(context):
    return "hi"


host = Host(answer, channels=[Quiet()], store=MemoryStore(), shutdown_grace=3)
sqlite_host = Host(answer, channels=[Quiet()], store=SQLiteStore("data.db"))
"""


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(APP)
    return tmp_path


def _hosting(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("UVICORN_", "HOSTING_LOG"))
    }
    return subprocess.run(
        [sys.executable, "-m", "hosting.core._cli", *args],
        cwd=cwd,
        env={**environment, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_version_names_the_installed_packages(tmp_path: Path) -> None:
    result = _hosting("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert f"hosting-core {hosting.core.__version__}" in result.stdout
    assert "uvicorn " in result.stdout


def test_serve_lists_uvicorns_options(tmp_path: Path) -> None:
    result = _hosting("serve", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for option in (
        "--port",
        "--reload",
        "--workers",
        "--log-config",
        "--root-path",
        "--proxy-headers",
        "--uds",
    ):
        assert option in result.stdout, option
    assert "UVICORN_" in result.stdout


def test_several_workers_on_sqlite_are_refused_also_from_the_environment(app_dir: Path) -> None:
    by_option = _hosting("serve", "app:sqlite_host", "--workers", "2", cwd=app_dir)
    assert by_option.returncode == 2
    assert "SQLite" in by_option.stderr
    by_variable = _hosting("serve", "app:sqlite_host", cwd=app_dir, env={"UVICORN_WORKERS": "2"})
    assert by_variable.returncode == 2
    assert "SQLite" in by_variable.stderr
    assert not (app_dir / "data.db").exists()  # refused before anything opened the store


def test_wsgi_and_a_target_that_is_not_there_are_refused(app_dir: Path) -> None:
    wsgi = _hosting("serve", "app:host", "--interface", "wsgi", cwd=app_dir)
    assert wsgi.returncode == 2
    assert "ASGI" in wsgi.stderr
    missing = _hosting("serve", "app:nothing", cwd=app_dir)
    assert missing.returncode == 2
    assert "nothing" in missing.stderr


def _serve_until_healthy(app_dir: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("UVICORN_", "HOSTING_LOG"))
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "hosting.core._cli", "serve", "app:host", *args],
        cwd=app_dir,
        env={**environment, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process


def _wait_healthy(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {process.communicate()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("the server did not start")


def test_uvicorn_variables_pick_the_port_and_logs_are_json_by_configuration(app_dir: Path) -> None:
    port = _free_port()
    env = {"UVICORN_PORT": str(port), "UVICORN_HOST": "127.0.0.1", "HOSTING_LOG_FORMAT": "json"}
    process = _serve_until_healthy(app_dir, env, "--root-path", "/agents")
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", process)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0
    records = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert records, err
    for record in records:
        assert record["level"] in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
        assert record["logger"]
        assert record["time"].endswith("Z")
    loggers = {record["logger"] for record in records}
    assert {"uvicorn.error", "uvicorn.access", "hosting.core"} <= loggers
    access = next(record for record in records if record["logger"] == "uvicorn.access")
    assert "/healthz" in access["message"]
    assert not any(record["level"] == "ERROR" for record in records)
    assert "Traceback" not in err + out


def test_text_logs_name_the_logger_and_level(app_dir: Path) -> None:
    port = _free_port()
    process = _serve_until_healthy(app_dir, {}, "--port", str(port))
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", process)
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert any(" INFO    uvicorn.access [req_" in line and "/healthz" in line for line in lines), err
    assert any(" WARNING hosting.core [-] no authenticator configured" in line for line in lines), err
    assert "Traceback" not in err
