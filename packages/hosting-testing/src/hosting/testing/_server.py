"""A real uvicorn on 127.0.0.1, port 0, for tests that need a socket.

`httpx.ASGITransport` and Starlette's `TestClient` buffer whole responses, so SSE
timing, keep-alives and disconnects can only be tested against a real server.
`serve` runs one in a background thread (for sync tests and sync SDK clients);
`serving` runs one as a task of the current event loop (for async tests that
also want to look at the host's state).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator

import uvicorn
from starlette.types import ASGIApp

STARTUP_TIMEOUT = 10.0


def _config(app: ASGIApp, *, log_level: str, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on",
        timeout_graceful_shutdown=2,
        ws="none",
    )


def _base_url(server: uvicorn.Server) -> str:
    for listener in server.servers:
        for sock in listener.sockets:
            host, port = sock.getsockname()[:2]
            return f"http://{host}:{port}"
    raise RuntimeError("uvicorn started without a listening socket")


class _ThreadedServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test runner owns the signals
        return None


@contextlib.contextmanager
def serve(
    app: ASGIApp, *, log_level: str = "warning", host: str = "127.0.0.1", port: int = 0
) -> Iterator[str]:
    """Run `app` under uvicorn on `host` and `port` (127.0.0.1, a free port, unless told) in a
    thread; yield its base URL.

    The server (and the app's lifespan) stops when the block ends.
    """
    server = _ThreadedServer(_config(app, log_level=log_level, host=host, port=port))
    thread = threading.Thread(target=server.run, name="hosting-testing-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn exited during start-up (see its log)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError("uvicorn did not start in time")
        time.sleep(0.01)
    try:
        yield _base_url(server)
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT)


@contextlib.asynccontextmanager
async def serving(
    app: ASGIApp, *, log_level: str = "warning", host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Like `serve`, but the server runs as a task on the current event loop."""
    server = _ThreadedServer(_config(app, log_level=log_level, host=host, port=port))
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn exited during start-up")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError("uvicorn did not start in time")
        await asyncio.sleep(0.01)
    try:
        yield _base_url(server)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=STARTUP_TIMEOUT)
