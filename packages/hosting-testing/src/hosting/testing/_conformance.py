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
    Reasoning,
    TextPart,
    Usage,
)
from hosting.core.stores import ResponseRecord, RunError, Store, StoredEvent

from ._conformance_contexts import ContextConformance
from ._conformance_conversations import ConversationConformance
from ._conformance_isolation import IsolationConformance
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
)
from ._conformance_retention import RetentionConformance
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


class StoreConformance(
    ContextConformance,
    ConversationConformance,
    IsolationConformance,
    ListingConformance,
    RetentionConformance,
    RunnerConformance,
):
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
