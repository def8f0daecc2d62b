"""Decoded items kept by row version: a replica never answers from a copy another replica made
stale, and the cache stays within its bound."""

from __future__ import annotations

import json
import time

import pytest

from hosting.core import Message, TextPart
from hosting.core.stores import ConversationRecord, ResponseRecord, item_to_dict
from hosting.postgres import PostgresStore
from hosting.postgres._decoded import DecodedItems

OWNER = "alice"


def message(role: str, text: str) -> Message:
    return Message(role, (TextPart(text),), id=f"msg_{role}_{text}")  # type: ignore[arg-type]


def texts(items: tuple[object, ...] | None) -> list[str]:
    assert items is not None
    return [item.text for item in items if isinstance(item, Message)]


def turn(rid: str, text: str, previous: str | None = None, status: str = "completed") -> ResponseRecord:
    return ResponseRecord(
        id=rid,
        owner=OWNER,
        created_at=time.time(),
        status=status,  # type: ignore[arg-type]
        input_items=(message("user", text),),
        output_items=(message("assistant", f"re {text}"),) if status == "completed" else (),
        previous_response_id=previous,
        completed_at=time.time() if status == "completed" else None,
    )


async def test_a_history_read_on_one_replica_follows_changes_made_on_the_other(
    replicas: tuple[PostgresStore, PostgresStore],
) -> None:
    reader, writer = replicas
    for record in (turn("resp_1", "one"), turn("resp_2", "two", "resp_1"), turn("resp_3", "three", "resp_2")):
        await writer.create_response(record)
    assert texts(await reader.get_history(OWNER, "resp_3")) == [
        "one",
        "re one",
        "two",
        "re two",
        "three",
        "re three",
    ]
    assert len(reader._decoded) == 6

    # Deleted elsewhere, then written again under the same id with other content.
    assert await writer.delete_response(OWNER, "resp_2")
    assert texts(await reader.get_history(OWNER, "resp_3")) == ["three", "re three"]
    await writer.create_response(turn("resp_2", "again", "resp_1"))
    assert texts(await reader.get_history(OWNER, "resp_2")) == ["one", "re one", "again", "re again"]

    # A run in progress that another replica then finishes: the read sees the finished row.
    await writer.create_response(turn("resp_4", "four", "resp_2", status="in_progress"))
    assert texts(await reader.get_history(OWNER, "resp_4")) == ["one", "re one", "again", "re again", "four"]
    assert await writer.update_response(turn("resp_4", "four", "resp_2"))
    assert texts(await reader.get_history(OWNER, "resp_4"))[-2:] == ["four", "re four"]


async def test_a_conversation_listed_on_one_replica_follows_changes_made_on_the_other(
    replicas: tuple[PostgresStore, PostgresStore],
) -> None:
    reader, writer = replicas
    items = [message("user", f"m{index}") for index in range(4)]
    await writer.create_conversation(ConversationRecord("conv_1", OWNER, time.time()), items)
    page = await reader.list_conversation_items(OWNER, "conv_1")
    assert page is not None and texts(page.items) == ["m0", "m1", "m2", "m3"]
    assert await writer.delete_conversation_item(OWNER, "conv_1", "msg_user_m1")
    assert await writer.append_conversation_items(OWNER, "conv_1", [message("user", "m4")])
    page = await reader.list_conversation_items(OWNER, "conv_1")
    assert page is not None and texts(page.items) == ["m0", "m2", "m3", "m4"]
    assert await writer.delete_conversation(OWNER, "conv_1")
    assert await reader.list_conversation_items(OWNER, "conv_1") is None


def test_the_cache_keeps_within_its_bound_and_drops_the_least_recently_used() -> None:
    decoded = DecodedItems(capacity=3)
    text = json.dumps([item_to_dict(message("user", "a")), item_to_dict(message("user", "b"))])
    first = decoded.decode(("r", "1", "100"), text)
    assert decoded.decode(("r", "1", "100"), "not even json") is first  # kept: not decoded again
    decoded.decode(("r", "2", "100"), text)  # 4 items > 3: the least recently used goes
    assert len(decoded) == 2
    assert texts(decoded.decode(("r", "1", "100"), text)) == ["a", "b"]  # decoded afresh
    with pytest.raises(json.JSONDecodeError):
        decoded.decode(("r", "3", "100"), "not json")
    too_big = json.dumps([item_to_dict(message("user", str(n))) for n in range(4)])
    decoded.decode(("r", "4", "100"), too_big)
    assert len(decoded) <= 3
    nothing = DecodedItems(capacity=0)
    nothing.decode(("r", "1", "100"), text)
    assert len(nothing) == 0
