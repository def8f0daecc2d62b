"""Stop signals: the host learns of SIGTERM / Ctrl-C when it arrives, and the server still does."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import AsyncIterator, Iterator
from types import FrameType

import httpx
import pytest

from hosting.core import Host, MemoryStore, RunContext, ServiceUnavailableError, agent, user_message
from hosting.core._signals import SignalDrain  # the piece itself, tested directly
from hosting.core.channels import ChannelContext, ChannelContribution, ChannelRequest


class Recorder:
    """A Python handler, as a server installs one (uvicorn's `handle_exit`)."""

    def __init__(self) -> None:
        self.signals: list[int] = []

    def __call__(self, number: int, frame: FrameType | None) -> None:
        self.signals.append(number)


@pytest.fixture
def server_handler() -> Iterator[Recorder]:
    """SIGTERM handled by a recording 'server' for the test, the previous handler back after."""
    recorder = Recorder()
    previous = signal.signal(signal.SIGTERM, recorder)
    try:
        yield recorder
    finally:
        signal.signal(signal.SIGTERM, previous)


async def test_a_signal_reaches_the_host_on_its_loop_and_then_the_servers_handler(
    server_handler: Recorder,
) -> None:
    called: list[str] = []
    drain = SignalDrain(lambda: called.append(threading.current_thread().name))
    drain.install()
    assert signal.getsignal(signal.SIGTERM) != server_handler
    signal.raise_signal(signal.SIGTERM)
    assert server_handler.signals == [signal.SIGTERM]  # at once, as before
    assert called == []  # not inside the signal handler: on the loop, next
    await asyncio.sleep(0.01)
    assert called == [threading.main_thread().name]
    drain.uninstall()
    assert signal.getsignal(signal.SIGTERM) == server_handler


async def test_a_signal_nobody_handles_is_left_alone() -> None:
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        drain = SignalDrain(lambda: None)
        drain.install()
        # The default action stays: a process nobody stops gracefully is not made to linger.
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
        drain.uninstall()
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, previous)


async def test_a_handler_installed_after_ours_is_not_undone(server_handler: Recorder) -> None:
    drain = SignalDrain(lambda: None)
    drain.install()
    later = Recorder()
    signal.signal(signal.SIGTERM, later)
    drain.uninstall()
    assert signal.getsignal(signal.SIGTERM) == later


def test_outside_the_main_thread_nothing_is_installed(server_handler: Recorder) -> None:
    def install() -> None:
        async def main() -> None:
            SignalDrain(lambda: None).install()

        asyncio.run(main())

    thread = threading.Thread(target=install)
    thread.start()
    thread.join(5)
    assert signal.getsignal(signal.SIGTERM) == server_handler


class DrainingChannel:
    """A channel that records whether the engine still took runs when its `on_drain` ran."""

    name = "drained"

    def __init__(self) -> None:
        self.accepting_at_drain: list[bool] = []
        self.host: Host | None = None

    def contribute(self, context: ChannelContext) -> ChannelContribution:
        return ChannelContribution(on_drain=[self.drain])

    async def drain(self) -> None:
        assert self.host is not None
        self.accepting_at_drain.append(self.host.engine.accepting)


def ask(text: str) -> ChannelRequest:
    return ChannelRequest(channel="drained", input=(user_message(text),), background=True)


async def test_under_its_lifespan_a_signal_drains_the_host_channels_first(server_handler: Recorder) -> None:
    @agent
    async def slow(context: RunContext) -> AsyncIterator[str]:
        yield "begun "
        await asyncio.sleep(float(context.input_text))
        yield "done"

    channel = DrainingChannel()
    host = channel.host = Host(slow, channels=[channel], store=MemoryStore(), shutdown_grace=0.3)
    transport = httpx.ASGITransport(app=host)
    async with host.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://host") as client:
        engine = host.engine
        long = await engine.start(ask("30"))
        short = await engine.start(ask("0.1"))
        assert (await client.get("/readyz")).status_code == 200
        signal.raise_signal(signal.SIGTERM)
        assert server_handler.signals == [signal.SIGTERM]
        await asyncio.sleep(0.01)
        assert channel.accepting_at_drain == [True]  # the channel stopped first
        assert not engine.accepting
        assert (await client.get("/readyz")).status_code == 503
        with pytest.raises(ServiceUnavailableError):
            await engine.start(ask("0"))
        ended = await asyncio.wait_for(long.wait(), 2)  # within the grace period, not 30 s
        assert (ended.status, ended.record.incomplete_reason, ended.text) == (
            "incomplete",
            "shutdown",
            "begun ",
        )
        assert (await short.wait()).status == "completed"
        assert (await client.get("/readyz")).status_code == 503  # still the same, until the server stops
    assert channel.accepting_at_drain == [True]  # once: the shutdown waited for the same drain
    assert signal.getsignal(signal.SIGTERM) == server_handler


async def test_a_shutdown_without_a_signal_drains_too() -> None:
    @agent
    async def quiet(context: RunContext) -> AsyncIterator[str]:
        yield "ok"

    channel = DrainingChannel()
    host = channel.host = Host(quiet, channels=[channel], store=MemoryStore())
    await host.startup()
    await host.shutdown()
    assert channel.accepting_at_drain == [True]
    # And again after a restart: each start has its own drain.
    await host.startup()
    assert host.engine.accepting
    await host.shutdown()
    assert channel.accepting_at_drain == [True, True]


async def test_the_drain_is_bounded_even_when_an_agent_ignores_its_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @agent
    async def stubborn(context: RunContext) -> AsyncIterator[str]:
        yield "begun "
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            await asyncio.sleep(30)  # ignores the first cancel; a second one ends it
        yield "done"

    channel = DrainingChannel()
    host = channel.host = Host(stubborn, channels=[channel], store=MemoryStore(), shutdown_grace=0.2)
    await host.startup()
    run = await host.engine.start(ask("x"))
    await asyncio.sleep(0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.wait_for(host.shutdown(), 5)
    assert 0.2 + 1.0 - 0.05 < loop.time() - started < 0.2 + 1.0 + 0.5  # grace, then a second to settle
    assert "1 run(s) did not end within 1.0 s of shutdown" in caplog.text
    assert run.task is not None
    run.task.cancel()
    ended = await asyncio.wait_for(run.wait(), 2)
    assert ended.status == "incomplete"
