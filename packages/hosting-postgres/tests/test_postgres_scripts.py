"""The service scripts refuse what they must not do: stopping (and removing) a directory they did
not start a server in, and unknown commands. Starting and stopping is what every test session does."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[3] / "scripts"


def run(script: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPTS / script), *arguments],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("script", ["postgres.sh", "nginx.sh"])
def test_stop_refuses_a_directory_it_did_not_start(script: str, tmp_path: Path) -> None:
    keep = tmp_path / "keep.txt"
    keep.write_text("mine")
    result = run(script, "stop", str(tmp_path))
    assert result.returncode != 0
    assert "is not a directory this script started" in result.stderr
    assert keep.read_text() == "mine"
    assert run(script, "stop").returncode != 0  # no directory at all


@pytest.mark.parametrize("script", ["postgres.sh", "nginx.sh"])
def test_an_unknown_command_is_refused_with_the_usage(script: str) -> None:
    result = run(script, "restart")
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_nginx_needs_a_replica_to_balance() -> None:
    result = run("nginx.sh", "start")
    assert result.returncode != 0
    assert "HOST:PORT" in result.stderr
