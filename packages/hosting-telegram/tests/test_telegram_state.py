"""The channel's records in the host's store: seen updates, link codes, links."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hosting.core import SQLiteStore
from hosting.telegram._state import SEEN_WINDOW, ChannelState, LinkRefused
from hosting.testing import ScriptedAgent, channel_context


async def test_an_update_is_new_once_also_when_ids_start_again_lower() -> None:
    async with channel_context(ScriptedAgent(["ok"])) as context:
        state = ChannelState(context, 1)
        assert await state.first_time(500)
        assert not await state.first_time(500)
        # After a week without updates Telegram numbers them at random: a lower id is new.
        assert await state.first_time(7)
        assert not await state.first_time(7)


async def test_concurrent_deliveries_of_one_update_make_one_first() -> None:
    async with channel_context(ScriptedAgent(["ok"])) as context:
        state = ChannelState(context, 1)
        results = await asyncio.gather(*(state.first_time(42) for _ in range(10)))
        assert results.count(True) == 1


async def test_the_window_keeps_the_latest_ids() -> None:
    async with channel_context(ScriptedAgent(["ok"])) as context:
        state = ChannelState(context, 1)
        for number in range(SEEN_WINDOW + 5):
            assert await state.first_time(number)
        assert not await state.first_time(SEEN_WINDOW + 4)
        assert not await state.first_time(5)
        assert await state.first_time(0)  # long out of the window (Telegram never redelivers it)


async def test_seen_updates_and_links_survive_a_restart(tmp_path: Path) -> None:
    async with channel_context(ScriptedAgent(["ok"]), store=SQLiteStore(tmp_path)) as context:
        state = ChannelState(context, 1)
        assert await state.first_time(10)
        await state.set_link(77, "alice")
    async with channel_context(ScriptedAgent(["ok"]), store=SQLiteStore(tmp_path)) as context:
        state = ChannelState(context, 1)
        assert not await state.first_time(10)
        assert await state.linked_user(77) == "alice"
        assert await state.linked_user(78) is None
        # Another bot on the same store keeps records of its own.
        assert await ChannelState(context, 2).first_time(10)


async def test_a_code_is_taken_once_even_when_raced() -> None:
    async with channel_context(ScriptedAgent(["ok"])) as context:
        state = ChannelState(context, 1)
        code = await state.new_code("alice", ttl=60)
        outcomes = await asyncio.gather(
            *(state.take_code(code.code, 5) for _ in range(8)), return_exceptions=True
        )
        taken = [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
        assert len(taken) == 1 and taken[0].user == "alice"
        assert all(isinstance(outcome, LinkRefused) for outcome in outcomes if outcome not in taken)


async def test_codes_are_checked_before_they_are_looked_up() -> None:
    async with channel_context(ScriptedAgent(["ok"])) as context:
        state = ChannelState(context, 1)
        for bad in ("", "abc!", "O0O0O0O0"):
            with pytest.raises(LinkRefused, match="not a link code"):
                await state.take_code(bad, 5)
        code = await state.new_code("alice", ttl=60)
        assert len(code.code) == 8 and code.code.isalnum() and code.code.isupper()
