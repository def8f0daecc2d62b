"""Official openai SDK clients wired to an app in process (no socket).

The SDK sends its requests through `httpx2`, and also accepts a classic `httpx`
client; we hand it an `httpx` client whose transport calls the ASGI app
directly. Such transports buffer whole responses: streams arrive complete, which
is right for asserting on events, and wrong for timing (use `serve` for that).

The sync client runs the app on one event loop of its own, in a daemon thread,
for the client's whole life (Starlette's `TestClient`, used bare, starts a new
loop per request, which would end a background run with the request that
started it). The app's lifespan runs when the client is made and when it is
closed (``client.close()`` or ``with openai_client(app) as client:``).

`openai` is imported when a client is made, not when this module is: the pytest
plugin imports `hosting.testing` in every test run, and the SDK is slow to import.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any

import httpx
from anyio.from_thread import BlockingPortal
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message

if TYPE_CHECKING:
    from openai import AsyncOpenAI, OpenAI

DEFAULT_API_KEY = "test-key"
IN_PROCESS_BASE_URL = "http://hosting.test"
_START_TIMEOUT = 10.0


class _LoopThread:
    """An asyncio event loop in a daemon thread, reached through an anyio `BlockingPortal`.

    A daemon thread, so a client a test forgot to close cannot keep the interpreter alive.
    """

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._portal: BlockingPortal | None = None
        self._thread = threading.Thread(target=self._main, name="hosting-testing-loop", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT) or self._portal is None:
            raise RuntimeError("the in-process client's event loop did not start")

    @property
    def portal(self) -> BlockingPortal:
        if self._portal is None:
            raise RuntimeError("the in-process client's event loop has stopped")
        return self._portal

    def _main(self) -> None:
        async def keep_portal_open() -> None:
            async with BlockingPortal() as portal:
                self._portal = portal
                self._ready.set()
                await portal.sleep_until_stopped()

        try:
            asyncio.run(keep_portal_open())
        finally:
            self._portal = None
            self._ready.set()

    def stop(self) -> None:
        portal = self._portal
        if portal is not None:
            try:
                portal.call(portal.stop, True)
            except RuntimeError:
                pass  # already stopping
        self._thread.join(timeout=_START_TIMEOUT)


class _Lifespan:
    """Drives an app's ASGI lifespan; an app without one (it raises at once) is started lazily."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._to_app: asyncio.Queue[Message] | None = None
        self._from_app: asyncio.Queue[Message] | None = None
        self._task: asyncio.Task[None] | None = None

    async def _exchange(self, message: Message) -> Message | None:
        if self._to_app is None or self._from_app is None or self._task is None:
            return None
        await self._to_app.put(message)
        answer = asyncio.ensure_future(self._from_app.get())
        await asyncio.wait({answer, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if answer.done():
            return answer.result()
        answer.cancel()
        return None  # the app returned (or raised) instead of answering: it has no lifespan

    async def startup(self) -> None:
        self._to_app, self._from_app = asyncio.Queue(), asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
        self._task = asyncio.create_task(self._run(scope), name="hosting-testing-lifespan")
        answer = await self._exchange({"type": "lifespan.startup"})
        if answer is not None and answer["type"] == "lifespan.startup.failed":
            raise RuntimeError(f"the app failed to start: {answer.get('message', '')}")

    async def _run(self, scope: dict[str, Any]) -> None:
        if self._to_app is None or self._from_app is None:
            return
        try:
            await self.app(scope, self._to_app.get, self._from_app.put)
        except Exception:
            return  # no lifespan support; the Host starts on first use

    async def shutdown(self) -> None:
        if self._task is None or self._task.done():
            return
        answer = await self._exchange({"type": "lifespan.shutdown"})
        await asyncio.wait({self._task}, timeout=_START_TIMEOUT)
        if answer is not None and answer["type"] == "lifespan.shutdown.failed":
            raise RuntimeError(f"the app failed to shut down: {answer.get('message', '')}")


class InProcessHTTPClient(TestClient):
    """An `httpx.Client` that calls an ASGI app in process, every request on one event loop.

    The app's lifespan starts here and stops at `close()`.

    Args:
        app: the ASGI app.
        base_url: the URL requests appear to go to.
        lifespan: run the app's lifespan (False: the app starts on first use, as a mounted
            `Host` does, and is never shut down).
    """

    def __init__(self, app: ASGIApp, *, base_url: str = IN_PROCESS_BASE_URL, lifespan: bool = True) -> None:
        super().__init__(app, base_url=base_url, raise_server_exceptions=False)
        self._loop = _LoopThread()
        # TestClient runs every request on `self.portal` when it is set.
        self.portal = self._loop.portal
        self._lifespan = _Lifespan(app) if lifespan else None
        self._closed = False
        if self._lifespan is not None:
            try:
                self.portal.call(self._lifespan.startup)
            except BaseException:
                self._loop.stop()
                raise

    def close(self) -> None:
        """Shut the app down (its lifespan), stop the event loop, close the transport."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._lifespan is not None:
                self._loop.portal.call(self._lifespan.shutdown)
        finally:
            self.portal = None
            self._loop.stop()
            super().close()


def openai_client(
    app: ASGIApp,
    *,
    prefix: str = "/v1",
    api_key: str = DEFAULT_API_KEY,
    lifespan: bool = True,
    **options: Any,
) -> OpenAI:
    """A sync `OpenAI` client that calls `app` in process.

    Close it (or use it in a ``with`` block) to run the app's shutdown.

    Args:
        app: the host (or any ASGI app serving the Responses API).
        prefix: where the Responses channel is mounted.
        api_key: sent as ``Authorization: Bearer``.
        lifespan: run the app's lifespan start-up now and its shutdown on close.
        options: passed to `OpenAI` (``default_headers``, ``max_retries``, ...).
    """
    from openai import OpenAI

    http_client = InProcessHTTPClient(app, lifespan=lifespan)
    options.setdefault("max_retries", 0)
    return OpenAI(
        api_key=api_key,
        base_url=f"{IN_PROCESS_BASE_URL}{prefix}",
        http_client=http_client,
        **options,
    )


def async_openai_client(
    app: ASGIApp, *, prefix: str = "/v1", api_key: str = DEFAULT_API_KEY, **options: Any
) -> AsyncOpenAI:
    """An `AsyncOpenAI` client that calls `app` in process, on the test's event loop.

    The app is not sent lifespan events; a `Host` starts itself on its first request.
    """
    from openai import AsyncOpenAI

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    http_client = httpx.AsyncClient(transport=transport, base_url=IN_PROCESS_BASE_URL)
    options.setdefault("max_retries", 0)
    return AsyncOpenAI(
        api_key=api_key,
        base_url=f"{IN_PROCESS_BASE_URL}{prefix}",
        http_client=http_client,  # type: ignore[arg-type]
        **options,
    )
