"""What only the memory store has: bounds enforced as records arrive, no purge needed."""

from __future__ import annotations

import time

import pytest

from hosting.core import ConfigurationError, MemoryStore, user_message
from hosting.core.stores import ConversationRecord, ResponseRecord, StoredEvent


def finished(index: int, owner: str = "alice") -> ResponseRecord:
    return ResponseRecord(
        f"resp_{index}", owner, time.time() + index, "completed", input_items=(user_message("q"),)
    )


async def test_the_response_bound_holds_without_a_purge() -> None:
    store = MemoryStore(max_responses=3)
    running = ResponseRecord("resp_running", "alice", time.time(), "in_progress")
    await store.create_response(running)
    for index in range(6):
        await store.create_response(finished(index).evolve(status="in_progress", completed_at=None))
        await store.append_run_events("alice", f"resp_{index}", [StoredEvent(0, {"n": index})])
        await store.update_response(finished(index))
        await store.put_session_state("alice", f"response:resp_{index}", {"n": index})
    kept = [index for index in range(6) if await store.get_response("alice", f"resp_{index}") is not None]
    assert kept == [3, 4, 5]
    assert await store.get_response("alice", "resp_running") == running  # runs in flight are not counted
    assert await store.get_session_state("alice", "response:resp_0") is None
    assert store._events.keys() == {"resp_3", "resp_4", "resp_5"}


async def test_the_conversation_bound_drops_the_least_recently_active() -> None:
    store = MemoryStore(max_conversations=2)
    now = time.time()
    await store.create_conversation(ConversationRecord("conv_a", "alice", now))
    await store.create_conversation(ConversationRecord("conv_b", "alice", now))
    await store.bind_session("alice", "chat", "conv_b")
    await store.update_conversation("alice", "conv_a", {"touched": "yes"})
    await store.create_conversation(ConversationRecord("conv_c", "alice", now))
    assert await store.get_conversation("alice", "conv_b") is None
    assert await store.get_session_binding("alice", "chat") is None
    assert await store.get_conversation("alice", "conv_a") is not None
    assert await store.get_conversation("alice", "conv_c") is not None


@pytest.mark.parametrize("options", [{"max_responses": 0}, {"max_conversations": 0}])
def test_bounds_must_be_positive(options: dict[str, int]) -> None:
    with pytest.raises(ConfigurationError, match="at least 1"):
        MemoryStore(**options)


async def test_history_of_a_cycle_ends() -> None:
    # Ids are fresh, so a real chain cannot loop; a store written by hand must still not hang.
    store = MemoryStore()
    first = ResponseRecord("resp_a", "alice", 1.0, "completed", input_items=(user_message("a"),))
    second = ResponseRecord("resp_b", "alice", 2.0, "completed", previous_response_id="resp_a")
    await store.create_response(first)
    await store.create_response(second)
    await store.update_response(first.evolve(previous_response_id="resp_b"))
    history = await store.get_history("alice", "resp_b")
    assert history is not None and len(history) <= 3


async def test_a_response_written_with_no_events_has_no_log_and_keeps_one_it_has() -> None:
    store = MemoryStore()
    inline = ResponseRecord("resp_inline", "alice", 1.0, "completed", completed_at=2.0)
    assert await store.update_response(inline, create=True) is True
    assert "resp_inline" not in store._events  # no empty log either
    assert await store.read_run_events("alice", "resp_inline") == ()
    logged = ResponseRecord("resp_logged", "alice", 1.0, "in_progress")
    await store.create_response(logged)
    await store.append_run_events("alice", logged.id, [StoredEvent(0, {"n": 0})])
    assert await store.update_response(logged.evolve(status="completed", completed_at=2.0)) is True
    assert await store.read_run_events("alice", logged.id) == (StoredEvent(0, {"n": 0}),)


async def test_the_response_bound_follows_runs_as_they_finish() -> None:
    store = MemoryStore(max_responses=2)
    started = time.time()
    running = ResponseRecord("resp_a", "alice", started, "in_progress")
    await store.create_response(running)
    for index in range(3):  # resp_0 .. resp_2, all finished: the oldest goes, the run stays
        await store.create_response(finished(index))
    kept = [rid for rid in ("resp_a", "resp_0", "resp_1", "resp_2") if await store.get_response("alice", rid)]
    assert kept == ["resp_a", "resp_1", "resp_2"]
    # The run ends: it now counts, and it is the oldest, so the next insert drops it and resp_1.
    assert await store.update_response(running.evolve(status="completed", completed_at=started)) is True
    await store.create_response(finished(3))
    kept = [rid for rid in ("resp_a", "resp_1", "resp_2", "resp_3") if await store.get_response("alice", rid)]
    assert kept == ["resp_2", "resp_3"]
    # Runs left in flight by a restart fail, and count from then on.
    await store.create_response(ResponseRecord("resp_b", "alice", started, "in_progress"))
    [orphan] = await store.claim_orphaned_runs("next")
    assert await store.update_response(orphan.evolve(status="failed", completed_at=started)) is True
    await store.create_response(finished(4))
    kept = [rid for rid in ("resp_2", "resp_3", "resp_b", "resp_4") if await store.get_response("alice", rid)]
    assert kept == ["resp_b", "resp_4"]
