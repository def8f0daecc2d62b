"""The context cache: histories and conversation listings that cost the same at every turn."""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from hosting.core import (
    ConfigurationError,
    Item,
    MemoryStore,
    Message,
    SQLiteStore,
    assistant_message,
    user_message,
)
from hosting.core._store._context_cache import ContextCache
from hosting.core._store._sqlite_worker import SQLiteWorker
from hosting.core.stores import ConversationRecord, ResponseRecord, Store


def said(text: str) -> Message:
    return Message("user", user_message(text).parts, id=f"msg_{os.urandom(6).hex()}")


def turn(owner: str, index: int, previous: str | None = None, **fields: Any) -> ResponseRecord:
    return ResponseRecord(
        id=f"resp_{index:04d}_{os.urandom(4).hex()}",
        owner=owner,
        created_at=time.time(),
        status=fields.pop("status", "completed"),
        input_items=(user_message(f"q{index}"),),
        output_items=(assistant_message(f"a{index}"),),
        previous_response_id=previous,
        completed_at=time.time(),
        **fields,
    )


def texts(items: tuple[Item, ...] | None) -> list[str]:
    assert items is not None
    return [item.text for item in items if isinstance(item, Message)]


# -- the cache itself ------------------------------------------------------------------------------


def test_the_cache_is_bounded_by_the_items_it_holds_least_recently_used_first() -> None:
    cache = ContextCache(max_items=10)
    three = (user_message("a"), user_message("b"), user_message("c"))
    cache.keep_chain("alice", "r1", three)  # weighs 4: three items and the entry
    cache.keep_chain("alice", "r2", three)
    assert cache.held_items == 8
    assert cache.chain("alice", "r1") is not None  # r1 is now the most recently used
    cache.keep_listing("alice", "c1", three, 3)
    assert cache.chain("alice", "r2") is None  # the least recently used went first
    assert cache.chain("alice", "r1") is not None and cache.listing("alice", "c1") is not None
    assert cache.held_items == 8 and len(cache) == 2
    cache.keep_chain("alice", "huge", tuple(user_message(str(n)) for n in range(10)))
    assert cache.chain("alice", "huge") is None  # larger than the whole cache: not kept
    assert len(cache) == 2  # and nothing was evicted for it


def test_a_cache_of_size_zero_keeps_nothing() -> None:
    cache = ContextCache(max_items=0)
    cache.keep_chain("alice", "r1", ())
    cache.keep_listing("alice", "c1", (), 0)
    assert cache.chain("alice", "r1") is None and cache.listing("alice", "c1") is None
    assert cache.held_items == 0


def test_chains_are_forgotten_per_owner_and_listings_per_conversation() -> None:
    cache = ContextCache()
    item = (user_message("x"),)
    for owner in ("alice", "bob"):
        cache.keep_chain(owner, "r1", item, depth=3)
        cache.keep_listing(owner, "c1", item, 1)
    cache.forget_chains("alice")
    assert cache.chain("alice", "r1") is None
    assert cache.chain("bob", "r1") is not None
    assert cache.listing("alice", "c1") is not None  # listings are not chains
    cache.forget_listing("bob", "c1")
    assert cache.listing("bob", "c1") is None and cache.listing("alice", "c1") is not None
    cache.forget_chains()
    assert cache.chain("bob", "r1") is None
    assert cache.held_items == 2  # alice's listing alone


def test_an_append_extends_a_listing_only_where_it_ends() -> None:
    cache = ContextCache()
    first, second, third = said("1"), said("2"), said("3")
    cache.keep_listing("alice", "c1", (first,), 1)
    cache.appended("alice", "c1", 1, [second])
    listing = cache.listing("alice", "c1")
    assert listing is not None and listing.items == (first, second) and listing.end == 2
    cache.appended("alice", "c1", 5, [third])  # someone else appended in between: start over
    assert cache.listing("alice", "c1") is None
    cache.appended("alice", "c1", 5, [third])  # nothing cached: nothing to extend
    assert cache.listing("alice", "c1") is None
    assert cache.held_items == 0


def test_a_new_data_version_or_a_response_where_a_chain_stopped_drops_entries() -> None:
    cache = ContextCache()
    cache.observe(1)
    cache.keep_chain("alice", "r2", (user_message("x"),), cut_at="r1")
    cache.keep_listing("alice", "c1", (), 0)
    cache.response_created("alice", "r9")
    cache.response_created("bob", "r1")
    assert cache.chain("alice", "r2") is not None
    cache.response_created("alice", "r1")  # the missing ancestor appeared: the chain would grow
    assert cache.chain("alice", "r2") is None and cache.listing("alice", "c1") is not None
    cache.observe(1)
    assert cache.listing("alice", "c1") is not None
    cache.observe(2)  # another writer committed
    assert cache.listing("alice", "c1") is None and len(cache) == 0


@pytest.mark.parametrize("make", [MemoryStore, SQLiteStore])
def test_a_negative_cache_size_is_refused(make: Callable[..., Store], tmp_path: Path) -> None:
    arguments = (tmp_path,) if make is SQLiteStore else ()
    with pytest.raises(ConfigurationError, match="context_cache_items"):
        make(*arguments, context_cache_items=-1)


# -- the SQLite store: constant work per turn ------------------------------------------------------


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(tmp_path)
    await store.open()
    yield store
    await store.close()


async def traced(store: SQLiteStore, call: Callable[[], Any]) -> tuple[Any, list[str]]:
    """The result of `call` and the statements SQLite ran for it."""
    statements: list[str] = []
    await store._call(lambda connection: connection.set_trace_callback(statements.append))
    try:
        result = await call()
    finally:
        await store._call(lambda connection: connection.set_trace_callback(None))
    return result, statements


async def test_a_turn_on_a_cached_parent_reads_one_row_however_long_the_chain(
    sqlite_store: SQLiteStore,
) -> None:
    store = sqlite_store
    heads: list[str] = []
    previous: str | None = None
    for index in range(61):
        record = turn("alice", index, previous)
        await store.create_response(record)
        heads.append(record.id)
        previous = record.id
    assert texts(await store.get_history("alice", heads[0])) == ["q0", "a0"]

    work: dict[int, list[str]] = {}
    for index in range(1, 61):  # what the engine does: each turn reads its parent's history
        history, statements = await traced(store, partial(store.get_history, "alice", heads[index]))
        assert texts(history) == [text for n in range(index + 1) for text in (f"q{n}", f"a{n}")]
        work[index] = [sql.replace(heads[index], "<head>") for sql in statements]
    assert work[2] == work[30] == work[60]
    assert [sql.split()[0] for sql in work[60]] == ["PRAGMA", "BEGIN", "SELECT", "PRAGMA", "COMMIT"]
    assert "WHERE id = '<head>' AND owner = 'alice'" in work[60][2]
    assert not any("RECURSIVE" in sql for sql in work[60])

    again, statements = await traced(store, lambda: store.get_history("alice", heads[60]))
    assert again is history  # the very same tuple: nothing decoded, nothing copied
    assert statements == ["PRAGMA data_version"]


async def test_a_conversation_is_listed_once_then_extended_by_each_turn(
    sqlite_store: SQLiteStore, tmp_path: Path
) -> None:
    store = sqlite_store
    record = ConversationRecord("conv_cached", "alice", time.time())
    await store.create_conversation(record, [said("first")])
    page = await store.list_conversation_items("alice", record.id)
    assert page is not None and texts(page.items) == ["first"]
    turns = [turn("alice", n, conversation_id=record.id, status="in_progress") for n in range(20)]
    for each in turns:
        await store.create_response(each)

    async def finish(each: ResponseRecord) -> bool:
        done = each.evolve(status="completed", output_items=(assistant_message(f"a-{each.id}"),))
        return await store.update_response(done, append_to_conversation=True)

    # 20 concurrent turns: the worker commits them in batches, each appending where the last ended.
    assert all(await asyncio.gather(*(finish(each) for each in turns)))
    page, statements = await traced(store, lambda: store.list_conversation_items("alice", record.id))
    assert statements == ["PRAGMA data_version"]  # served from the extended listing, not re-read
    assert page is not None and len(page.items) == 41

    fresh = SQLiteStore(tmp_path, context_cache_items=0)
    try:
        reread = await fresh.list_conversation_items("alice", record.id)
    finally:
        await fresh.close()
    assert reread is not None and reread.items == page.items
    for index in range(1, 41, 2):  # and each turn's input and output are next to each other
        question, answer = page.items[index], page.items[index + 1]
        owner_turn = next(each for each in turns if each.input_items[0] == question)
        assert isinstance(answer, Message) and answer.text == f"a-{owner_turn.id}"


async def test_another_connections_writes_are_noticed(tmp_path: Path) -> None:
    mine, theirs = SQLiteStore(tmp_path), SQLiteStore(tmp_path)
    try:
        first = turn("alice", 1)
        second = turn("alice", 2, first.id)
        await mine.create_response(first)
        await mine.create_response(second)
        conversation = ConversationRecord("conv_shared", "alice", time.time())
        await mine.create_conversation(conversation, [said("a")])
        assert texts(await mine.get_history("alice", second.id)) == ["q1", "a1", "q2", "a2"]
        page = await mine.list_conversation_items("alice", conversation.id)
        assert page is not None and texts(page.items) == ["a"]

        assert await theirs.delete_response("alice", first.id)
        assert await theirs.append_conversation_items("alice", conversation.id, [said("b")])

        assert texts(await mine.get_history("alice", second.id)) == ["q2", "a2"]
        page = await mine.list_conversation_items("alice", conversation.id)
        assert page is not None and texts(page.items) == ["a", "b"]
    finally:
        await mine.close()
        await theirs.close()


async def test_a_batch_whose_commit_fails_tells_the_store_to_forget(tmp_path: Path) -> None:
    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(tmp_path / "worker.db", isolation_level=None)
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        # Checked at COMMIT, not at the insert: the batch's commit itself fails.
        connection.execute(
            "CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
        )
        return connection

    def hold(connection: sqlite3.Connection) -> bool:
        started.set()
        return release.wait(10)

    abandoned: list[sqlite3.Connection] = []
    worker = SQLiteWorker(connect, lambda connection: connection.close(), abandoned=abandoned.append)
    started, release = threading.Event(), threading.Event()
    try:
        # The first call holds the thread, so the next ones queue up and run as one batch.
        blocker = asyncio.ensure_future(worker.call(hold))
        assert await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
        batch = [
            asyncio.ensure_future(worker.call(lambda c: c.execute("INSERT INTO parent VALUES (1)").rowcount)),
            asyncio.ensure_future(worker.call(lambda c: c.execute("INSERT INTO child VALUES (99)").rowcount)),
        ]
        release.set()
        assert await blocker is True
        outcomes = await asyncio.gather(*batch, return_exceptions=True)
        assert all(isinstance(outcome, sqlite3.IntegrityError) for outcome in outcomes)
        assert len(abandoned) == 1
        count = await worker.call(lambda c: c.execute("SELECT COUNT(*) FROM parent").fetchone()[0])
        assert count == 0  # rolled back, and the connection is usable again
    finally:
        release.set()
        await worker.stop()


async def test_the_store_clears_its_cache_when_a_batch_is_abandoned(sqlite_store: SQLiteStore) -> None:
    store = sqlite_store
    record = turn("alice", 1)
    await store.create_response(record)
    assert texts(await store.get_history("alice", record.id)) == ["q1", "a1"]
    caches = list(store._caches.values())
    assert len(caches) == 1 and len(caches[0]) == 1
    await store._call(store._forget_rolled_back)
    assert len(caches[0]) == 0


# -- any order of writes and reads: the cache never changes an answer -------------------------------


def recent(rng: random.Random, records: list[Any]) -> Any:
    """Mostly one of the last few (as turns go), sometimes any."""
    if rng.random() < 0.7:
        return records[-rng.randint(1, min(len(records), 6))]
    return rng.choice(records)


async def differential(cached: Store, reference: Store, *, seed: int, steps: int) -> int:
    """Apply one random sequence of writes to `cached`; after each read, compare with `reference`.

    `reference` either receives the same writes (the memory stores) or reads the same file.
    Returns how many reads were compared.
    """
    rng = random.Random(seed)
    targets = (cached,) if isinstance(reference, SQLiteStore) else (cached, reference)
    owners = ("alice", "bob")
    responses: list[ResponseRecord] = []
    conversations: list[ConversationRecord] = []
    unborn: list[str] = []  # ids a response names as its previous before they exist
    compared = 0

    async def create(record: ResponseRecord) -> None:
        for store in targets:
            await store.create_response(record)
        responses.append(record)

    for step in range(steps):
        action = rng.random()
        owner = rng.choice(owners)
        if action < 0.25 or not responses:
            parent = recent(rng, responses).id if responses and rng.random() < 0.9 else None
            conversation_id = rng.choice(conversations).id if conversations and rng.random() < 0.3 else None
            status = "in_progress" if rng.random() < 0.2 else "completed"
            await create(turn(owner, step, parent, status=status, conversation_id=conversation_id))
        elif action < 0.28:
            unborn.append(f"resp_unborn_{step}_{os.urandom(3).hex()}")
            await create(turn(owner, step, unborn[-1]))
        elif action < 0.31 and unborn:
            parent = recent(rng, responses).id if rng.random() < 0.5 else None
            await create(turn(owner, step, parent).evolve(id=unborn.pop(0)))
        elif action < 0.36 and any(not record.finished for record in responses):
            record = next(record for record in reversed(responses) if not record.finished)
            done = record.evolve(status="completed", output_items=(assistant_message(f"done {step}"),))
            for store in targets:
                await store.update_response(done, append_to_conversation=bool(record.conversation_id))
            responses[responses.index(record)] = done
        elif action < 0.4:
            record = recent(rng, responses)
            changed = record.evolve(
                status="completed", output_items=(assistant_message(f"rewritten {step}"),)
            )
            append = bool(record.conversation_id) and rng.random() < 0.7
            for store in targets:
                await store.update_response(changed, append_to_conversation=append)
            responses[responses.index(record)] = changed
        elif action < 0.44:
            record = rng.choice(responses)
            for store in targets:
                await store.delete_response(record.owner, record.id)
        elif action < 0.49:
            started = ConversationRecord(f"conv_{step}_{os.urandom(3).hex()}", owner, time.time())
            first = [said(f"c{step}")]
            for store in targets:
                await store.create_conversation(started, first)
            conversations.append(started)
        elif action < 0.58 and conversations:
            conversation = recent(rng, conversations)
            items = [said(f"i{step}.{n}") for n in range(rng.randint(1, 3))]
            for store in targets:
                await store.append_conversation_items(conversation.owner, conversation.id, items)
        elif action < 0.62 and conversations:
            conversation = recent(rng, conversations)
            page = await reference.list_conversation_items(conversation.owner, conversation.id)
            if page is not None and page.items:
                item_id = rng.choice(page.items).id or ""
                for store in targets:
                    await store.delete_conversation_item(conversation.owner, conversation.id, item_id)
        elif action < 0.64 and conversations:
            conversation = rng.choice(conversations)
            for store in targets:
                await store.delete_conversation(conversation.owner, conversation.id)
        elif action < 0.85:
            record = recent(rng, responses)
            reader = record.owner if rng.random() < 0.9 else rng.choice(owners)  # a stranger gets None
            got = await cached.get_history(reader, record.id)
            assert got == await reference.get_history(reader, record.id), f"step {step}"
            compared += 1
        elif conversations:
            conversation = recent(rng, conversations)
            reader = conversation.owner if rng.random() < 0.9 else rng.choice(owners)
            got_page = await cached.list_conversation_items(reader, conversation.id)
            want_page = await reference.list_conversation_items(reader, conversation.id)
            assert got_page == want_page, f"step {step}"
            compared += 1
    return compared


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_memory_store_answers_as_it_would_without_a_cache(seed: int) -> None:
    compared = await differential(MemoryStore(), MemoryStore(context_cache_items=0), seed=seed, steps=400)
    assert compared > 50


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_sqlite_store_answers_as_a_fresh_reader_of_its_file_would(
    seed: int, tmp_path: Path
) -> None:
    cached = SQLiteStore(tmp_path, context_cache_items=500)  # small, so eviction happens too
    reference = SQLiteStore(tmp_path, context_cache_items=0)
    await cached.open()
    await reference.open()
    try:
        compared = await differential(cached, reference, seed=seed, steps=400)
    finally:
        await cached.close()
        await reference.close()
    assert compared > 50


async def test_the_memory_store_chain_grows_when_a_missing_ancestor_appears() -> None:
    store = MemoryStore()
    orphan = turn("alice", 2, "resp_missing")
    await store.create_response(orphan)
    assert texts(await store.get_history("alice", orphan.id)) == ["q2", "a2"]
    await store.create_response(turn("alice", 1).evolve(id="resp_missing"))
    # The memory store follows links by id whenever it reads, so the chain now reaches further.
    assert texts(await store.get_history("alice", orphan.id)) == ["q1", "a1", "q2", "a2"]


async def test_the_sqlite_store_keeps_a_chain_where_its_depth_cut_it(sqlite_store: SQLiteStore) -> None:
    store = sqlite_store
    orphan = turn("alice", 2, "resp_missing")  # depth 0: its parent did not exist when it was made
    await store.create_response(orphan)
    late_parent = turn("alice", 1).evolve(id="resp_missing")
    await store.create_response(late_parent)
    assert texts(await store.get_history("alice", late_parent.id)) == ["q1", "a1"]  # cached now
    # Depths are fixed at insert and the walk only steps to smaller ones, cache or no cache.
    assert texts(await store.get_history("alice", orphan.id)) == ["q2", "a2"]
    child = turn("alice", 3, orphan.id)
    await store.create_response(child)
    assert texts(await store.get_history("alice", child.id)) == ["q2", "a2", "q3", "a3"]
