"""`make serve` from a fresh clone: a light install, a banner that tells the truth, and a quiet stop.

The clone installs only what serving needs (no development tools), reusing the machine's uv cache
(and this checkout's uv, so nothing is fetched twice). Ctrl-C typed in a terminal (a pseudo-terminal
here) stops the server gracefully and everything exits 0. Without a terminal, SIGINT to the whole
process group and SIGTERM to make alone (as a supervisor sends it) stop it as gracefully, with no
traceback and no make error line; GNU make, which got the signal itself, then ends by it once its
child has ended, as it always does.
"""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT = 240.0


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("make") is None or shutil.which("git") is None:
        pytest.skip("needs make and git")
    target = tmp_path_factory.mktemp("fresh") / "hosting"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(target)], check=True, timeout=120)
    return target


def _environment() -> dict[str, str]:
    drop = (
        "OPENAI_",
        "TELEGRAM_",
        "HOSTING_",
        "UVICORN_",
        "OTEL_",
        "VIRTUAL_ENV",
        "UV_PROJECT_ENVIRONMENT",
        "MAKEFLAGS",
        "MFLAGS",
    )
    return {key: value for key, value in os.environ.items() if not key.startswith(drop)}


def _make_serve(clone: Path) -> tuple[subprocess.Popen[str], list[str]]:
    """Start `make serve` on a free port; return the process once the banner is out, and the banner."""
    command = ["make", "--no-print-directory", "serve", "PORT=0"]
    uv = REPO / ".tools" / "bin" / "uv"
    if uv.exists():
        command.append(f"UV={uv}")
    process = subprocess.Popen(
        command,
        cwd=clone,
        env=_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, like a job in a terminal
    )
    assert process.stdout is not None
    banner: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT
    for line in process.stdout:
        banner.append(line.rstrip("\n"))
        if line.startswith("Stop with Ctrl-C"):
            break
        if time.monotonic() > deadline:
            break
    if not any(line.strip().startswith("base_url:") for line in banner):
        os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError(f"no banner: {banner} {process.communicate(timeout=30)}")
    return process, banner


def _field(banner: list[str], name: str) -> str:
    return next(line.split(None, 1)[1] for line in banner if line.strip().startswith(f"{name}:"))


def _stop(process: subprocess.Popen[str], sig: signal.Signals, *, group: bool) -> tuple[str, str]:
    if group:
        os.killpg(process.pid, sig)
    else:
        process.send_signal(sig)
    out, err = process.communicate(timeout=60)
    return out, err


def _assert_quiet_stop(process: subprocess.Popen[str], sig: signal.Signals, out: str, err: str) -> None:
    # make ends as the signal it got says (the convention of every Unix tool); never with an error.
    assert process.returncode in (0, -sig), (process.returncode, err)
    assert "Traceback" not in out + err
    assert "make: ***" not in err
    assert " ERROR " not in err
    assert "KeyboardInterrupt" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Application shutdown complete." in err
    assert "Finished server process [" in lines[-1]


def test_make_serve_installs_little_and_stops_quietly_on_ctrl_c_and_sigterm(clone: Path) -> None:
    process, banner = _make_serve(clone)
    try:
        base_url = _field(banner, "base_url")
        root = base_url.removesuffix("/v1")
        assert _field(banner, "mode").startswith("offline")
        assert _field(banner, "data").startswith(str(clone / ".hosting" / "hosting.db"))
        assert _field(banner, "health").split()[0] == f"{root}/healthz"
        assert _field(banner, "openapi") == f"{base_url}/openapi.json"
        assert httpx.get(f"{root}/healthz", timeout=10).json() == {"status": "ok"}
        assert httpx.get(f"{root}/readyz", timeout=10).status_code == 200
        assert httpx.get(f"{base_url}/openapi.json", timeout=10).json()["openapi"].startswith("3.1")
        answer = httpx.post(
            f"{base_url}/responses", json={"model": "assistant", "input": "What is 6 * 7?"}, timeout=30
        )
        assert "42" in answer.json()["output"][-1]["content"][0]["text"]
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    out, err = _stop(process, signal.SIGINT, group=True)
    _assert_quiet_stop(process, signal.SIGINT, out, err)

    # Only what serving needs was installed: no development tools.
    site = next((clone / ".venv" / "lib").glob("python3*/site-packages"))
    installed = {path.name.split("-")[0].lower() for path in site.glob("*.dist-info")}
    # The channels make serve runs, and nothing for development; Telegram and PostgreSQL only
    # when configured (below).
    assert {
        "hosting_core",
        "hosting_responses",
        "hosting_a2a",
        "hosting_mcp",
        "hosting_ui",
        "uvicorn",
        "starlette",
        "openai",
    } <= installed
    assert not installed & {
        "hosting_telegram",
        "aiogram",
        "hosting_postgres",
        "psycopg",
        "mypy",
        "ruff",
        "pytest_asyncio",
        "agent_framework_core",
        "playwright",
        "schemathesis",
        "fastapi",
    }
    full = {
        line.split(" = ")[1].strip('"')
        for line in (REPO / "uv.lock").read_text().splitlines()
        if line.startswith("name = ")
    }
    assert len(installed) < 0.6 * len(full)  # the whole development set is far larger

    # With their variables set, make serve installs Telegram's and PostgreSQL's packages too.
    planned = subprocess.run(
        ["make", "--no-print-directory", "-n", "serve"],
        cwd=clone,
        env={**_environment(), "TELEGRAM_BOT_TOKEN": "123:abc", "HOSTING_DATABASE_URL": "postgresql://db"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    sync = next(line for line in planned.splitlines() if " sync " in line)
    assert "--package hosting-telegram" in sync and "--package hosting-postgres" in sync
    assert "--package hosting-telegram" not in _plain_sync(clone)
    # make never expands a secret: a `$(` in a password neither breaks make nor hides the variable.
    for url in ("postgresql://u:p$(x@127.0.0.1/db", "postgresql://u:p${x@127.0.0.1/db", "$NAME"):
        planned = _planned(clone, "serve", HOSTING_DATABASE_URL=url)
        assert "--package hosting-postgres" in next(line for line in planned.splitlines() if " sync " in line)
    # The echo sample needs neither, whatever is set.
    planned = _planned(
        clone, "serve-echo", TELEGRAM_BOT_TOKEN="123:abc", HOSTING_DATABASE_URL="postgresql://db"
    )
    assert "hosting-telegram" not in planned and "hosting-postgres" not in planned

    process, _ = _make_serve(clone)
    out, err = _stop(process, signal.SIGTERM, group=False)
    _assert_quiet_stop(process, signal.SIGTERM, out, err)

    # SIGTERM to the server alone (a supervisor that knows its pid): make too ends with status 0.
    process, _ = _make_serve(clone)
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    assert len(children) == 1  # make execs the server: its only child
    os.kill(int(children[0]), signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    _assert_quiet_stop(process, signal.SIGTERM, out, err)


def _planned(clone: Path, target: str, **variables: str) -> str:
    """What `make -B -n target` would run, with `variables` in the environment."""
    return subprocess.run(
        ["make", "--no-print-directory", "-B", "-n", target],
        cwd=clone,
        env={**_environment(), **variables},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout


def _plain_sync(clone: Path) -> str:
    """The install command `make serve` would run with no Telegram or PostgreSQL variable set."""
    planned = subprocess.run(
        ["make", "--no-print-directory", "-B", "-n", "serve"],
        cwd=clone,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return next(line for line in planned.splitlines() if " sync " in line)


def _read(master: int, buffer: bytearray, *, until: bytes | None, within: float) -> bool:
    """Read the terminal into `buffer` until `until` shows (True), it closes, or time runs out."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal closed: every process on it ended
            return False
        if not chunk:
            return False
        buffer += chunk
        if until is not None and until in buffer:
            return True
    return False


def test_ctrl_c_in_a_terminal_ends_make_serve_with_status_0(clone: Path) -> None:
    command = ["make", "--no-print-directory", "serve", "PORT=0"]
    uv = REPO / ".tools" / "bin" / "uv"
    if uv.exists():
        command.append(f"UV={uv}")
    master, terminal = pty.openpty()
    process = subprocess.Popen(
        command,
        cwd=clone,
        env=_environment(),
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        # make leads a session whose controlling terminal is the pseudo-terminal, as in a shell.
        preexec_fn=lambda: os.login_tty(terminal),
    )
    os.close(terminal)
    output = bytearray()
    try:
        assert _read(master, output, until=b"Stop with Ctrl-C", within=START_TIMEOUT), output.decode()
        os.write(master, b"\x03")  # Ctrl-C: the terminal interrupts its foreground process group
        _read(master, output, until=None, within=30)
        assert process.wait(timeout=30) == 0, output.decode(errors="replace")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    text = output.decode(errors="replace")
    assert "Traceback" not in text
    assert "make: ***" not in text
    assert "Application shutdown complete." in text
    assert "Finished server process [" in text
