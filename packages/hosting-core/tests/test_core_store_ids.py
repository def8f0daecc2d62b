"""Ids: unguessable by default; a partitioned factory turns foreign ids away before any lookup."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hosting.core import (
    Host,
    IdFactory,
    IsolationKeys,
    Item,
    MemoryStore,
    NotFoundError,
    PartitionedIdFactory,
    RandomIdFactory,
    RunContext,
    SQLiteStore,
    agent,
    user_message,
)
from hosting.core._ids import is_well_formed_id
from hosting.core.channels import ChannelRequest, isolation_scope
from hosting.core.stores import ResponseRecord

from .conftest import InvokeChannel


@agent
async def answer(context: RunContext) -> AsyncIterator[str]:
    yield "ok"


class CountingStore(MemoryStore):
    """Counts lookups, to show which ids never reach the store."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups: list[str] = []

    async def get_response(self, owner: str, response_id: str) -> ResponseRecord | None:
        self.lookups.append(response_id)
        return await super().get_response(owner, response_id)

    async def get_history(self, owner: str, response_id: str) -> tuple[Item, ...] | None:
        self.lookups.append(response_id)
        return await super().get_history(owner, response_id)


def test_random_ids_carry_their_kind_the_time_and_144_random_bits() -> None:
    factory = RandomIdFactory()
    assert isinstance(factory, IdFactory)
    expected = {"response": "resp", "conversation": "conv", "message": "msg", "function_call": "fc"}
    before = time.time_ns() // 1_000_000
    for kind, prefix in expected.items():
        identifier = factory.new_id(kind, owner="alice")
        assert re.fullmatch(rf"{prefix}_[0-9a-f]{{48}}", identifier), identifier
        assert is_well_formed_id(identifier)
        assert before <= int(identifier.split("_", 1)[1][:12], 16) <= time.time_ns() // 1_000_000
    many = [factory.new_id("response", owner="alice") for _ in range(2000)]
    assert len(set(many)) == 2000
    assert len({identifier[17:] for identifier in many}) == 2000  # the random part alone differs
    # Ids made in a later millisecond sort after earlier ones (a store's index grows at its end).
    first = factory.new_id("response", owner="alice")
    time.sleep(0.002)
    assert factory.new_id("response", owner="alice") > first
    # The default factory cannot tell owners apart: it leaves that to the store's owner column.
    assert factory.owns(factory.new_id("response", owner="alice"), owner="bob") is True


def test_threads_making_ids_at_once_never_share_random_digits() -> None:
    factory = RandomIdFactory()
    made: list[list[str]] = [[] for _ in range(8)]

    def make(into: list[str]) -> None:
        into.extend(factory.new_id("response", owner="alice")[17:] for _ in range(1500))

    threads = [threading.Thread(target=make, args=(into,)) for into in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    everything = [digits for into in made for digits in into]
    assert len(everything) == 8 * 1500 and len(set(everything)) == len(everything)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")  # 3.12+ warns in threaded processes
def test_a_forked_child_never_repeats_the_ids_its_parent_makes() -> None:
    factory = RandomIdFactory()
    factory.new_id("response", owner="alice")  # the parent has random bytes read ahead now
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(reader)
        os.write(writer, ",".join(factory.new_id("response", owner="a") for _ in range(5)).encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        child = set(pipe.read().decode().split(","))
    os.waitpid(pid, 0)
    parent = {factory.new_id("response", owner="a") for _ in range(5)}
    assert len(child) == 5 and not child & parent


def test_partitioned_ids_share_a_partition_per_owner() -> None:
    factory = PartitionedIdFactory(secret="s3cret")
    assert isinstance(factory, IdFactory)
    alice = [factory.new_id("response", owner="alice") for _ in range(50)]
    chain = factory.new_id("response", owner="alice", hint=alice[0])
    conversation = factory.new_id("conversation", owner="alice")
    partition = factory.partition("alice")
    assert re.fullmatch(r"[0-9a-f]{8}", partition)
    for identifier in [*alice, chain, conversation]:
        assert identifier.split("_", 1)[1][:8] == partition
        assert is_well_formed_id(identifier)
        assert factory.owns(identifier, owner="alice") is True
        assert factory.owns(identifier, owner="bob") is False
    assert len(set(alice)) == 50
    assert factory.partition("bob") != partition
    # After the partition: the time in milliseconds (12 hex digits) and 128 random bits.
    assert re.fullmatch(r"resp_[0-9a-f]{52}", alice[0])


def test_the_partition_depends_on_the_secret_and_hides_the_owner() -> None:
    one, two = PartitionedIdFactory(secret="one"), PartitionedIdFactory(secret="two")
    assert one.partition("alice") != two.partition("alice")
    assert one.partition("alice") == PartitionedIdFactory(secret="one").partition("alice")
    identifier = one.new_id("response", owner="alice")
    assert "alice" not in identifier
    assert two.owns(identifier, owner="alice") is False
    assert one.owns("resp", owner="alice") is False
    assert one.owns("", owner="alice") is False


@pytest.mark.parametrize(
    "value",
    ["", "a" * 129, "resp_../etc", "resp 1", "resp_1;drop", "resp_ünï", "resp_1\n", "conv/1", "%00"],
)
def test_malformed_ids_are_not_well_formed(value: str) -> None:
    assert is_well_formed_id(value) is False


async def test_a_foreign_partition_is_a_404_without_a_store_lookup() -> None:
    store = CountingStore()
    ids = PartitionedIdFactory(secret="k")
    host = Host(answer, channels=[InvokeChannel()], store=store, id_factory=ids)
    await host.startup()
    try:
        with isolation_scope(IsolationKeys(user="alice")):
            result = await host.engine.run(ChannelRequest(channel="invoke", input=(user_message("hi"),)))
        assert ids.owns(result.response_id, owner="alice")
        foreign = ids.new_id("response", owner="bob")
        for identifier in (foreign, "resp_<script>", "x" * 300):
            with pytest.raises(NotFoundError):
                await host.engine.attach("alice", identifier)
            with isolation_scope(IsolationKeys(user="alice")), pytest.raises(NotFoundError):
                await host.engine.run(
                    ChannelRequest(
                        channel="invoke", input=(user_message("x"),), previous_response_id=identifier
                    )
                )
        assert store.lookups == []
        # Alice's own id is looked up; Bob asking for it is turned away by the partition alone.
        await host.engine.attach("alice", result.response_id)
        assert store.lookups == [result.response_id]
        with pytest.raises(NotFoundError):
            await host.engine.attach("bob", result.response_id)
        assert store.lookups == [result.response_id]
    finally:
        await host.shutdown()


async def test_a_store_goes_by_its_owner_column_even_when_the_id_says_otherwise(tmp_path: Path) -> None:
    # A partition is a routing hint: an id minted in Bob's partition but stored as Alice's is Alice's.
    ids = PartitionedIdFactory(secret="k")
    identifier = ids.new_id("response", owner="bob")
    record = ResponseRecord(identifier, "alice", time.time(), "completed", input_items=(user_message("hi"),))
    for store in (MemoryStore(), SQLiteStore(tmp_path)):
        await store.open()
        try:
            await store.create_response(record)
            assert await store.get_response("bob", identifier) is None
            assert await store.get_history("bob", identifier) is None
            assert await store.delete_response("bob", identifier) is False
            assert await store.get_response("alice", identifier) == record
        finally:
            await store.close()
