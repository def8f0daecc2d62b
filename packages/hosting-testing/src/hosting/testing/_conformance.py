"""The store conformance suite: one behaviour for every `Store` backend.

A backend's test module subclasses `StoreConformance` and provides one async
fixture, ``store``, that yields an opened store::

    import pytest
    from hosting.testing import StoreConformance

    class TestRedisStore(StoreConformance):
        @pytest.fixture
        async def store(self, request: pytest.FixtureRequest) -> AsyncIterator[Store]:
            store = RedisStore(url, **retention_options(request))
            await store.open()
            yield store
            await store.close()

The retention tests ask for stores with limits through ``request.param``, a
mapping with the keys ``ttl``, ``max_responses`` and ``max_conversations``
(a None value means "no limit"); `retention_options` reads it. Give every test
a fresh, empty store (a new file, database or key prefix): some tests count
what a purge or a recovery touched.

The tests are ``async`` methods: run them with pytest-asyncio (``asyncio_mode =
"auto"``, or ``pytestmark = pytest.mark.asyncio`` on the subclass and a
``pytest_asyncio.fixture``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import pytest

from hosting.core import (
    FilePart,
    FunctionCall,
    FunctionResult,
    ImagePart,
    Item,
    Message,
    PartitionedIdFactory,
    Reasoning,
    TextPart,
    Usage,
)
from hosting.core.stores import ConversationRecord, ResponseRecord, RunError, Store, StoredEvent

from ._conformance_contexts import ContextConformance
from ._conformance_listing import ListingConformance
from ._conformance_records import (
    ALICE,
    BOB,
    conversation,
    message,
    new_id,
    response,
    store_with_events,
    texts,
    with_limits,
)
from ._conformance_runners import RunnerConformance

RETENTION_KEYS = frozenset({"ttl", "max_responses", "max_conversations"})


def retention_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The retention limits a conformance test asks its ``store`` fixture for (often none).

    Returns a dict with some of ``ttl``, ``max_responses`` and ``max_conversations``; a value
    of None means the test needs that limit switched off.
    """
    options: Mapping[str, Any] = getattr(request, "param", None) or {}
    unknown = set(options) - RETENTION_KEYS
    if unknown:
        raise ValueError(f"unknown retention options {sorted(unknown)}")
    return dict(options)


class StoreConformance(ContextConformance, ListingConformance, RunnerConformance):
    """The behaviour every `Store` backend shares. Subclass it and provide a ``store`` fixture."""

    # -- responses ---------------------------------------------------------------------------------

    async def test_a_response_round_trips_with_every_field(self, store: Store) -> None:
        items: tuple[Item, ...] = (
            Message(
                "user",
                (
                    TextPart("look: ünïcode ✓"),
                    ImagePart(url="https://example.com/a.png", detail="high"),
                    ImagePart(file_id="file_1"),
                    FilePart(data="aGk=", filename="hi.txt"),
                    FilePart(url="https://example.com/f.pdf"),
                ),
                id=new_id("msg"),
            ),
            FunctionResult("call_1", '{"ok": true}', id=new_id("fco")),
        )
        output: tuple[Item, ...] = (
            Reasoning("thinking", id=new_id("rs")),
            FunctionCall("call_2", "lookup", '{"q": "x"}', id=new_id("fc")),
            message("assistant", "done"),
        )
        record = ResponseRecord(
            id=new_id("resp"),
            owner=ALICE,
            created_at=1_700_000_000.125,
            status="completed",
            channel="responses",
            agent="helper",
            input_items=items,
            output_items=output,
            usage=Usage(input_tokens=7, output_tokens=3, reasoning_tokens=1, cached_tokens=2),
            completed_at=1_700_000_001.5,
            background=True,
            attributes={"instructions": "be brief", "tools": [{"name": "lookup"}], "temperature": 0.5},
        )
        await store.create_response(record)
        assert await store.get_response(ALICE, record.id) == record

    async def test_a_failed_response_keeps_its_error(self, store: Store) -> None:
        record = response(status="in_progress")
        await store.create_response(record)
        failed = record.evolve(status="incomplete", error=RunError("boom", "it broke"), incomplete_reason="x")
        assert await store.update_response(failed) is True
        assert await store.get_response(ALICE, record.id) == failed

    async def test_creating_a_response_twice_is_an_error(self, store: Store) -> None:
        record = response()
        await store.create_response(record)
        with pytest.raises(ValueError):
            await store.create_response(record.evolve(owner=BOB))
        assert await store.get_response(ALICE, record.id) == record
        assert await store.get_response(BOB, record.id) is None

    async def test_updating_replaces_the_record(self, store: Store) -> None:
        record = response(status="in_progress")
        await store.create_response(record)
        final = record.evolve(
            status="completed", output_items=(message("assistant", "hi"),), completed_at=5.0
        )
        assert await store.update_response(final) is True
        assert await store.get_response(ALICE, record.id) == final
        assert await store.update_response(response()) is False  # never created

    async def test_an_update_with_create_writes_a_run_that_was_never_created(self, store: Store) -> None:
        first = response(text="one")
        await store.create_response(first)
        conversation_record = conversation()
        await store.create_conversation(conversation_record)
        final = response(text="two", previous=first.id, conversation=conversation_record.id)
        events = [StoredEvent(0, {"n": 0}), StoredEvent(1, {"n": 1})]
        written = await store.update_response(
            final, append_to_conversation=True, session_state=("k", {"v": 1}), events=events, create=True
        )
        assert written is True
        assert await store.get_response(ALICE, final.id) == final
        history = await store.get_history(ALICE, final.id)
        assert history is not None
        assert texts(history) == ["one", "answer to one", "two", "answer to two"]
        assert [event.number for event in await store.read_run_events(ALICE, final.id)] == [0, 1]
        assert await store.get_session_state(ALICE, "k") == {"v": 1}
        page = await store.list_conversation_items(ALICE, conversation_record.id)
        assert page is not None
        assert texts(page.items) == ["two", "answer to two"]
        # Another owner's id is refused, and their record stays as it was.
        theirs = response(BOB)
        await store.create_response(theirs)
        assert await store.update_response(theirs.evolve(owner=ALICE), create=True) is False
        assert await store.get_response(BOB, theirs.id) == theirs
        assert await store.get_response(ALICE, theirs.id) is None

    async def test_a_plain_create_writes_a_new_record_and_never_rewrites_a_finished_one(
        self, store: Store
    ) -> None:
        # The write an inline run makes at its end: the record alone, no events, turn or state.
        first = response(text="one")
        assert await store.update_response(first, create=True) is True
        assert await store.get_response(ALICE, first.id) == first
        child = response(text="two", previous=first.id)
        assert await store.update_response(child, create=True) is True
        history = await store.get_history(ALICE, child.id)  # read (and maybe cached) through `first`
        assert history is not None and texts(history) == ["one", "answer to one", "two", "answer to two"]
        rewritten = first.evolve(output_items=(message("assistant", "changed"),))
        assert await store.update_response(rewritten, create=True) is False
        assert await store.get_response(ALICE, first.id) == first
        history = await store.get_history(ALICE, child.id)
        assert history is not None and texts(history) == ["one", "answer to one", "two", "answer to two"]
        running = response(text="three", status="in_progress")
        await store.create_response(running)
        ended = running.evolve(status="completed", output_items=(message("assistant", "done"),))
        assert await store.update_response(ended, create=True) is True
        assert await store.get_response(ALICE, running.id) == ended
        theirs = response(BOB)
        await store.create_response(theirs)
        assert await store.update_response(theirs.evolve(owner=ALICE, status="failed"), create=True) is False
        assert await store.get_response(BOB, theirs.id) == theirs

    async def test_a_deleted_response_is_gone(self, store: Store) -> None:
        record = response()
        await store.create_response(record)
        assert await store.delete_response(ALICE, record.id) is True
        assert await store.get_response(ALICE, record.id) is None
        assert await store.get_history(ALICE, record.id) is None
        assert await store.delete_response(ALICE, record.id) is False
        assert await store.update_response(record) is False

    async def test_history_follows_the_chain_oldest_first(self, store: Store) -> None:
        first = response(text="one")
        second = response(text="two", previous=first.id)
        third = response(text="three", previous=second.id, status="in_progress")
        for record in (first, second, third):
            await store.create_response(record)
        history = await store.get_history(ALICE, third.id)
        assert history is not None
        assert texts(history) == ["one", "answer to one", "two", "answer to two", "three"]
        assert await store.get_history(ALICE, new_id("resp")) is None

    async def test_a_long_chain_keeps_every_turn_in_order(self, store: Store) -> None:
        previous: str | None = None
        for turn in range(120):
            record = response(text=f"q{turn}", previous=previous)
            await store.create_response(record)
            previous = record.id
        assert previous is not None
        history = await store.get_history(ALICE, previous)
        assert history is not None
        assert len(history) == 240
        assert texts(history)[:4] == ["q0", "answer to q0", "q1", "answer to q1"]
        assert texts(history)[-2:] == ["q119", "answer to q119"]

    async def test_branches_see_only_their_own_history(self, store: Store) -> None:
        root = response(text="root")
        left = response(text="left", previous=root.id)
        right = response(text="right", previous=root.id)
        left_child = response(text="left child", previous=left.id)
        for record in (root, left, right, left_child):
            await store.create_response(record)
        left_history = await store.get_history(ALICE, left_child.id)
        right_history = await store.get_history(ALICE, right.id)
        assert left_history is not None and right_history is not None
        assert texts(left_history) == [
            "root",
            "answer to root",
            "left",
            "answer to left",
            "left child",
            "answer to left child",
        ]
        assert texts(right_history) == ["root", "answer to root", "right", "answer to right"]

    async def test_deleting_a_response_cascades_and_spares_its_children(self, store: Store) -> None:
        parent = response(text="parent")
        middle = response(text="middle", previous=parent.id)
        child = response(text="child", previous=middle.id)
        await store.create_response(parent)
        for record in (middle, child):
            await store_with_events(store, record, [StoredEvent(0, {"type": "started"})])
        await store.put_session_state(ALICE, f"response:{middle.id}", {"turns": 2})
        await store.put_session_state(ALICE, f"response:{child.id}", {"turns": 3})
        await store.claim_idempotency_key(ALICE, "key-middle", "fp", middle.id)

        assert await store.delete_response(ALICE, middle.id) is True

        assert await store.read_run_events(ALICE, middle.id) == ()
        assert await store.get_session_state(ALICE, f"response:{middle.id}") is None
        reclaimed = await store.claim_idempotency_key(ALICE, "key-middle", "fp2", new_id("resp"))
        assert reclaimed.created is True
        # The child keeps its own data; its history now starts after the deleted response.
        assert await store.get_response(ALICE, child.id) == child
        assert await store.read_run_events(ALICE, child.id) == (StoredEvent(0, {"type": "started"}),)
        assert await store.get_session_state(ALICE, f"response:{child.id}") == {"turns": 3}
        history = await store.get_history(ALICE, child.id)
        assert history is not None and texts(history) == ["child", "answer to child"]
        assert await store.get_response(ALICE, parent.id) == parent

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

    # -- session state, events, links --------------------------------------------------------------

    async def test_session_state_is_a_copy(self, store: Store) -> None:
        key = new_id("state")
        state: dict[str, Any] = {"history": [1, 2], "nested": {"a": "b"}, "flag": True, "none": None}
        await store.put_session_state(ALICE, key, state)
        state["history"].append(3)
        loaded = await store.get_session_state(ALICE, key)
        assert loaded == {"history": [1, 2], "nested": {"a": "b"}, "flag": True, "none": None}
        assert loaded is not None
        loaded["nested"]["a"] = "changed"
        assert await store.get_session_state(ALICE, key) == {
            "history": [1, 2],
            "nested": {"a": "b"},
            "flag": True,
            "none": None,
        }
        await store.put_session_state(ALICE, key, {"replaced": 1})
        assert await store.get_session_state(ALICE, key) == {"replaced": 1}
        assert await store.get_session_state(ALICE, new_id("state")) is None

    async def test_run_events_are_numbered_and_kept_once(self, store: Store) -> None:
        record = response(status="in_progress")
        await store.create_response(record)
        first = [StoredEvent(n, {"type": "delta", "n": n, "text": f"t{n}"}) for n in range(5)]
        await store.append_run_events(ALICE, record.id, first)
        await store.append_run_events(ALICE, record.id, [StoredEvent(2, {"type": "other"})])
        await store.append_run_events(ALICE, record.id, [StoredEvent(5, {"type": "done", "usage": {"a": 1}})])
        events = await store.read_run_events(ALICE, record.id)
        assert [event.number for event in events] == [0, 1, 2, 3, 4, 5]
        assert events[2] == StoredEvent(2, {"type": "delta", "n": 2, "text": "t2"})
        assert events[5].data == {"type": "done", "usage": {"a": 1}}
        assert [event.number for event in await store.read_run_events(ALICE, record.id, after=3)] == [4, 5]
        assert await store.read_run_events(ALICE, record.id, after=5) == ()
        unknown = new_id("resp")
        await store.append_run_events(ALICE, unknown, first)
        assert await store.read_run_events(ALICE, unknown) == ()

    async def test_identity_links_keep_one_address_per_channel(self, store: Store) -> None:
        owner = new_id("user")
        await store.link_identity(owner, "telegram", "111")
        await store.link_identity(owner, "slack", "U1")
        await store.link_identity(owner, "telegram", "222")
        assert await store.get_identity_links(owner) == {"telegram": "222", "slack": "U1"}

    async def test_a_store_can_be_closed_and_opened_again(self, store: Store) -> None:
        record = response()
        await store.create_response(record)
        await store.open()  # opening an open store does nothing
        assert await store.get_response(ALICE, record.id) == record
        await store.close()
        await store.open()
        assert await store.get_response(ALICE, record.id) == record

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
