"""The channel's records in the host's store: seen updates, link codes, links."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from hosting.core import IsolationKeys, MemoryStore, SQLiteStore
from hosting.core.channels import isolation_scope
from hosting.telegram._state import SEEN_TTL, ChannelState, LinkCode, LinkRefused
from hosting.testing import ScriptedAgent, channel_context

ALICE = IsolationKeys(user="alice")


class SpyStore(MemoryStore):
    """A memory store that records the ttl of each remembered key and each kept token."""

    def __init__(self) -> None:
        super().__init__()
        self.remembered: list[tuple[str, str, float]] = []
        self.tokens: list[tuple[str, str, str, float]] = []

    async def remember(self, namespace: str, key: str, *, ttl: float) -> bool:
        self.remembered.append((namespace, key, ttl))
        return await super().remember(namespace, key, ttl=ttl)

    async def put_token(
        self, namespace: str, token: str, *, owner: str, data: Mapping[str, Any], ttl: float
    ) -> None:
        self.tokens.append((namespace, token, owner, ttl))
        await super().put_token(namespace, token, owner=owner, data=data, ttl=ttl)


async def new_code(state: ChannelState, *, ttl: float = 60, telegram_user: int | None = None) -> LinkCode:
    with isolation_scope(ALICE):
        return await state.new_code(ttl=ttl, telegram_user=telegram_user)


async def test_an_update_is_new_once_also_when_ids_start_again_lower() -> None:
    store = SpyStore()
    async with channel_context(ScriptedAgent(["ok"]), store=store, channel="telegram") as context:
        state = ChannelState(context, 1)
        assert await state.first_time(500)
        assert not await state.first_time(500)
        # After a week without updates Telegram numbers them at random: a lower id is new.
        assert await state.first_time(7)
        assert not await state.first_time(7)
    # In the channel's own namespace, per bot, for longer than Telegram keeps an update (a day).
    assert {entry[0] for entry in store.remembered} == {"telegram:updates:1"}
    assert SEEN_TTL >= 86400 and {entry[2] for entry in store.remembered} == {SEEN_TTL}


async def test_concurrent_deliveries_of_one_update_make_one_first() -> None:
    async with channel_context(ScriptedAgent(["ok"])) as context:
        state = ChannelState(context, 1)
        results = await asyncio.gather(*(state.first_time(42) for _ in range(10)))
        assert results.count(True) == 1


async def test_two_processes_sharing_a_store_handle_an_update_once_and_use_a_code_once(
    tmp_path: Path,
) -> None:
    """Two hosts on one SQLite database (as two replicas are): the store decides, not a lock."""
    async with (
        channel_context(ScriptedAgent(["ok"]), store=SQLiteStore(tmp_path), channel="telegram") as one,
        channel_context(ScriptedAgent(["ok"]), store=SQLiteStore(tmp_path), channel="telegram") as two,
    ):
        first, second = ChannelState(one, 1), ChannelState(two, 1)
        for update_id in range(20):
            results = await asyncio.gather(first.first_time(update_id), second.first_time(update_id))
            assert sorted(results) == [False, True], update_id
        code = await new_code(first)
        outcomes = await asyncio.gather(
            *(state.take_code(code.code, 5) for state in (first, second, first, second)),
            return_exceptions=True,
        )
        taken = [outcome for outcome in outcomes if isinstance(outcome, LinkCode)]
        assert len(taken) == 1 and taken[0].user == "alice"
        assert all(isinstance(outcome, LinkRefused) for outcome in outcomes if outcome not in taken)


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
        assert await ChannelState(context, 2).linked_user(77) is None


async def test_a_link_is_the_telegram_users_own_state_and_nobody_elses() -> None:
    store = MemoryStore()
    async with channel_context(ScriptedAgent(["ok"]), store=store) as context:
        state = ChannelState(context, 1)
        await state.set_link(77, "alice")
        assert await store.get_session_state("telegram:77", "telegram:link:1") == {
            "user": "alice",
            "written_at": pytest.approx(time.time(), abs=5),
        }
        assert await store.get_session_state("alice", "telegram:link:1") is None
        assert await store.get_session_state("anonymous", "telegram:link:1") is None
        await state.clear_link(77)
        assert await state.linked_user(77) is None


async def test_a_stale_link_is_written_again_when_used() -> None:
    store = MemoryStore()
    async with channel_context(ScriptedAgent(["ok"]), store=store) as context:
        state = ChannelState(context, 1)
        await store.put_session_state("telegram:77", "telegram:link:1", {"user": "alice", "written_at": 0})
        assert await state.linked_user(77) == "alice"
        kept = await store.get_session_state("telegram:77", "telegram:link:1")
        assert kept is not None and kept["written_at"] > time.time() - 5


async def test_a_code_is_taken_once_even_when_raced() -> None:
    store = SpyStore()
    async with channel_context(ScriptedAgent(["ok"]), store=store, channel="telegram") as context:
        state = ChannelState(context, 1)
        code = await new_code(state)
        assert code.user == "alice"
        outcomes = await asyncio.gather(
            *(state.take_code(code.code, 5) for _ in range(8)), return_exceptions=True
        )
        taken = [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
        assert len(taken) == 1 and taken[0].user == "alice"
        assert all(isinstance(outcome, LinkRefused) for outcome in outcomes if outcome not in taken)
    # A one-time token of the caller who asked for it, in the channel's namespace.
    ((namespace, token, owner, _ttl),) = store.tokens
    assert (namespace, token, owner) == ("telegram:link-codes", code.code, "alice")


async def test_a_code_for_another_account_stays_for_the_right_one_until_it_expires() -> None:
    async with channel_context(ScriptedAgent(["ok"])) as context:
        state = ChannelState(context, 1)
        code = await new_code(state, ttl=0.5, telegram_user=43)
        with pytest.raises(LinkRefused, match="another Telegram account"):
            await state.take_code(code.code, 42)
        taken = await state.take_code(code.code, 43)
        assert (taken.user, taken.telegram_user) == ("alice", 43)
        late = await new_code(state, ttl=0.2, telegram_user=43)
        with pytest.raises(LinkRefused, match="another Telegram account"):
            await state.take_code(late.code, 42)
        await asyncio.sleep(0.3)
        with pytest.raises(LinkRefused, match="expired"):  # put back with its expiry, not a new one
            await state.take_code(late.code, 43)
        with pytest.raises(LinkRefused, match="unknown or was used"):
            await state.take_code(late.code, 43)


async def test_codes_are_checked_before_they_are_looked_up() -> None:
    async with channel_context(ScriptedAgent(["ok"])) as context:
        state = ChannelState(context, 1)
        for bad in ("", "abc!", "O0O0O0O0"):
            with pytest.raises(LinkRefused, match="not a link code"):
                await state.take_code(bad, 5)
        code = await new_code(state)
        assert len(code.code) == 8 and code.code.isalnum() and code.code.isupper()
