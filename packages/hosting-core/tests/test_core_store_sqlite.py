"""What only the SQLite store has: a file, WAL, migrations, a worker thread, several processes."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import stat
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from hosting.core import (
    ConfigurationError,
    Host,
    MemoryStore,
    RunContext,
    SQLiteStore,
    assistant_message,
    user_message,
)
from hosting.core._store import _migrations, default_store
from hosting.core.channels import ChannelContext, ChannelContribution
from hosting.core.stores import ConversationRecord, ResponseRecord, StoredEvent


def turn(owner: str, index: int, previous: str | None = None, **fields: object) -> ResponseRecord:
    return ResponseRecord(
        id=f"resp_{index:04d}_{os.urandom(4).hex()}",
        owner=owner,
        created_at=time.time(),
        status="completed",
        input_items=(user_message(f"q{index}"),),
        output_items=(assistant_message(f"a{index}"),),
        previous_response_id=previous,
        completed_at=time.time(),
        **fields,  # type: ignore[arg-type]
    )


async def hello(context: RunContext) -> str:
    return "hi"


def read_pragma(path: Path, name: str) -> object:
    with sqlite3.connect(path) as connection:
        return connection.execute(f"PRAGMA {name}").fetchone()[0]


async def test_the_file_is_created_on_first_open_in_wal_mode(tmp_path: Path) -> None:
    directory = tmp_path / "nested" / "data"
    store = SQLiteStore(directory, filename="state.db")
    assert not directory.exists()  # constructing a store touches nothing
    await store.open()
    try:
        assert store.path == directory / "state.db"
        assert store.path.is_file()
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        assert read_pragma(store.path, "journal_mode") == "wal"
        assert read_pragma(store.path, "user_version") == _migrations.LATEST_VERSION
    finally:
        await store.close()


def test_the_directory_comes_from_the_environment_or_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOSTING_DATA_DIR", str(tmp_path / "from-env"))
    assert SQLiteStore().path == tmp_path / "from-env" / "hosting.db"
    monkeypatch.delenv("HOSTING_DATA_DIR")
    monkeypatch.chdir(tmp_path)
    store = SQLiteStore()
    assert store.path == tmp_path / ".hosting" / "hosting.db"
    os.chdir("/")  # the directory was fixed when the store was made
    assert store.path == tmp_path / ".hosting" / "hosting.db"


def test_sqlite_is_the_default_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTING_DATA_DIR", str(tmp_path))
    store = default_store()
    assert isinstance(store, SQLiteStore)
    assert store.path == tmp_path / "hosting.db"
    assert store.ttl == 30 * 24 * 3600
    host = Host(hello, channels=[_NoChannel()])
    assert isinstance(host.store, SQLiteStore) and host.store.path == tmp_path / "hosting.db"


class _NoChannel:
    name = "none"

    def contribute(self, context: ChannelContext) -> ChannelContribution:
        return ChannelContribution()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ttl": 0}, "ttl"),
        ({"ttl": -5.0}, "ttl"),
        ({"max_responses": 0}, "max_responses"),
        ({"max_conversations": -1}, "max_conversations"),
        ({"synchronous": "sometimes"}, "synchronous"),
        ({"purge_batch": 0}, "purge_batch"),
        ({"filename": "../escape.db"}, "filename"),
        ({"filename": ""}, "filename"),
    ],
)
def test_bad_settings_are_refused_at_construction(
    tmp_path: Path, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SQLiteStore(tmp_path, **options)  # type: ignore[arg-type]


async def test_everything_survives_closing_and_reopening(tmp_path: Path) -> None:
    first = SQLiteStore(tmp_path)
    record = turn("alice", 1)
    await first.create_response(record.evolve(status="in_progress", completed_at=None))
    await first.append_run_events("alice", record.id, [StoredEvent(0, {"type": "x"})])
    assert await first.update_response(record)
    await first.create_conversation(
        ConversationRecord("conv_1", "alice", 1.0, {"k": "v"}), [user_message("hi")]
    )
    await first.put_session_state("alice", "conversation:conv_1", {"memory": [1, 2]})
    await first.bind_session("alice", "chat", "conv_1")
    await first.link_identity("alice", "telegram", "42")
    await first.close()

    second = SQLiteStore(tmp_path)
    await second.open()
    try:
        assert await second.get_response("alice", record.id) == record
        assert await second.read_run_events("alice", record.id) == (StoredEvent(0, {"type": "x"}),)
        assert await second.get_conversation("alice", "conv_1") == ConversationRecord(
            "conv_1", "alice", 1.0, {"k": "v"}
        )
        page = await second.list_conversation_items("alice", "conv_1")
        assert page is not None and page.items == (user_message("hi"),)
        assert await second.get_session_state("alice", "conversation:conv_1") == {"memory": [1, 2]}
        assert await second.get_session_binding("alice", "chat") == "conv_1"
        assert await second.get_identity_links("alice") == {"telegram": "42"}
    finally:
        await second.close()


_WRITER = textwrap.dedent(
    """
    import asyncio, sys, time
    from hosting.core import SQLiteStore, assistant_message, user_message
    from hosting.core.stores import ConversationRecord, ResponseRecord

    async def main() -> None:
        store = SQLiteStore(sys.argv[1])
        await store.open()
        await store.create_response(ResponseRecord(
            "resp_from_child", "alice", time.time(), "completed",
            input_items=(user_message("asked"),), output_items=(assistant_message("answered"),),
        ))
        await store.create_conversation(ConversationRecord("conv_child", "alice", time.time()), [user_message("c")])
        await store.put_session_state("alice", "conversation:conv_child", {"turns": 1})
        await store.create_response(ResponseRecord("resp_running", "alice", time.time(), "in_progress"))
        # Exit without close(): as if the process were killed after its last commit.
        import os
        os._exit(0)

    asyncio.run(main())
    """
)


async def test_another_process_sees_every_committed_write_after_it_dies(tmp_path: Path) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _WRITER, str(tmp_path), stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(child.communicate(), timeout=60)
    assert child.returncode == 0, stderr.decode()
    store = SQLiteStore(tmp_path)
    await store.open()
    try:
        record = await store.get_response("alice", "resp_from_child")
        assert record is not None and record.output_items == (assistant_message("answered"),)
        page = await store.list_conversation_items("alice", "conv_child")
        assert page is not None and page.items == (user_message("c"),)
        assert await store.get_session_state("alice", "conversation:conv_child") == {"turns": 1}
        # The run the dead process left going is an orphan, claimed by the next runner.
        await store.heartbeat("next", lease=60)
        [orphan] = await store.claim_orphaned_runs("next")
        assert orphan.id == "resp_running" and orphan.runner == "next"
    finally:
        await store.close()


async def test_two_stores_on_one_file_serialize_their_appends(tmp_path: Path) -> None:
    one, two = SQLiteStore(tmp_path), SQLiteStore(tmp_path)
    await one.create_conversation(ConversationRecord("conv_shared", "alice", time.time()))

    async def append(store: SQLiteStore, turn_number: int) -> bool:
        items = [user_message(f"{turn_number}:{part}") for part in range(2)]
        return await store.append_conversation_items("alice", "conv_shared", items)

    try:
        results = await asyncio.gather(*(append(one if n % 2 else two, n) for n in range(20)))
        assert all(results)
        page = await two.list_conversation_items("alice", "conv_shared")
        assert page is not None
        texts = [item.text for item in page.items]  # type: ignore[union-attr]
        assert len(texts) == 40
        for start in range(0, 40, 2):
            number = texts[start].split(":")[0]
            assert texts[start : start + 2] == [f"{number}:0", f"{number}:1"]
        assert sorted({text.split(":")[0] for text in texts}, key=int) == [str(n) for n in range(20)]
    finally:
        await one.close()
        await two.close()


async def test_sqlite_runs_on_its_worker_thread_and_a_cold_history_is_one_walk(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path)
    previous: str | None = None
    for index in range(60):
        record = turn("alice", index, previous)
        await store.create_response(record)
        previous = record.id
    assert previous is not None
    statements: list[tuple[int, str]] = []

    def trace(connection: sqlite3.Connection) -> None:
        connection.set_trace_callback(lambda sql: statements.append((threading.get_ident(), sql)))

    await store._call(trace)
    try:
        history = await store.get_history("alice", previous)
    finally:
        await store._call(lambda connection: connection.set_trace_callback(None))
        await store.close()
    assert history is not None and len(history) == 120
    assert [item.text for item in history[:3]] == ["q0", "a0", "q1"]  # type: ignore[union-attr]
    # Nothing was cached: the head's own row, then its 59 ancestors from one recursive statement
    # (between the cache's data-version checks and one read transaction), off the loop's thread.
    assert [sql.split()[0] for _, sql in statements] == [
        "PRAGMA",
        "BEGIN",
        "SELECT",
        "PRAGMA",
        "WITH",
        "COMMIT",
    ]
    assert sum("WITH RECURSIVE" in sql for _, sql in statements) == 1
    threads = {thread for thread, _ in statements}
    assert len(threads) == 1 and threading.get_ident() not in threads


async def test_a_slow_database_does_not_block_the_event_loop(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path)
    await store.open()
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    try:
        await asyncio.sleep(0)
        before = ticks
        # Stands in for a long query or a disk stall: it holds the worker thread for 0.3 s.
        await store._call(lambda connection: time.sleep(0.3))
        during = ticks - before
    finally:
        stop.set()
        await task
        await store.close()
    assert during >= 5


async def test_a_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "hosting.db"
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {_migrations.LATEST_VERSION + 1}")
    store = SQLiteStore(tmp_path)
    with pytest.raises(ConfigurationError, match="newer than this hosting-core supports"):
        await store.open()
    await store.close()
    assert read_pragma(path, "user_version") == _migrations.LATEST_VERSION + 1


async def test_a_failing_migration_leaves_the_previous_version_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SQLiteStore(tmp_path)
    record = turn("alice", 1)
    await store.create_response(record)
    await store.close()
    current = _migrations.LATEST_VERSION

    broken = ("CREATE TABLE extra (value TEXT)", "THIS IS NOT SQL")
    monkeypatch.setattr(_migrations, "MIGRATIONS", (*_migrations.MIGRATIONS, broken))
    monkeypatch.setattr(_migrations, "LATEST_VERSION", len(_migrations.MIGRATIONS))
    with pytest.raises(sqlite3.OperationalError):
        await store.open()
    await store.close()
    assert read_pragma(store.path, "user_version") == current
    with sqlite3.connect(store.path) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "extra" not in tables

    fixed = ("CREATE TABLE extra (value TEXT)",)
    monkeypatch.setattr(_migrations, "MIGRATIONS", (*_migrations.MIGRATIONS[:-1], fixed))
    await store.open()
    try:
        assert read_pragma(store.path, "user_version") == current + 1
        assert await store.get_response("alice", record.id) == record
    finally:
        await store.close()


async def test_a_purge_works_in_batches_until_nothing_is_left(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path, ttl=60, purge_batch=3)
    old = time.time() - 3600
    records = [turn("alice", n).evolve(created_at=old, completed_at=old) for n in range(10)]
    for record in records:
        await store.create_response(record)
    keep = turn("alice", 99)
    await store.create_response(keep)
    try:
        assert await store.purge_expired() == 10
        assert [await store.get_response("alice", r.id) for r in records] == [None] * 10
        assert await store.get_response("alice", keep.id) == keep
    finally:
        await store.close()


async def test_a_host_opens_and_closes_its_store(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "host-data")
    host = Host(hello, channels=[_NoChannel()], store=store, retention_interval=0)
    await host.startup()
    assert store.path.is_file()
    assert store._worker is not None
    await host.shutdown()
    assert store._worker is None


async def test_the_memory_store_is_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = MemoryStore()
    await store.open()
    await store.create_response(turn("alice", 1))
    await store.close()
    assert os.listdir(tmp_path) == []


async def test_history_of_a_cycle_ends(tmp_path: Path) -> None:
    # Ids are fresh, so a real chain cannot loop; a database edited by hand must still not hang.
    store = SQLiteStore(tmp_path)
    first = turn("alice", 1)
    second = turn("alice", 2, first.id)
    try:
        await store.create_response(first)
        await store.create_response(second)
        await store.update_response(first.evolve(previous_response_id=second.id))
        history = await store.get_history("alice", second.id)
        # Depths are fixed at insert and the walk only steps to smaller ones: it stops after the first turn.
        assert history is not None and [item.text for item in history] == ["q1", "a1", "q2", "a2"]  # type: ignore[union-attr]
    finally:
        await store.close()


async def test_migration_2_moves_event_rows_into_one_log_per_run(tmp_path: Path) -> None:
    path = tmp_path / "hosting.db"
    with sqlite3.connect(path, isolation_level=None) as connection:
        for statement in _migrations.MIGRATIONS[0]:
            connection.execute(statement)
        connection.execute("PRAGMA user_version = 1")
        record = turn("alice", 1)
        connection.execute(
            "INSERT INTO responses (id, owner, created_at, status, finished, depth, input_items, output_items,"
            " details) VALUES (?, 'alice', 1.0, 'completed', 1, 0, '[]', '[]', '{}')",
            (record.id,),
        )
        connection.executemany(
            "INSERT INTO run_events (response_id, number, data) VALUES (?, ?, ?)",
            [(record.id, number, json.dumps({"n": number})) for number in (2, 0, 1)],
        )
    store = SQLiteStore(tmp_path)
    await store.open()
    try:
        events = await store.read_run_events("alice", record.id)
        assert [(event.number, dict(event.data)) for event in events] == [
            (0, {"n": 0}),
            (1, {"n": 1}),
            (2, {"n": 2}),
        ]
        assert read_pragma(store.path, "user_version") == _migrations.LATEST_VERSION
    finally:
        await store.close()


async def test_group_commit_keeps_a_failing_operation_from_touching_its_batch(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path)
    await store.open()
    try:
        existing = turn("alice", 0)
        await store.create_response(existing)
        fresh = [turn("alice", index) for index in range(1, 40)]
        outcomes = await asyncio.gather(
            *(store.create_response(record) for record in fresh[:20]),
            store.create_response(existing),  # a duplicate: fails inside the batch
            *(store.create_response(record) for record in fresh[20:]),
            return_exceptions=True,
        )
        assert isinstance(outcomes[20], ValueError)
        assert [outcome for index, outcome in enumerate(outcomes) if index != 20] == [None] * len(fresh)
        for record in fresh:
            assert await store.get_response("alice", record.id) == record
        assert await store.get_response("alice", existing.id) == existing
    finally:
        await store.close()
    # Everything the batch committed is on disk, in the file, for a new connection.
    with sqlite3.connect(store.path) as connection:
        (count,) = connection.execute("SELECT COUNT(*) FROM responses").fetchone()
    assert count == len(fresh) + 1


async def test_a_response_written_with_no_events_never_touches_the_run_log_chunks(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path)
    await store.open()
    try:
        logged = turn("alice", 1).evolve(status="in_progress", completed_at=None)
        await store.create_response(logged)
        other = turn("alice", 3).evolve(status="in_progress", completed_at=None)
        await store.create_response(other)
        await store.append_run_events("alice", logged.id, [StoredEvent(0, {"n": 0})])
        # From here on, any write to run_log_chunks aborts its transaction.
        with sqlite3.connect(store.path) as connection:
            for action in ("INSERT", "UPDATE", "DELETE"):
                connection.execute(
                    f"CREATE TRIGGER no_log_{action.lower()} BEFORE {action} ON run_log_chunks"
                    " BEGIN SELECT RAISE(ABORT, 'run_log_chunks written'); END"
                )
        inline = turn("alice", 2)
        assert await store.update_response(inline, create=True) is True
        finished = logged.evolve(status="completed", completed_at=time.time())
        assert await store.update_response(finished) is True
        assert await store.get_response("alice", inline.id) == inline
        assert await store.get_response("alice", logged.id) == finished
        assert await store.read_run_events("alice", inline.id) == ()
        assert await store.read_run_events("alice", logged.id) == (StoredEvent(0, {"n": 0}),)
        # The triggers do fire: a write that carries events is refused.
        with pytest.raises(sqlite3.IntegrityError, match="run_log_chunks written"):
            await store.update_response(
                other.evolve(status="completed", completed_at=time.time()), events=[StoredEvent(0, {"n": 1})]
            )
        # A finished response never changes: not its record, not its log.
        assert await store.update_response(finished, events=[StoredEvent(1, {"n": 1})]) is False
    finally:
        await store.close()
    with sqlite3.connect(store.path) as connection:
        rows = connection.execute("SELECT response_id FROM run_log_chunks").fetchall()
    assert rows == [(logged.id,)]
