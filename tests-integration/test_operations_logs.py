"""The logging file of docs/operations.md works with plain uvicorn: JSON lines with logger, level and request id."""

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

DOC = Path(__file__).resolve().parents[1] / "docs" / "operations.md"
APP = """
from hosting.core import Host, MemoryStore
from hosting.core.channels import ChannelContribution


class Quiet:
    name = "quiet"

    def contribute(self, context):
        return ChannelContribution()


async def answer(context):
    return "hi"


host = Host(answer, channels=[Quiet()], store=MemoryStore())
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_uvicorn_with_the_documented_log_config_writes_json(tmp_path: Path) -> None:
    config = DOC.read_text().split("--log-config\nlogging.json`:\n\n```json\n", 1)[1].split("```", 1)[0]
    (tmp_path / "logging.json").write_text(config)
    (tmp_path / "app.py").write_text(APP)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app:host", "--port", str(port), "--log-config", "logging.json"],
        cwd=tmp_path,
        env={
            key: value for key, value in os.environ.items() if not key.startswith(("UVICORN_", "HOSTING_LOG"))
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/healthz", headers={"x-request-id": "probe-1"}, timeout=1
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None, "uvicorn did not start"
                time.sleep(0.05)
        assert response.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    records = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert {record["logger"] for record in records} >= {"uvicorn.error", "uvicorn.access", "hosting.core"}
    assert all(record["level"] and record["time"] for record in records)
    (access,) = [record for record in records if record["logger"] == "uvicorn.access"]
    assert access["request_id"] == "probe-1"
    assert "color_message" not in json.dumps(records)
