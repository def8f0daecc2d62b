"""Conformance: contexts read, then changed, then read again.

A backend may keep the contexts it assembles (the built-in stores cache
histories and whole conversation listings, so a long conversation costs no
more per turn than a short one). Every test here reads a context first, so a
cache fills, then changes something the context depends on, and reads again:
a backend passes only if no change is ever answered from a stale copy.
"""

from __future__ import annotations

import asyncio
import time

from hosting.core.stores import ResponseRecord, Store

from ._conformance_records import ALICE, BOB, conversation, message, response, texts, with_limits


def _turn(text: str) -> list[str]:
    return [text, f"answer to {text}"]


async def _history(store: Store, record: ResponseRecord, owner: str = ALICE) -> list[str] | None:
    items = await store.get_history(owner, record.id)
    return None if items is None else texts(items)


async def _listing(store: Store, conversation_id: str, owner: str = ALICE) -> list[str] | None:
    page = await store.list_conversation_items(owner, conversation_id)
    return None if page is None else texts(page.items)


class ContextConformance:
    """Histories and conversation listings stay true when read before a change (part of
    `StoreConformance`)."""

    # -- histories ---------------------------------------------------------------------------------

    async def test_histories_read_turn_by_turn_along_branches(self, store: Store) -> None:
        root = response(text="root")
        await store.create_response(root)
        assert await _history(store, root) == _turn("root")
        left, right = response(text="left", previous=root.id), response(text="right", previous=root.id)
        for record, text in ((left, "left"), (right, "right")):
            await store.create_response(record)
            assert await _history(store, record) == _turn("root") + _turn(text)
        left_child = response(text="left child", previous=left.id)
        right_child = response(text="right child", previous=right.id)
        for record in (left_child, right_child):
            await store.create_response(record)
        assert await _history(store, left_child) == _turn("root") + _turn("left") + _turn("left child")
        assert await _history(store, right_child) == _turn("root") + _turn("right") + _turn("right child")
        assert await _history(store, left) == _turn("root") + _turn("left")  # children change nothing
        assert await _history(store, left_child, owner=BOB) is None

    async def test_a_history_read_before_an_ancestor_is_deleted(self, store: Store) -> None:
        parent = response(text="parent")
        middle = response(text="middle", previous=parent.id)
        child = response(text="child", previous=middle.id)
        for record in (parent, middle, child):
            await store.create_response(record)
        assert await _history(store, child) == _turn("parent") + _turn("middle") + _turn("child")

        assert await store.delete_response(ALICE, middle.id) is True

        assert await _history(store, child) == _turn("child")
        assert await _history(store, middle) is None
        grandchild = response(text="grandchild", previous=child.id)
        await store.create_response(grandchild)
        assert await _history(store, grandchild) == _turn("child") + _turn("grandchild")
        assert await store.delete_response(ALICE, child.id) is True
        assert await _history(store, child) is None
        assert await _history(store, grandchild) == _turn("grandchild")
        assert await _history(store, parent) == _turn("parent")

    async def test_a_history_read_while_its_runs_are_in_progress(self, store: Store) -> None:
        parent = response(text="parent")
        await store.create_response(parent)
        assert await _history(store, parent) == _turn("parent")
        running = response(text="running", previous=parent.id, status="in_progress")
        await store.create_response(running)
        assert await _history(store, running) == [*_turn("parent"), "running"]
        done = running.evolve(status="completed", output_items=(message("assistant", "finally"),))
        assert await store.update_response(done) is True
        assert await _history(store, running) == [*_turn("parent"), "running", "finally"]

        # An ancestor still running when a later turn was read: its output shows once it is there.
        slow = response(text="slow", previous=running.id, status="in_progress")
        await store.create_response(slow)
        quick = response(text="quick", previous=slow.id)
        await store.create_response(quick)
        assert await _history(store, quick) == [
            *_turn("parent"),
            "running",
            "finally",
            "slow",
            *_turn("quick"),
        ]
        slow_done = slow.evolve(status="completed", output_items=(message("assistant", "slow answer"),))
        assert await store.update_response(slow_done) is True
        assert await _history(store, quick) == [
            *_turn("parent"),
            "running",
            "finally",
            "slow",
            "slow answer",
            *_turn("quick"),
        ]

    async def test_a_history_read_before_its_run_was_interrupted(self, store: Store) -> None:
        parent = response(text="parent")
        await store.create_response(parent)
        running = response(text="cut short", previous=parent.id, status="in_progress")
        await store.create_response(running)
        assert await _history(store, running) == [*_turn("parent"), "cut short"]

        [orphan] = await store.claim_orphaned_runs("runner-after-restart")
        assert orphan.id == running.id
        assert await store.update_response(orphan.evolve(status="failed", completed_at=time.time()))

        # A failed run keeps its input and has no output; a new turn can continue from it.
        assert await _history(store, running) == [*_turn("parent"), "cut short"]
        after = response(text="after", previous=running.id)
        await store.create_response(after)
        assert await _history(store, after) == [*_turn("parent"), "cut short", *_turn("after")]

    async def test_a_history_read_before_a_refused_rewrite_of_a_finished_response(self, store: Store) -> None:
        parent = response(text="parent")
        child = response(text="child", previous=parent.id)
        for record in (parent, child):
            await store.create_response(record)
        assert await _history(store, child) == _turn("parent") + _turn("child")
        rewritten = parent.evolve(output_items=(message("assistant", "second thoughts"),))
        assert await store.update_response(rewritten) is False
        assert await _history(store, child) == _turn("parent") + _turn("child")
        assert await _history(store, parent) == _turn("parent")

    # -- conversations -----------------------------------------------------------------------------

    async def test_a_listing_read_before_every_kind_of_change(self, store: Store) -> None:
        record = conversation()
        await store.create_conversation(record, [message("user", "a")])
        assert await _listing(store, record.id) == ["a"]
        assert await store.append_conversation_items(
            ALICE, record.id, [message("user", "b"), message("user", "c")]
        )
        assert await _listing(store, record.id) == ["a", "b", "c"]

        turn = response(conversation=record.id, status="in_progress", text="q")
        await store.create_response(turn)
        done = turn.evolve(status="completed", output_items=(message("assistant", "ans"),))
        assert await store.update_response(done, append_to_conversation=True)
        assert await _listing(store, record.id) == ["a", "b", "c", "q", "ans"]

        page = await store.list_conversation_items(ALICE, record.id)
        assert page is not None
        assert await store.delete_conversation_item(ALICE, record.id, page.items[1].id or "")
        assert await _listing(store, record.id) == ["a", "c", "q", "ans"]
        assert await store.append_conversation_items(ALICE, record.id, [message("user", "d")])
        assert await _listing(store, record.id) == ["a", "c", "q", "ans", "d"]
        assert await _listing(store, record.id, owner=BOB) is None

        assert await store.delete_conversation(ALICE, record.id)
        assert await _listing(store, record.id) is None
        assert await store.append_conversation_items(ALICE, record.id, [message("user", "e")]) is False
        assert await _listing(store, record.id) is None

    async def test_a_listing_read_between_concurrent_turns(self, store: Store) -> None:
        record = conversation()
        await store.create_conversation(record)
        assert await _listing(store, record.id) == []
        turns = [response(conversation=record.id, status="in_progress", text=f"q{n}") for n in range(20)]
        for turn in turns:
            await store.create_response(turn)

        async def finish(turn: ResponseRecord) -> list[str] | None:
            done = turn.evolve(status="completed", output_items=(message("assistant", f"a{turn.id}"),))
            assert await store.update_response(done, append_to_conversation=True)
            return await _listing(store, record.id)  # reads race the other turns' writes

        seen = await asyncio.gather(*(finish(turn) for turn in turns))
        assert all(listing is not None and len(listing) % 2 == 0 and len(listing) >= 2 for listing in seen)
        whole = await store.list_conversation_items(ALICE, record.id)
        paged = await store.list_conversation_items(ALICE, record.id, limit=100)
        assert whole is not None and paged is not None
        assert len(whole.items) == 40 and whole.items == paged.items
        for index in range(0, 40, 2):
            question, answer = texts(whole.items[index : index + 2])
            turn = next(turn for turn in turns if turn.input_items[0].id == whole.items[index].id)
            assert question == texts(turn.input_items)[0] and answer == f"a{turn.id}"

    # -- retention ---------------------------------------------------------------------------------

    @with_limits(ttl=60.0)
    async def test_contexts_read_before_a_purge(self, store: Store) -> None:
        old = time.time() - 3600
        ancient = response(text="ancient", created_at=old)
        recent = response(text="recent", previous=ancient.id)
        for record in (ancient, recent):
            await store.create_response(record)
        idle = conversation(created_at=old)
        await store.create_conversation(idle, [message("user", "old")])
        assert await _history(store, recent) == _turn("ancient") + _turn("recent")
        assert await _listing(store, idle.id) == ["old"]

        assert await store.purge_expired() == 2

        assert await _history(store, recent) == _turn("recent")
        assert await _history(store, ancient) is None
        assert await _listing(store, idle.id) is None

    @with_limits(max_responses=2)
    async def test_a_history_read_before_the_size_bound_drops_its_ancestor(self, store: Store) -> None:
        start = time.time() - 100
        first = response(text="first", created_at=start)
        second = response(text="second", previous=first.id, created_at=start + 1)
        for record in (first, second):
            await store.create_response(record)
        assert await _history(store, second) == _turn("first") + _turn("second")
        third = response(text="third", previous=second.id, created_at=start + 2)
        await store.create_response(third)
        await store.purge_expired()
        assert await _history(store, third) == _turn("second") + _turn("third")
        assert await _history(store, second) == _turn("second")
        assert await _history(store, first) is None
