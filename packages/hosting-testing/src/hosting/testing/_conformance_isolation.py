"""Conformance: one owner never sees another's data, and concurrent writes each land once, whole."""

from __future__ import annotations

import asyncio

from hosting.core import (
    Message,
    PartitionedIdFactory,
)
from hosting.core.stores import ResponseRecord, Store, StoredEvent

from ._conformance_records import (
    ALICE,
    BOB,
    conversation,
    message,
    new_id,
    response,
    store_with_events,
    texts,
)


class IsolationConformance:
    """Part of `StoreConformance`."""

    # -- isolation ---------------------------------------------------------------------------------

    async def test_another_owner_cannot_touch_a_response(self, store: Store) -> None:
        # The id looks like Bob's to a partitioning id factory; the store must go by its owner column.
        ids = PartitionedIdFactory(secret="s")
        parent = response(text="parent").evolve(id=ids.new_id("response", owner=BOB))
        record = response(previous=parent.id).evolve(id=ids.new_id("response", owner=BOB))
        await store.create_response(parent)
        await store_with_events(store, record, [StoredEvent(0, {"n": 0})])

        assert await store.get_response(BOB, record.id) is None
        assert await store.get_history(BOB, record.id) is None
        assert await store.update_response(record.evolve(owner=BOB, status="cancelled")) is False
        assert await store.delete_response(BOB, record.id) is False
        assert await store.read_run_events(BOB, record.id) == ()
        await store.append_run_events(BOB, record.id, [StoredEvent(1, {"n": 1})])
        # A chain never crosses owners either.
        bobs_child = response(BOB, previous=record.id)
        await store.create_response(bobs_child)
        history = await store.get_history(BOB, bobs_child.id)
        assert history is not None and texts(history) == ["question", "answer to question"]

        assert await store.get_response(ALICE, record.id) == record
        assert await store.read_run_events(ALICE, record.id) == (StoredEvent(0, {"n": 0}),)

    async def test_another_owner_cannot_touch_a_conversation(self, store: Store) -> None:
        record = conversation(topic="private")
        items = [message("user", "secret")]
        await store.create_conversation(record, items)
        item_id = items[0].id or ""

        assert await store.get_conversation(BOB, record.id) is None
        assert await store.update_conversation(BOB, record.id, {"topic": "stolen"}) is None
        assert await store.delete_conversation(BOB, record.id) is False
        assert await store.append_conversation_items(BOB, record.id, [message("user", "injected")]) is False
        assert await store.list_conversation_items(BOB, record.id) is None
        assert await store.get_conversation_item(BOB, record.id, item_id) is None
        assert await store.delete_conversation_item(BOB, record.id, item_id) is False
        # Bob's own response naming Alice's conversation appends nothing to it.
        sneaky = response(BOB, conversation=record.id, status="in_progress")
        await store.create_response(sneaky)
        assert await store.update_response(sneaky.evolve(status="completed"), append_to_conversation=True)

        assert await store.get_conversation(ALICE, record.id) == record
        page = await store.list_conversation_items(ALICE, record.id)
        assert page is not None and page.items == tuple(items)

    async def test_session_state_bindings_claims_and_links_are_per_owner(self, store: Store) -> None:
        key = new_id("chat")
        await store.put_session_state(ALICE, key, {"who": "alice"})
        assert await store.get_session_state(BOB, key) is None
        await store.put_session_state(BOB, key, {"who": "bob"})
        assert await store.get_session_state(ALICE, key) == {"who": "alice"}

        alice_conversation, bob_conversation = new_id("conv"), new_id("conv")
        assert await store.bind_session(ALICE, key, alice_conversation) == alice_conversation
        assert await store.get_session_binding(BOB, key) is None
        assert await store.bind_session(BOB, key, bob_conversation) == bob_conversation

        alice_claim = await store.claim_idempotency_key(ALICE, key, "fp-a", new_id("resp"))
        bob_claim = await store.claim_idempotency_key(BOB, key, "fp-b", new_id("resp"))
        assert alice_claim.created and bob_claim.created
        assert alice_claim.response_id != bob_claim.response_id

        await store.link_identity(ALICE, "telegram", "111")
        assert await store.get_identity_links(BOB) == {}
        assert await store.get_identity_links(ALICE) == {"telegram": "111"}

    async def test_a_released_key_is_free_again_unless_another_response_holds_it(self, store: Store) -> None:
        first, second = new_id("resp"), new_id("resp")
        assert (await store.claim_idempotency_key(ALICE, "key-1", "fp", first)).created
        await store.release_idempotency_key(BOB, "key-1", first)  # not Bob's key
        await store.release_idempotency_key(ALICE, "key-1", second)  # not bound to that response
        assert (await store.claim_idempotency_key(ALICE, "key-1", "fp", second)).response_id == first
        await store.release_idempotency_key(ALICE, "key-1", first)
        again = await store.claim_idempotency_key(ALICE, "key-1", "fp", second)
        assert again.created and again.response_id == second
        await store.release_idempotency_key(ALICE, "never-claimed", first)  # nothing to release

    # -- concurrency -------------------------------------------------------------------------------

    async def test_concurrent_appends_are_each_recorded_once_and_never_interleaved(
        self, store: Store
    ) -> None:
        record = conversation()
        await store.create_conversation(record)

        async def append(turn: int) -> bool:
            batch = [message("user", f"{turn}:{part}") for part in range(3)]
            return await store.append_conversation_items(ALICE, record.id, batch)

        assert all(await asyncio.gather(*(append(turn) for turn in range(20))))
        page = await store.list_conversation_items(ALICE, record.id)
        assert page is not None
        recorded = texts(page.items)
        assert len(recorded) == 60
        turns = [recorded[index].split(":")[0] for index in range(0, 60, 3)]
        assert sorted(turns, key=int) == [str(turn) for turn in range(20)]
        for start in range(0, 60, 3):
            turn = recorded[start].split(":")[0]
            assert recorded[start : start + 3] == [f"{turn}:0", f"{turn}:1", f"{turn}:2"]

    async def test_concurrent_turns_are_each_recorded_once_and_whole(self, store: Store) -> None:
        record = conversation()
        await store.create_conversation(record)
        turns = [response(conversation=record.id, status="in_progress", text=f"q{n}") for n in range(20)]
        for turn in turns:
            await store.create_response(turn)

        async def finish(turn: ResponseRecord) -> bool:
            done = turn.evolve(status="completed", output_items=(message("assistant", f"a{turn.id}"),))
            return await store.update_response(done, append_to_conversation=True)

        assert all(await asyncio.gather(*(finish(turn) for turn in turns)))
        page = await store.list_conversation_items(ALICE, record.id)
        assert page is not None and len(page.items) == 40
        questions = {turn.input_items[0].id: turn for turn in turns}
        for index in range(0, 40, 2):
            question, answer = page.items[index], page.items[index + 1]
            turn = questions.pop(question.id)
            assert isinstance(answer, Message) and answer.text == f"a{turn.id}"
        assert questions == {}

    async def test_concurrent_claims_of_one_key_have_one_winner(self, store: Store) -> None:
        key = new_id("idem")
        candidates = [new_id("resp") for _ in range(20)]
        claims = await asyncio.gather(
            *(store.claim_idempotency_key(ALICE, key, f"fp-{n}", rid) for n, rid in enumerate(candidates))
        )
        winners = [claim for claim in claims if claim.created]
        assert len(winners) == 1
        winner = winners[0]
        assert winner.response_id in candidates
        assert winner.fingerprint == f"fp-{candidates.index(winner.response_id)}"
        assert all((c.response_id, c.fingerprint) == (winner.response_id, winner.fingerprint) for c in claims)

    async def test_racing_session_bindings_agree_on_one_conversation(self, store: Store) -> None:
        key = new_id("chat")
        candidates = [new_id("conv") for _ in range(20)]
        bound = await asyncio.gather(*(store.bind_session(ALICE, key, cid) for cid in candidates))
        assert len(set(bound)) == 1 and bound[0] in candidates
        assert await store.get_session_binding(ALICE, key) == bound[0]
        fresh = new_id("conv")
        assert await store.bind_session(ALICE, key, fresh, replace=True) == fresh
        assert await store.bind_session(ALICE, key, new_id("conv")) == fresh

    async def test_racing_creates_of_one_id_have_one_winner(self, store: Store) -> None:
        record = response()
        results = await asyncio.gather(
            *(store.create_response(record.evolve(channel=f"c{n}")) for n in range(10)),
            return_exceptions=True,
        )
        assert sum(result is None for result in results) == 1
        assert all(isinstance(result, ValueError) for result in results if result is not None)
