"""Followers across processes: `wait_for_run_events` on one store wakes when another store
sharing the database appends events or ends the run (LISTEN/NOTIFY), and only then."""

from __future__ import annotations

import asyncio
import time

import psycopg

from hosting.core import Message, TextPart
from hosting.core.stores import ResponseRecord, StoredEvent
from hosting.postgres import PostgresStore

OWNER = "alice"


def running(response_id: str) -> ResponseRecord:
    return ResponseRecord(
        id=response_id,
        owner=OWNER,
        created_at=time.time(),
        status="in_progress",
        channel="test",
        input_items=(Message("user", (TextPart("hi"),), id=f"msg_{response_id}"),),
    )


async def _listening(store: PostgresStore) -> None:
    """Make `store` subscribe (a first, short wait starts its listener) and wait until it is."""
    await store.wait_for_run_events("resp_nothing", 0.01)
    for _ in range(100):
        if store._notifier is not None and store._notifier.listening:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the store never started listening")


async def test_an_append_on_one_replica_wakes_a_waiter_on_the_other(
    replicas: tuple[PostgresStore, PostgresStore],
) -> None:
    writer, follower = replicas
    record = running("resp_live")
    await writer.create_response(record)
    await _listening(follower)

    started = time.monotonic()
    waiting = asyncio.create_task(follower.wait_for_run_events(record.id, 5.0))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # nothing was stored yet: it waits
    await writer.append_run_events(OWNER, record.id, [StoredEvent(0, {"type": "created"})])
    await asyncio.wait_for(waiting, 2.0)
    assert time.monotonic() - started < 1.0  # woken, not timed out
    assert await follower.read_run_events(OWNER, record.id) == (StoredEvent(0, {"type": "created"}),)


async def test_the_end_of_a_run_wakes_its_waiters_too(replicas: tuple[PostgresStore, PostgresStore]) -> None:
    writer, follower = replicas
    record = running("resp_ending")
    await writer.create_response(record)
    await _listening(follower)
    waiters = [asyncio.create_task(follower.wait_for_run_events(record.id, 5.0)) for _ in range(3)]
    await asyncio.sleep(0.05)
    started = time.monotonic()
    done = record.evolve(status="completed", completed_at=time.time())
    assert await writer.update_response(done, events=[StoredEvent(0, {"type": "completed"})])
    await asyncio.wait_for(asyncio.gather(*waiters), 2.0)
    assert time.monotonic() - started < 1.0


async def test_a_waiter_of_another_run_sleeps_until_its_timeout(
    replicas: tuple[PostgresStore, PostgresStore],
) -> None:
    writer, follower = replicas
    busy, quiet = running("resp_busy"), running("resp_quiet")
    for record in (busy, quiet):
        await writer.create_response(record)
    await _listening(follower)
    started = time.monotonic()
    waiting = asyncio.create_task(follower.wait_for_run_events(quiet.id, 0.4))
    await asyncio.sleep(0.05)
    await writer.append_run_events(OWNER, busy.id, [StoredEvent(0, {"type": "created"})])
    await asyncio.wait_for(waiting, 2.0)
    assert time.monotonic() - started >= 0.35


async def test_events_that_are_dropped_notify_nobody(replicas: tuple[PostgresStore, PostgresStore]) -> None:
    writer, follower = replicas
    record = running("resp_dropped")
    await writer.create_response(record)
    await writer.append_run_events(OWNER, record.id, [StoredEvent(0, {"type": "created"})])
    await _listening(follower)
    started = time.monotonic()
    waiting = asyncio.create_task(follower.wait_for_run_events(record.id, 0.4))
    await asyncio.sleep(0.05)
    # Numbers stored already, and another owner's append: nothing new is stored, nobody wakes.
    await writer.append_run_events(OWNER, record.id, [StoredEvent(0, {"type": "again"})])
    await writer.append_run_events("bob", record.id, [StoredEvent(1, {"type": "intruder"})])
    await asyncio.wait_for(waiting, 2.0)
    assert time.monotonic() - started >= 0.35
    assert await follower.read_run_events(OWNER, record.id) == (StoredEvent(0, {"type": "created"}),)


async def test_a_lost_listening_connection_wakes_waiters_and_comes_back(
    replicas: tuple[PostgresStore, PostgresStore], postgres_url: str
) -> None:
    writer, follower = replicas
    record = running("resp_reconnect")
    await writer.create_response(record)
    await _listening(follower)
    waiting = asyncio.create_task(follower.wait_for_run_events(record.id, 5.0))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as admin:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN %%' AND pid <> pg_backend_pid()"
        )
    await asyncio.wait_for(waiting, 2.0)  # woken to read again rather than left waiting
    assert time.monotonic() - started < 1.0
    for _ in range(100):  # it listens again
        if follower._notifier is not None and follower._notifier.listening:
            break
        await asyncio.sleep(0.05)
    waiting = asyncio.create_task(follower.wait_for_run_events(record.id, 5.0))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await writer.append_run_events(OWNER, record.id, [StoredEvent(0, {"type": "created"})])
    await asyncio.wait_for(waiting, 2.0)
    assert time.monotonic() - started < 1.0


async def test_waiting_on_a_closed_store_opens_it_and_listens(postgres_url: str, fresh_schema: str) -> None:
    store = PostgresStore(postgres_url, schema=fresh_schema)
    try:
        started = time.monotonic()
        # The first wait may return early, when the subscription starts (a write just before
        # it could have gone unseen), and never later than its timeout.
        await store.wait_for_run_events("resp_none", 0.5)
        assert time.monotonic() - started < 2.0
        await _listening(store)
        assert await store.get_response(OWNER, "resp_none") is None
    finally:
        await store.close()
    assert store._notifier is None


async def test_a_plain_end_written_with_create_wakes_the_waiters_of_a_stored_run(
    replicas: tuple[PostgresStore, PostgresStore],
) -> None:
    writer, follower = replicas
    record = running("resp_plain_end")
    await writer.create_response(record)
    await _listening(follower)
    waiting = asyncio.create_task(follower.wait_for_run_events(record.id, 5.0))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    assert await writer.update_response(
        record.evolve(status="completed", completed_at=time.time()), create=True
    )
    await asyncio.wait_for(waiting, 2.0)
    assert time.monotonic() - started < 1.0
    stored = await follower.get_response(OWNER, record.id)
    assert stored is not None and stored.status == "completed"


async def test_a_write_between_a_followers_read_and_its_wait_is_not_waited_out(
    replicas: tuple[PostgresStore, PostgresStore],
) -> None:
    writer, follower = replicas
    record = running("resp_between")
    await writer.create_response(record)
    await _listening(follower)
    assert await follower.read_run_events(OWNER, record.id) == ()
    await writer.append_run_events(OWNER, record.id, [StoredEvent(0, {"type": "created"})])
    await asyncio.sleep(0.2)  # the notification has arrived, and nobody was waiting yet
    started = time.monotonic()
    await follower.wait_for_run_events(record.id, 5.0)
    assert time.monotonic() - started < 0.1  # at once: it was notified after the read
    assert len(await follower.read_run_events(OWNER, record.id)) == 1
    # Read after the last write: the next wait has nothing to return for at once.
    started = time.monotonic()
    await follower.wait_for_run_events(record.id, 0.3)
    assert time.monotonic() - started >= 0.25


async def test_another_tasks_read_does_not_cut_a_followers_wait_short_or_make_it_miss(
    replicas: tuple[PostgresStore, PostgresStore],
) -> None:
    writer, follower = replicas
    record = running("resp_two_followers")
    await writer.create_response(record)
    await _listening(follower)
    await follower.read_run_events(OWNER, record.id)  # follower one reads, at count N
    await writer.append_run_events(OWNER, record.id, [StoredEvent(0, {"type": "created"})])
    await asyncio.sleep(0.2)
    # Follower two (another task) reads after the write; follower one has still not seen it.
    assert len(await asyncio.create_task(follower.read_run_events(OWNER, record.id))) == 1
    started = time.monotonic()
    await follower.wait_for_run_events(record.id, 5.0)
    assert time.monotonic() - started < 0.1
