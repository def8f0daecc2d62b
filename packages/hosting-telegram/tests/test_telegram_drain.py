"""When the host begins to stop, the poller stops taking updates before the engine refuses runs."""

from __future__ import annotations

import asyncio

import pytest

from hosting.telegram._polling import Poller
from hosting.telegram.testing import wait_until
from hosting.testing import Delay, ScriptedAgent

from .conftest import ServedStandIn, telegram_host


async def test_polling_stops_when_the_host_begins_to_stop_before_runs_are_refused(
    bot_api: ServedStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = ScriptedAgent(["thinking", Delay(30), "never"])
    host = telegram_host(bot_api, agent, shutdown_grace=1.0, host_options={"shutdown_grace": 1.0})
    api = bot_api.api
    accepting_when_stopped: list[bool] = []
    stop = Poller.stop

    async def recording_stop(self: Poller) -> None:
        accepting_when_stopped.append(host.engine.accepting)
        await stop(self)

    monkeypatch.setattr(Poller, "stop", recording_stop)
    async with host.lifespan():
        api.queue_update(api.message_update(42, "talk"))
        await wait_until(lambda: len(agent.runs) == 1)
        host.begin_drain()
        await wait_until(lambda: bool(accepting_when_stopped))
        await asyncio.sleep(0)
        assert not host.engine.accepting  # the run in flight has its grace period now
        polls = len(api.calls_of("getUpdates"))
        api.queue_update(api.message_update(43, "too late"))
        await asyncio.sleep(0.5)
        assert len(api.calls_of("getUpdates")) == polls  # nobody asks for updates any more
    # Stopped first while the engine still took runs, then once more (a no-op) at shutdown.
    assert accepting_when_stopped[0] is True
    assert len(agent.runs) == 1
    assert agent.runs[0].done and not agent.runs[0].finished  # ended by the shutdown
    assert api.chat_texts(43) == []
