"""Records the store conformance tests build, and the helpers they share."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any

import pytest

from hosting.core import Item, Message, TextPart
from hosting.core.stores import ConversationRecord, ResponseRecord, ResponseStatus, Store, StoredEvent

ALICE = "alice"
BOB = "bob"


def with_limits(**options: Any) -> pytest.MarkDecorator:
    """Run a test on a store built with these retention limits (see `retention_options`)."""
    return pytest.mark.parametrize("store", [options], indirect=True, ids=["limits"])


def new_id(prefix: str) -> str:
    """A fresh id, unguessable like the host's."""
    return f"{prefix}_{secrets.token_hex(12)}"


def message(role: str, text: str) -> Message:
    """A one-text message with a fresh id."""
    return Message(role, (TextPart(text),), id=new_id("msg"))  # type: ignore[arg-type]


def response(
    owner: str = ALICE,
    *,
    status: ResponseStatus = "completed",
    previous: str | None = None,
    conversation: str | None = None,
    text: str = "question",
    created_at: float | None = None,
    completed_at: float | None = None,
) -> ResponseRecord:
    """A response with one input and (when completed) one output message."""
    created = time.time() if created_at is None else created_at
    finished = status not in ("queued", "in_progress")
    return ResponseRecord(
        id=new_id("resp"),
        owner=owner,
        created_at=created,
        status=status,
        channel="test",
        input_items=(message("user", text),),
        output_items=(message("assistant", f"answer to {text}"),) if status == "completed" else (),
        previous_response_id=previous,
        conversation_id=conversation,
        completed_at=(completed_at if completed_at is not None else created) if finished else None,
    )


def conversation(
    owner: str = ALICE, *, created_at: float | None = None, **metadata: str
) -> ConversationRecord:
    """A conversation head with a fresh id."""
    return ConversationRecord(
        new_id("conv"), owner, time.time() if created_at is None else created_at, metadata
    )


def texts(items: Sequence[Item]) -> list[str]:
    """The text of each message, the type name of any other item: what a test compares."""
    return [item.text if isinstance(item, Message) else type(item).__name__ for item in items]


async def store_with_events(store: Store, record: ResponseRecord, events: Sequence[StoredEvent]) -> None:
    """Store the finished `record` as a run does: created in progress, its events appended as it
    goes, then ended (a finished response takes no more events)."""
    await store.create_response(record.evolve(status="in_progress", completed_at=None))
    await store.append_run_events(record.owner, record.id, events)
    assert await store.update_response(record)
