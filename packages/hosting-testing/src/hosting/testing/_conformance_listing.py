"""Conformance: listings by owner, items found by id, one-time tokens, seen keys, delivery failures."""

from __future__ import annotations

import asyncio
import time

import pytest

from hosting.core.stores import DeliveryFailure, Store

from ._conformance_records import ALICE, BOB, conversation, message, new_id, response, texts


class ListingConformance:
    """Part of `StoreConformance`."""

    # -- listing responses -------------------------------------------------------------------------

    async def test_responses_are_listed_newest_first_by_owner_and_paged(self, store: Store) -> None:
        base = time.time() - 100
        mine = [response(created_at=base + index) for index in range(5)]
        for record in mine:
            await store.create_response(record)
        await store.create_response(response(BOB, created_at=base + 2.5))
        page = await store.list_responses(ALICE, limit=2)
        assert [record.id for record in page.records] == [mine[4].id, mine[3].id] and page.has_more
        rest = await store.list_responses(ALICE, after=page.records[-1].id, limit=10)
        assert [record.id for record in rest.records] == [mine[2].id, mine[1].id, mine[0].id]
        assert not rest.has_more
        oldest = await store.list_responses(ALICE, order="asc", limit=5)
        assert [record.id for record in oldest.records] == [record.id for record in mine]
        assert not oldest.has_more
        assert (await store.list_responses(BOB)).records[0].owner == BOB

    async def test_responses_are_listed_by_conversation_and_channel(self, store: Store) -> None:
        head = conversation()
        await store.create_conversation(head)
        inside = response(conversation=head.id)
        other = response().evolve(channel="elsewhere")
        await store.create_response(inside)
        await store.create_response(other)
        by_conversation = await store.list_responses(ALICE, conversation_id=head.id)
        assert [record.id for record in by_conversation.records] == [inside.id]
        by_channel = await store.list_responses(ALICE, channel="elsewhere")
        assert [record.id for record in by_channel.records] == [other.id]
        assert texts(by_channel.records[0].input_items) == texts(other.input_items)

    async def test_another_owners_cursor_gives_an_empty_page(self, store: Store) -> None:
        theirs = response(BOB)
        await store.create_response(theirs)
        await store.create_response(response())
        page = await store.list_responses(ALICE, after=theirs.id)
        assert page.records == () and not page.has_more

    # -- listing conversations ---------------------------------------------------------------------

    async def test_conversations_are_listed_newest_first_by_owner_and_paged(self, store: Store) -> None:
        base = time.time() - 100
        mine = [conversation(created_at=base + index, title=f"t{index}") for index in range(3)]
        for head in mine:
            await store.create_conversation(head)
        await store.create_conversation(conversation(BOB))
        first = await store.list_conversations(ALICE, limit=2)
        assert [head.id for head in first.records] == [mine[2].id, mine[1].id] and first.has_more
        assert first.records[0].metadata == {"title": "t2"}
        rest = await store.list_conversations(ALICE, after=first.records[-1].id)
        assert [head.id for head in rest.records] == [mine[0].id] and not rest.has_more
        assert [head.id for head in (await store.list_conversations(ALICE, order="asc")).records] == [
            head.id for head in mine
        ]
        assert (await store.list_conversations(ALICE, after=new_id("conv"))).records == ()

    async def test_a_deleted_conversation_is_not_listed(self, store: Store) -> None:
        head = conversation()
        await store.create_conversation(head)
        await store.delete_conversation(ALICE, head.id)
        assert (await store.list_conversations(ALICE)).records == ()

    # -- finding items -----------------------------------------------------------------------------

    async def test_an_item_is_found_by_id_in_responses_and_conversations(self, store: Store) -> None:
        record = response()
        await store.create_response(record)
        kept = message("user", "in a conversation")
        head = conversation()
        await store.create_conversation(head, [kept])
        for item in (record.input_items[0], record.output_items[0], kept):
            assert item.id is not None
            found = await store.find_item(ALICE, item.id)
            assert found is not None and texts([found]) == texts([item]) and found.id == item.id
        assert await store.find_item(ALICE, new_id("msg")) is None

    async def test_another_owners_item_is_not_found(self, store: Store) -> None:
        record = response(BOB)
        await store.create_response(record)
        head = conversation(BOB)
        theirs = message("user", "secret")
        await store.create_conversation(head, [theirs])
        for item in (record.input_items[0], theirs):
            assert item.id is not None
            assert await store.find_item(ALICE, item.id) is None

    # -- one-time tokens ---------------------------------------------------------------------------

    async def test_a_token_is_taken_once_with_its_owner_and_data(self, store: Store) -> None:
        await store.put_token("link", "123456", owner=ALICE, data={"channel": "telegram"}, ttl=60)
        with pytest.raises(ValueError, match="exists"):
            await store.put_token("link", "123456", owner=BOB, data={}, ttl=60)
        await store.put_token("other", "123456", owner=BOB, data={}, ttl=60)  # namespaces are apart
        taken = await store.take_token("link", "123456")
        assert taken is not None and (taken.owner, dict(taken.data)) == (ALICE, {"channel": "telegram"})
        assert await store.take_token("link", "123456") is None
        assert await store.take_token("link", "unknown") is None

    async def test_an_expired_token_cannot_be_taken_and_can_be_issued_again(self, store: Store) -> None:
        await store.put_token("link", "999", owner=ALICE, data={}, ttl=0.05)
        await asyncio.sleep(0.1)
        assert await store.take_token("link", "999") is None
        await store.put_token("link", "999", owner=BOB, data={}, ttl=0.05)
        await asyncio.sleep(0.1)
        await store.put_token("link", "999", owner=ALICE, data={"again": True}, ttl=60)
        taken = await store.take_token("link", "999")
        assert taken is not None and taken.owner == ALICE

    async def test_concurrent_takes_of_one_token_give_it_to_one(self, store: Store) -> None:
        await store.put_token("link", "race", owner=ALICE, data={}, ttl=60)
        results = await asyncio.gather(*(store.take_token("link", "race") for _ in range(8)))
        assert sum(result is not None for result in results) == 1

    # -- seen keys ---------------------------------------------------------------------------------

    async def test_a_key_is_new_once_until_it_expires(self, store: Store) -> None:
        assert await store.remember("updates", "42", ttl=60) is True
        assert await store.remember("updates", "42", ttl=60) is False
        assert await store.remember("other", "42", ttl=60) is True
        assert await store.remember("updates", "soon", ttl=0.05) is True
        await asyncio.sleep(0.1)
        assert await store.remember("updates", "soon", ttl=60) is True

    # -- delivery failures -------------------------------------------------------------------------

    async def test_delivery_failures_are_listed_newest_first_per_owner_or_all(self, store: Store) -> None:
        base = time.time()
        failures = [
            DeliveryFailure(
                new_id("dlv"),
                owner,
                "telegram",
                "chat-1",
                (message("assistant", "hi"),),
                "boom",
                3,
                base + index,
            )
            for index, owner in enumerate((ALICE, BOB, ALICE))
        ]
        for failure in failures:
            await store.add_delivery_failure(failure)
        everyone = await store.list_delivery_failures()
        assert [failure.id for failure in everyone] == [failures[2].id, failures[1].id, failures[0].id]
        alices = await store.list_delivery_failures(owner=ALICE, limit=1)
        assert [failure.id for failure in alices] == [failures[2].id]
        kept = alices[0]
        assert (kept.channel, kept.address, kept.error, kept.attempts) == ("telegram", "chat-1", "boom", 3)
        assert texts(kept.items) == ["hi"]
