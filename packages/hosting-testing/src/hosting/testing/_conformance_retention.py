"""Conformance: time-to-live and size bounds."""

from __future__ import annotations

import asyncio
import time

from hosting.core.stores import Store, StoredEvent

from ._conformance_records import (
    ALICE,
    conversation,
    message,
    new_id,
    response,
    with_limits,
)


class RetentionConformance:
    """Part of `StoreConformance`."""

    # -- retention ---------------------------------------------------------------------------------

    @with_limits(ttl=60.0)
    async def test_ttl_removes_finished_responses_and_idle_conversations(self, store: Store) -> None:
        old = time.time() - 3600
        expired = response(created_at=old)
        running = response(status="in_progress", created_at=old)
        finished_lately = response(created_at=old, completed_at=time.time())
        fresh = response()
        for record in (expired, running, finished_lately, fresh):
            await store.create_response(record)
        await store.append_run_events(ALICE, expired.id, [StoredEvent(0, {"n": 0})])
        await store.put_session_state(ALICE, f"response:{expired.id}", {"a": 1})
        idle, active = conversation(created_at=old), conversation(created_at=old)
        await store.create_conversation(idle, [message("user", "old")])
        await store.create_conversation(active)
        await store.append_conversation_items(ALICE, active.id, [message("user", "recent")])
        await store.put_session_state(ALICE, f"conversation:{idle.id}", {"b": 2})
        await store.bind_session(ALICE, "chat-idle", idle.id)

        assert await store.purge_expired() == 2

        assert await store.get_response(ALICE, expired.id) is None
        assert await store.read_run_events(ALICE, expired.id) == ()
        assert await store.get_session_state(ALICE, f"response:{expired.id}") is None
        for kept in (running, finished_lately, fresh):
            assert await store.get_response(ALICE, kept.id) == kept
        assert await store.get_conversation(ALICE, idle.id) is None
        assert await store.get_session_state(ALICE, f"conversation:{idle.id}") is None
        assert await store.get_session_binding(ALICE, "chat-idle") is None
        assert await store.get_conversation(ALICE, active.id) == active
        assert await store.purge_expired() == 0

    @with_limits(ttl=0.2)
    async def test_ttl_removes_loose_session_state_and_idempotency_keys(self, store: Store) -> None:
        running = response(status="in_progress")
        await store.create_response(running)
        await store.put_session_state(ALICE, "chat:loose", {"a": 1})
        await store.put_session_state(ALICE, f"response:{running.id}", {"b": 2})
        await store.claim_idempotency_key(ALICE, "idem-old", "fp", running.id)
        await asyncio.sleep(0.3)  # every write above is now older than the ttl

        await store.purge_expired()

        assert await store.get_session_state(ALICE, "chat:loose") is None
        # State of a response that still exists lives as long as the response.
        assert await store.get_session_state(ALICE, f"response:{running.id}") == {"b": 2}
        assert (await store.claim_idempotency_key(ALICE, "idem-old", "fp", new_id("resp"))).created is True

    @with_limits(max_responses=3)
    async def test_the_size_bound_keeps_the_newest_finished_responses(self, store: Store) -> None:
        start = time.time() - 100
        running = response(status="in_progress", created_at=start - 1)
        await store.create_response(running)
        records = [response(created_at=start + n) for n in range(5)]
        for record in records:
            await store.create_response(record)
            await store.append_run_events(ALICE, record.id, [StoredEvent(0, {"n": 0})])
        await store.purge_expired()
        for record in records[:2]:
            assert await store.get_response(ALICE, record.id) is None
            assert await store.read_run_events(ALICE, record.id) == ()
        for record in records[2:]:
            assert await store.get_response(ALICE, record.id) == record
        assert await store.get_response(ALICE, running.id) == running

    @with_limits(max_conversations=2)
    async def test_the_size_bound_keeps_the_most_recently_active_conversations(self, store: Store) -> None:
        start = time.time() - 100
        first, second, third = (conversation(created_at=start + n) for n in range(3))
        await store.create_conversation(first)
        await store.create_conversation(second)
        await store.append_conversation_items(ALICE, first.id, [message("user", "still here")])
        await store.create_conversation(third)
        await store.purge_expired()
        assert await store.get_conversation(ALICE, second.id) is None
        assert await store.get_conversation(ALICE, first.id) == first
        assert await store.get_conversation(ALICE, third.id) == third

    @with_limits(ttl=None, max_responses=None, max_conversations=None)
    async def test_without_limits_nothing_expires(self, store: Store) -> None:
        ancient = response(created_at=1.0)
        await store.create_response(ancient)
        old_conversation = conversation(created_at=1.0)
        await store.create_conversation(old_conversation)
        await store.purge_expired()
        assert await store.get_response(ALICE, ancient.id) == ancient
        assert await store.get_conversation(ALICE, old_conversation.id) == old_conversation
