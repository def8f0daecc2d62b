"""Conformance: conversations, their items, and the turns recorded in them."""

from __future__ import annotations

import time
from typing import Any

import pytest

from hosting.core.stores import ConversationRecord, Store

from ._conformance_records import (
    ALICE,
    BOB,
    conversation,
    message,
    new_id,
    response,
    texts,
)


class ConversationConformance:
    """Part of `StoreConformance`."""

    # -- conversations -----------------------------------------------------------------------------

    async def test_a_conversation_round_trips_with_its_items(self, store: Store) -> None:
        record = conversation(topic="cats", lang="en")
        first = (message("user", "hello"), message("assistant", "hi"))
        await store.create_conversation(record, first)
        assert await store.get_conversation(ALICE, record.id) == record
        page = await store.list_conversation_items(ALICE, record.id)
        assert page is not None and page.items == first and page.has_more is False
        with pytest.raises(ValueError):
            await store.create_conversation(ConversationRecord(record.id, BOB, time.time()))
        assert await store.get_conversation(BOB, record.id) is None
        assert await store.get_conversation(ALICE, new_id("conv")) is None

    async def test_updating_a_conversation_replaces_its_metadata(self, store: Store) -> None:
        record = conversation(topic="cats", lang="en")
        await store.create_conversation(record)
        updated = await store.update_conversation(ALICE, record.id, {"topic": "dogs"})
        assert updated == ConversationRecord(record.id, ALICE, record.created_at, {"topic": "dogs"})
        assert await store.get_conversation(ALICE, record.id) == updated
        assert await store.update_conversation(ALICE, new_id("conv"), {"a": "b"}) is None

    async def test_items_page_in_both_orders(self, store: Store) -> None:
        record = conversation()
        items = [message("user", f"m{index}") for index in range(7)]
        await store.create_conversation(record, items[:2])
        assert await store.append_conversation_items(ALICE, record.id, items[2:5]) is True
        assert await store.append_conversation_items(ALICE, record.id, items[5:]) is True

        async def page(**options: Any) -> tuple[list[str], bool]:
            result = await store.list_conversation_items(ALICE, record.id, **options)
            assert result is not None
            return texts(result.items), result.has_more

        assert await page() == ([f"m{index}" for index in range(7)], False)
        assert await page(limit=3) == (["m0", "m1", "m2"], True)
        assert await page(limit=3, after=items[2].id) == (["m3", "m4", "m5"], True)
        assert await page(limit=3, after=items[5].id) == (["m6"], False)
        assert await page(limit=1, after=items[6].id) == ([], False)
        assert await page(limit=7) == ([f"m{index}" for index in range(7)], False)
        assert await page(order="desc", limit=2) == (["m6", "m5"], True)
        assert await page(order="desc", limit=3, after=items[5].id) == (["m4", "m3", "m2"], True)
        assert await page(order="desc", after=items[1].id) == (["m0"], False)
        assert await page(after="msg_unknown") == ([], False)
        assert await store.list_conversation_items(ALICE, new_id("conv")) is None

    async def test_an_item_can_be_read_and_deleted(self, store: Store) -> None:
        record = conversation()
        items = [message("user", "a"), message("assistant", "b"), message("user", "c")]
        await store.create_conversation(record, items)
        assert await store.get_conversation_item(ALICE, record.id, items[1].id or "") == items[1]
        assert await store.delete_conversation_item(ALICE, record.id, items[1].id or "") is True
        assert await store.get_conversation_item(ALICE, record.id, items[1].id or "") is None
        assert await store.delete_conversation_item(ALICE, record.id, items[1].id or "") is False
        page = await store.list_conversation_items(ALICE, record.id)
        assert page is not None and texts(page.items) == ["a", "c"]
        # Positions keep counting after a delete: a new item goes last.
        await store.append_conversation_items(ALICE, record.id, [message("user", "d")])
        page = await store.list_conversation_items(ALICE, record.id, after=items[0].id)
        assert page is not None and texts(page.items) == ["c", "d"]
        assert await store.get_conversation_item(ALICE, new_id("conv"), items[0].id or "") is None

    async def test_a_recorded_turn_appends_input_then_output(self, store: Store) -> None:
        record = conversation()
        await store.create_conversation(record, [message("user", "earlier")])
        turn = response(conversation=record.id, status="in_progress", text="now")
        await store.create_response(turn)
        page = await store.list_conversation_items(ALICE, record.id)
        assert page is not None and texts(page.items) == ["earlier"]  # nothing until the turn is done
        done = turn.evolve(
            status="completed", output_items=(message("assistant", "answer"),), completed_at=1.0
        )
        assert await store.update_response(done, append_to_conversation=True) is True
        page = await store.list_conversation_items(ALICE, record.id)
        assert page is not None and texts(page.items) == ["earlier", "now", "answer"]
        assert await store.get_response(ALICE, turn.id) == done

    async def test_a_recorded_turn_saves_its_session_state_with_it(self, store: Store) -> None:
        record = conversation()
        await store.create_conversation(record)
        key = f"conversation:{record.id}"
        turn = response(conversation=record.id, status="in_progress")
        await store.create_response(turn)
        done = turn.evolve(status="completed", output_items=(message("assistant", "answer"),))
        assert await store.update_response(
            done, append_to_conversation=True, session_state=(key, {"turns": 1})
        )
        assert await store.get_session_state(ALICE, key) == {"turns": 1}
        page = await store.list_conversation_items(ALICE, record.id)
        assert page is not None and len(page.items) == 2
        # A response that is gone saves nothing, state included.
        ghost = response(conversation=record.id)
        assert not await store.update_response(
            ghost, append_to_conversation=True, session_state=(key, {"turns": 9})
        )
        assert await store.get_session_state(ALICE, key) == {"turns": 1}
        # Another owner's record cannot write state either (and it would land under its own owner).
        assert not await store.update_response(done.evolve(owner=BOB), session_state=(key, {"turns": 7}))
        assert await store.get_session_state(BOB, key) is None

    async def test_a_turn_for_a_deleted_conversation_still_saves_the_response(self, store: Store) -> None:
        record = conversation()
        await store.create_conversation(record)
        turn = response(conversation=record.id, status="in_progress")
        await store.create_response(turn)
        await store.delete_conversation(ALICE, record.id)
        done = turn.evolve(status="completed")
        assert await store.update_response(done, append_to_conversation=True) is True
        assert await store.get_response(ALICE, turn.id) == done
        assert await store.list_conversation_items(ALICE, record.id) is None

    async def test_deleting_a_conversation_cascades(self, store: Store) -> None:
        record = conversation()
        await store.create_conversation(record, [message("user", "hello")])
        turn = response(conversation=record.id)
        await store.create_response(turn)
        await store.put_session_state(ALICE, f"conversation:{record.id}", {"memory": ["a"]})
        await store.bind_session(ALICE, "chat-1", record.id)
        other = conversation()
        await store.create_conversation(other)
        await store.bind_session(ALICE, "chat-2", other.id)

        assert await store.delete_conversation(ALICE, record.id) is True

        assert await store.get_conversation(ALICE, record.id) is None
        assert await store.list_conversation_items(ALICE, record.id) is None
        assert await store.get_session_state(ALICE, f"conversation:{record.id}") is None
        assert await store.get_session_binding(ALICE, "chat-1") is None
        assert await store.get_session_binding(ALICE, "chat-2") == other.id
        assert await store.get_response(ALICE, turn.id) == turn  # responses are snapshots of their own
        assert await store.delete_conversation(ALICE, record.id) is False
