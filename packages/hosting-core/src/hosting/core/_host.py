"""The Host: agents + channels + store, as one ASGI app.

host = Host(my_agent, channels=[ResponsesChannel()])
# uvicorn module:host   -- or mount it: Mount("/agents", app=host)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from starlette.middleware import Middleware
from starlette.routing import Router
from starlette.types import ASGIApp, Receive, Scope, Send

from ._agent import Agent, agent_name, as_agent
from ._auth import Authenticator
from ._channel import (
    Callback,
    Channel,
    ChannelIdentity,
    Command,
    DeliveryReport,
    DeliveryTarget,
    run_callbacks,
)
from ._context import ChannelContext
from ._cors import cors_middleware, cors_origins_from_env
from ._delivery import Deliveries
from ._engine import DisconnectPolicy, RunEngine
from ._error_response import ErrorRenderer, UnknownPath, error_response
from ._exceptions import ConfigurationError
from ._health import PUBLIC_PATHS, health_routes
from ._hooks import RunHook, UpdateHook
from ._ids import IdFactory, RandomIdFactory
from ._isolation import IsolationKeys, current_keys
from ._limits import BodyLimitMiddleware, Limits
from ._middleware import IsolationMiddleware
from ._request_id import RequestIdLogFilter, RequestIdMiddleware
from ._signals import SignalDrain
from ._store import default_store
from ._store._base import Store
from ._telemetry import Telemetry, instruments_for
from ._turns import ConcurrentTurns
from ._types import Item

logger = logging.getLogger("hosting.core")


class Host:
    """Serves one agent (or several, by name) over channels, as an ASGI app.

    Args:
        agent_or_agents: an `Agent`, an async function, or a mapping of name -> agent
            (the first is the default; clients pick one by name, e.g. the Responses ``model``).
        channels: the wire protocols to serve.
        store: where responses, conversations and session state live; the default is the
            embedded SQLite store under ``HOSTING_DATA_DIR`` (``.hosting/`` by default).
        authenticator: resolves the caller; None serves a single anonymous user.
        trust_isolation_headers: take isolation keys from ``x-agent-*-isolation-key`` headers.
        id_factory: makes response, conversation and item ids.
        run_hooks / update_hooks: see `RunHook` / `UpdateHook`.
        run_timeout: seconds a run may take (None: no limit).
        disconnect_policy: what a dropped stream does to its run.
        shutdown_grace: seconds in-flight runs get at shutdown before they end ``incomplete``.
        retention_interval: seconds between purges of expired data.
        limits: request limits (body size and time, input size, runs per user); see `Limits`.
        delivery_attempts / delivery_backoff: a push to another channel is tried this many times,
            waiting `delivery_backoff` seconds before the second try and twice as long before each
            next one; one that gives up is kept for the operator (`Store.list_delivery_failures`).
        runner_lease: seconds this process counts as alive after its last heartbeat (it beats
            every third of that, at most every second); runs of a process that stopped are ended
            ``failed`` by another host on the same store that long after it stopped.
        concurrent_turns: a turn of a conversation that has one running waits for it
            (``"queue"``, the default) or is refused with 409 (``"reject"``).
        cors_origins: origins a browser page may call the host from (``"*"``: any); None reads
            ``HOSTING_CORS_ORIGINS``; none by default. See docs/operations.md.
        telemetry: OpenTelemetry traces and metrics: a `Telemetry` (providers), True (the global
            providers), False (off); None turns them on when the ``OTEL_*`` environment asks.
    """

    # The drain begun by a stop signal or by `shutdown`, once per start.
    _draining: asyncio.Task[None] | None = None
    _shutting_down = False

    def __init__(
        self,
        agent_or_agents: Agent | Callable[..., Any] | Mapping[str, Agent | Callable[..., Any]],
        /,
        *,
        channels: Sequence[Channel],
        store: Store | None = None,
        authenticator: Authenticator | None = None,
        trust_isolation_headers: bool = False,
        id_factory: IdFactory | None = None,
        run_hooks: Sequence[RunHook] = (),
        update_hooks: Sequence[UpdateHook] = (),
        run_timeout: float | None = None,
        disconnect_policy: DisconnectPolicy = "cancel_unstored",
        shutdown_grace: float = 10.0,
        retention_interval: float = 300.0,
        limits: Limits | None = None,
        delivery_attempts: int = 3,
        delivery_backoff: float = 0.5,
        runner_lease: float = 10.0,
        concurrent_turns: ConcurrentTurns = "queue",
        cors_origins: Sequence[str] | None = None,
        telemetry: Telemetry | bool | None = None,
    ) -> None:
        if isinstance(agent_or_agents, Mapping):
            agents = {name: as_agent(target) for name, target in agent_or_agents.items()}
        else:
            single = as_agent(agent_or_agents)
            agents = {agent_name(single): single}
        if not agents:
            raise ConfigurationError("Host needs at least one agent")
        if not channels:
            raise ConfigurationError("Host needs at least one channel")
        names = [channel.name for channel in channels]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"channel names must be unique, got {names}")

        self.store: Store = store if store is not None else default_store()
        # Off, telemetry is None: nothing imported, nothing wrapped.
        self.telemetry = instruments = instruments_for(telemetry)
        measured: Store = self.store
        if instruments is not None:
            agents = {name: instruments.agent(name, target) for name, target in agents.items()}
            measured = instruments.store(self.store)
        self.limits = limits or Limits()
        self.authenticator = authenticator
        self.shutdown_grace = shutdown_grace
        self.retention_interval = retention_interval
        self.deliveries = Deliveries(measured, {}, attempts=delivery_attempts, backoff=delivery_backoff)
        self.engine = RunEngine(
            agents,
            store=measured,
            ids=id_factory or RandomIdFactory(),
            deliveries=self.deliveries,
            run_hooks=run_hooks,
            update_hooks=update_hooks,
            run_timeout=run_timeout,
            disconnect_policy=disconnect_policy,
            max_concurrent_runs_per_user=self.limits.max_concurrent_runs_per_user,
            retry_after_seconds=self.limits.retry_after_seconds,
            runner_lease=runner_lease,
            concurrent_turns=concurrent_turns,
        )
        if instruments is not None:
            # The engine stays free of telemetry: its entry points are wrapped only when it is on.
            self.engine.start = instruments.starting(self.engine.start)  # type: ignore[method-assign,assignment]
            self.engine.run = instruments.starting(self.engine.run)  # type: ignore[method-assign,assignment]
            self.engine.attach = instruments.attaching(self.engine.attach)  # type: ignore[method-assign,assignment]
        self.channels = list(channels)
        self.commands: dict[str, dict[str, Command]] = {channel.name: {} for channel in self.channels}
        self._on_startup: list[Callback] = []
        self._on_shutdown: list[Callback] = []
        self._on_drain: list[Callback] = []
        self._error_renderers: list[tuple[str, ErrorRenderer]] = []
        public_paths = set(PUBLIC_PATHS)
        routes: list[Any] = []
        for channel in self.channels:
            context = ChannelContext(
                channel.name,
                engine=self.engine,
                store=measured,
                limits=self.limits,
                commands=self.commands[channel.name],
                deliveries=self.deliveries,
                authenticates=authenticator is not None or trust_isolation_headers,
            )
            contribution = channel.contribute(context)
            routes.extend(contribution.routes)
            public_paths.update(contribution.public_paths)
            self._on_startup.extend(contribution.on_startup)
            self._on_shutdown.extend(contribution.on_shutdown)
            self._on_drain.extend(contribution.on_drain)
            if contribution.push is not None:
                push = contribution.push
                if instruments is not None:
                    push = instruments.push(channel.name, push)
                self.deliveries.pushes[channel.name] = push
            for command in contribution.commands:
                self.commands[channel.name][command.name] = command
            if contribution.error_prefix is not None and contribution.render_error is not None:
                self._error_renderers.append((contribution.error_prefix, contribution.render_error))
        self._error_renderers.sort(key=lambda pair: len(pair[0]), reverse=True)
        routes += health_routes(lambda: self._started and self.engine.accepting)

        self._started = False
        self._starting_lock = asyncio.Lock()
        self._retention_task: asyncio.Task[None] | None = None
        # A bare Router, not a Starlette app: channels render their own errors, so the app's two
        # exception middlewares would only add a cost to every request.
        self.router = Router(routes=routes, default=UnknownPath(self.error_renderer_for))
        # Outermost first. Authentication comes before the body is read, so a caller without
        # valid credentials never makes the server buffer a body; CORS comes before
        # authentication, so a browser's preflight (which never carries a key) is answered.
        cors = cors_middleware(cors_origins if cors_origins is not None else cors_origins_from_env())
        self.middleware = [
            Middleware(RequestIdMiddleware),
            *([cors] if cors is not None else []),
            Middleware(
                IsolationMiddleware,
                authenticator=authenticator,
                trust_isolation_headers=trust_isolation_headers,
                public_paths=frozenset(public_paths),
                render_error=self.error_renderer_for,
            ),
            Middleware(BodyLimitMiddleware, limits=self.limits, render_error=self.error_renderer_for),
        ]
        self.app: ASGIApp = self.build_middleware_stack()
        if instruments is not None:
            self.app = instruments.asgi(self.app)
        for logger_name in ("hosting.core", *(f"hosting.{channel.name}" for channel in self.channels)):
            target = logging.getLogger(logger_name)
            if not any(isinstance(existing, RequestIdLogFilter) for existing in target.filters):
                target.addFilter(RequestIdLogFilter())

    def build_middleware_stack(self) -> ASGIApp:
        """The router wrapped in `middleware`, the first outermost (as Starlette builds its stack)."""
        app: ASGIApp = self.router
        for cls, args, kwargs in reversed(self.middleware):
            app = cls(app, *args, **kwargs)
        return app

    # -- ASGI --------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._serve_lifespan(receive, send)
            return
        if not self._started:
            # Mounted inside another app whose lifespan does not reach us: start on first use.
            async with self._starting_lock:
                if not self._started:
                    await self.startup()
        await self.app(scope, receive, send)

    def error_renderer_for(self, path: str) -> ErrorRenderer:
        for prefix, renderer in self._error_renderers:
            if path.startswith(prefix):
                return renderer
        return error_response

    async def _serve_lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "lifespan.startup":  # pragma: no cover - protocol guard
            return
        try:
            await self.startup()
        except BaseException as error:
            await send({"type": "lifespan.startup.failed", "message": f"{type(error).__name__}: {error}"})
            raise
        signals = SignalDrain(self.begin_drain)
        signals.install()
        await send({"type": "lifespan.startup.complete"})
        message = await receive()
        signals.uninstall()
        try:
            await self.shutdown()
        except BaseException as error:
            await send({"type": "lifespan.shutdown.failed", "message": f"{type(error).__name__}: {error}"})
            raise
        await send({"type": "lifespan.shutdown.complete"})

    @contextlib.asynccontextmanager
    async def lifespan(self, app: object = None) -> AsyncIterator[None]:
        """For a parent app: ``Starlette(routes=[Mount("/x", host)], lifespan=host.lifespan)``."""
        await self.startup()
        signals = SignalDrain(self.begin_drain)
        signals.install()
        try:
            yield
        finally:
            signals.uninstall()
            await self.shutdown()

    # -- lifecycle ---------------------------------------------------------------------------------

    async def startup(self) -> None:
        """Open the store, recover interrupted runs, run every channel's start-up callbacks.

        Every callback runs even when one fails; each failure is logged with the callback's
        name and the first is raised afterwards, so the boot aborts.
        """
        if self._started:
            return
        await self.store.open()
        await self.engine.startup()
        if self.authenticator is None:
            logger.warning("no authenticator configured: serving a single anonymous user")
        await run_callbacks(self._on_startup, "start-up")
        if self.retention_interval > 0:
            self._retention_task = asyncio.create_task(self._retention_loop(), name="hosting-retention")
        self._draining = None
        self._started = True

    def begin_drain(self) -> None:
        """Begin to stop, without waiting: see `drain`. Served by uvicorn (plain ``uvicorn``,
        ``hosting serve``, `serve`) or under `lifespan`, the host calls this itself when SIGTERM
        or Ctrl-C arrives, so its runs end before the server's graceful wait runs out."""
        if self._started and self._draining is None:
            self._draining = asyncio.create_task(self._drain(), name="hosting-drain")

    async def drain(self) -> None:
        """Stop taking work and end the runs in flight; return when they have ended.

        Each channel's ``on_drain`` callbacks run first (a poller stops taking updates), then
        the engine refuses new runs (503, ``/readyz`` 503) and gives the runs in flight
        `shutdown_grace` seconds; those still going end ``incomplete`` (reason ``shutdown``),
        so their open streams close with a terminal event and a plain request gets its
        answer. Started once; `shutdown` waits for it (and starts it when no signal did).
        """
        self.begin_drain()
        if self._draining is not None:
            await asyncio.shield(self._draining)

    async def _drain(self) -> None:
        # A callback that failed is logged by `run_callbacks`; the runs must be ended all the same.
        with contextlib.suppress(Exception):
            await run_callbacks(self._on_drain, "drain")
        await self.engine.shutdown(self.shutdown_grace)

    async def shutdown(self) -> None:
        """Drain (see `drain`), then run every shutdown callback and close the store."""
        if not self._started or self._shutting_down:
            return
        # Still started while it drains: a request meanwhile is refused by the engine (503), it
        # does not start the host again.
        self._shutting_down = True
        try:
            await self.drain()
            self._started = False
            if self._retention_task is not None:
                self._retention_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._retention_task
                self._retention_task = None
            try:
                await run_callbacks(self._on_shutdown, "shutdown")
            finally:
                await self.store.close()
        finally:
            self._shutting_down = False

    async def _retention_loop(self) -> None:
        while True:
            await asyncio.sleep(self.retention_interval)
            try:
                removed = await self.store.purge_expired()
                if removed:
                    logger.info("retention removed %d expired records", removed)
            except Exception:
                logger.exception("retention purge failed")

    # -- sessions and delivery ---------------------------------------------------------------------

    async def reset_session(self, session_key: str, *, keys: IsolationKeys | None = None) -> str:
        """Start a fresh conversation for a session key (of `keys`, or the current caller);
        the stored history of the old one is kept. Returns the new conversation id."""
        return await self.engine.reset_session((keys or current_keys()).user, session_key)

    async def link_identity(self, channel: str, address: str, *, keys: IsolationKeys | None = None) -> None:
        """Record that the user is reachable on `channel` at `address` (for ``target="linked"``)."""
        await self.store.link_identity((keys or current_keys()).user, channel, address)

    async def deliver(
        self,
        items: Sequence[Item],
        *,
        target: DeliveryTarget = "origin",
        origin: ChannelIdentity | None = None,
        keys: IsolationKeys | None = None,
    ) -> DeliveryReport:
        """Push items to channels; see `ChannelContext.deliver`."""
        return await self.deliveries.deliver(items, keys=keys or current_keys(), target=target, origin=origin)

    # -- running -----------------------------------------------------------------------------------

    def serve(self, *, host: str = "127.0.0.1", port: int = 8000, **uvicorn_options: Any) -> None:
        """Run this app under uvicorn (blocking), logging in the host's format (``HOSTING_LOG_FORMAT``)."""
        import uvicorn

        from ._logs import logging_config

        # Streams end within the grace period (see `drain`); a second more lets them close
        # before uvicorn cuts what is left.
        uvicorn_options.setdefault("timeout_graceful_shutdown", math.ceil(self.shutdown_grace) + 1)
        uvicorn_options.setdefault("log_config", logging_config())
        uvicorn.run(self, host=host, port=port, **uvicorn_options)
