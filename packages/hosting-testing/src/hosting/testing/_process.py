"""Your app in a real server process, for tests of what survives a restart, a SIGTERM or a kill.

`serve` and `serving` run uvicorn inside the test process, which cannot be killed and started
again. `server_process` runs ``python -m uvicorn module:attribute`` as a child process on
127.0.0.1 (a free port chosen by uvicorn), yields a `ServerProcess`, and stops it with the
signal you choose: SIGTERM for a graceful shutdown, SIGKILL for a crash.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

_LISTENING = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")


class ServerProcess:
    """A running server: its `base_url`, its `process`, and what it printed so far (`output`)."""

    def __init__(self, process: subprocess.Popen[str], base_url: str, lines: list[str]) -> None:
        self.process = process
        self.base_url = base_url
        self._lines = lines

    @property
    def output(self) -> str:
        return "".join(self._lines)

    def stop(self, stop: signal.Signals = signal.SIGTERM, *, timeout: float = 30.0) -> int:
        """Send `stop` and wait for the process to end; return its exit code (killed if it hangs)."""
        if self.process.poll() is None:
            self.process.send_signal(stop)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


@contextmanager
def server_process(
    directory: str | os.PathLike[str],
    target: str = "app:host",
    *,
    env: Mapping[str, str] | None = None,
    stop: signal.Signals = signal.SIGTERM,
    start_timeout: float = 30.0,
) -> Iterator[ServerProcess]:
    """Run ``uvicorn target`` with `directory` as its working directory; yield the `ServerProcess`.

    Args:
        directory: where the module named by `target` lives (it is imported from there).
        target: ``module:attribute`` of the ASGI app (a `Host`).
        env: extra environment variables (``HOSTING_DATA_DIR`` to place the SQLite file, say).
        stop: the signal that ends the process when the block ends (unless the test stopped it).
        start_timeout: seconds to wait for uvicorn to listen.
    """
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    command = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", "0"]
    process = subprocess.Popen(
        command,
        cwd=Path(directory),
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    arrived: queue.Queue[str] = queue.Queue()
    lines: list[str] = []

    def pump() -> None:
        if process.stdout is None:  # pragma: no cover - stdout is a pipe above
            return
        for line in process.stdout:
            lines.append(line)
            arrived.put(line)

    reader = threading.Thread(target=pump, name="hosting-testing-process-output", daemon=True)
    reader.start()
    server: ServerProcess | None = None
    try:
        deadline = time.monotonic() + start_timeout
        while server is None:
            if time.monotonic() > deadline:
                raise TimeoutError("the server did not start in time:\n" + "".join(lines))
            try:
                line = arrived.get(timeout=0.1)
            except queue.Empty:
                if process.poll() is not None:
                    raise RuntimeError("the server exited during start-up:\n" + "".join(lines)) from None
                continue
            match = _LISTENING.search(line)
            if match:
                server = ServerProcess(process, match.group(1), lines)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(stop)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()
