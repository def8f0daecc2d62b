"""Conformance: runners and their leases, orphaned runs, finished responses that never change,
and conversation turns held one at a time."""

from __future__ import annotations

import asyncio
import time

from hosting.core.stores import RunError, Store, StoredEvent

from ._conformance_records import ALICE, BOB, conversation, response


class RunnerConformance:
    """Part of `StoreConformance`."""

    async def test_a_finished_response_never_changes(self, store: Store) -> None:
        done = response()
        await store.create_response(done)
        changed = done.evolve(status="failed", error=RunError("late", "too late"))
        assert await store.update_response(changed) is False
        assert await store.update_response(changed, create=True) is False
        assert await store.get_response(ALICE, done.id) == done

    async def test_a_runs_end_follows_events_stored_meanwhile(self, store: Store) -> None:
        # A cancel sent to another process ends a run that still runs here: the end was numbered
        # before events this process stored meanwhile, and the log must still end with it.
        running = response(status="in_progress")
        await store.create_response(running)
        await store.append_run_events(ALICE, running.id, [StoredEvent(n, {"n": n}) for n in range(2)])
        await store.append_run_events(ALICE, running.id, [StoredEvent(n, {"n": n}) for n in range(2, 4)])
        ended = running.evolve(status="cancelled", completed_at=time.time())
        assert await store.update_response(ended, events=[StoredEvent(2, {"type": "finished"})])
        log = await store.read_run_events(ALICE, running.id)
        assert [event.number for event in log] == [0, 1, 2, 3, 4]
        assert log[-1].data == {"type": "finished"}
        assert log[2].data == {"n": 2}  # a number stored keeps its first event

    async def test_runs_of_a_gone_runner_are_claimed_once_and_a_live_runners_never(
        self, store: Store
    ) -> None:
        await store.heartbeat("alive", lease=60)
        await store.heartbeat("dying", lease=0.05)
        live = response(status="in_progress").evolve(runner="alive")
        dying = response(BOB, status="queued").evolve(runner="dying")
        nobodys = response(status="in_progress")  # written by a runner that never said it was alive
        done = response().evolve(runner="dying")
        for record in (live, dying, nobodys, done):
            await store.create_response(record)
        await asyncio.sleep(0.1)
        for claimant in ("survivor", "other"):  # a runner says it is alive before it claims
            await store.heartbeat(claimant, lease=60)
        claims = await asyncio.gather(
            store.claim_orphaned_runs("survivor"), store.claim_orphaned_runs("other")
        )
        claimed = [record for claim in claims for record in claim]
        assert sorted(record.id for record in claimed) == sorted([dying.id, nobodys.id])
        assert all(record.runner in ("survivor", "other") for record in claimed)
        stored = await store.get_response(BOB, dying.id)
        assert stored is not None and stored.runner in ("survivor", "other") and stored.status == "queued"
        assert await store.claim_orphaned_runs("survivor") == ()
        kept = await store.get_response(ALICE, live.id)
        assert kept is not None and kept.runner == "alive" and kept.status == "in_progress"

    async def test_a_runner_that_keeps_its_lease_keeps_its_runs(self, store: Store) -> None:
        await store.heartbeat("steady", lease=0.3)
        record = response(status="in_progress").evolve(runner="steady")
        await store.create_response(record)
        for _ in range(3):
            await asyncio.sleep(0.15)
            await store.heartbeat("steady", lease=0.3)
            assert await store.claim_orphaned_runs("thief") == ()

    async def test_the_heartbeat_tells_which_live_runs_were_finished_elsewhere(self, store: Store) -> None:
        running = response(status="in_progress").evolve(runner="me")
        other = response(status="in_progress").evolve(runner="me")
        for record in (running, other):
            await store.create_response(record)
        assert await store.heartbeat("me", lease=60, live=[running.id, other.id]) == ()
        await store.update_response(running.evolve(status="cancelled", completed_at=time.time()))
        assert await store.heartbeat("me", lease=60, live=[running.id, other.id, "resp_unknown"]) == (
            running.id,
        )

    async def test_a_conversation_is_held_by_one_turn_at_a_time(self, store: Store) -> None:
        await store.heartbeat("r1", lease=60)
        head = conversation()
        await store.create_conversation(head)
        first = response(status="in_progress", conversation=head.id).evolve(runner="r1")
        second = response(status="in_progress", conversation=head.id).evolve(runner="r1")
        await store.create_response(first)
        assert await store.claim_conversation(ALICE, head.id, first.id, runner="r1") is None
        assert (
            await store.claim_conversation(ALICE, head.id, first.id, runner="r1") is None
        )  # again: still its
        assert await store.claim_conversation(ALICE, head.id, second.id, runner="r1") == first.id
        await store.release_conversation(ALICE, head.id, second.id)  # not its: nothing changes
        assert await store.claim_conversation(ALICE, head.id, second.id, runner="r1") == first.id
        await store.release_conversation(ALICE, head.id, first.id)
        assert await store.claim_conversation(ALICE, head.id, second.id, runner="r1") is None

    async def test_a_turn_whose_response_finished_or_whose_runner_is_gone_frees_the_conversation(
        self, store: Store
    ) -> None:
        await store.heartbeat("steady", lease=60)
        await store.heartbeat("brief", lease=0.05)
        head = conversation()
        await store.create_conversation(head)
        finished = response(status="in_progress", conversation=head.id).evolve(runner="steady")
        await store.create_response(finished)
        assert await store.claim_conversation(ALICE, head.id, finished.id, runner="steady") is None
        await store.update_response(finished.evolve(status="completed", completed_at=time.time()))
        assert await store.claim_conversation(ALICE, head.id, "resp_next", runner="brief") is None
        await asyncio.sleep(0.1)  # "brief" is gone; its turn (never even written) holds nothing
        assert await store.claim_conversation(ALICE, head.id, "resp_after", runner="steady") is None
