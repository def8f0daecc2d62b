"""Records: what the host keeps about responses, conversations and run event logs.

These sit below the store (every backend reads and writes them) and below the
channel contract (channels render them). They are plain slotted dataclasses.
`ResponseRecord` is built on every request, so it is not frozen (a frozen
dataclass stores each field through ``object.__setattr__``): it is a value all
the same, never changed once built; `ResponseRecord.evolve` makes a changed copy.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from ._types import Item, Usage, usage_from_dict, usage_to_dict

ResponseStatus: TypeAlias = Literal["queued", "in_progress", "completed", "failed", "incomplete", "cancelled"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "incomplete", "cancelled"})
Order: TypeAlias = Literal["asc", "desc"]


def now() -> float:
    """Seconds since the epoch; one place so tests can reason about timestamps."""
    return time.time()


def response_session_key(response_id: str) -> str:
    """The session-state key of the state saved after a response (cascades with it)."""
    return f"response:{response_id}"


def conversation_session_key(conversation_id: str) -> str:
    """The session-state key of a conversation's state (cascades with it)."""
    return f"conversation:{conversation_id}"


@dataclass(frozen=True, slots=True)
class RunError:
    """Why a run failed, safe to show to the caller."""

    code: str
    message: str


@dataclass(slots=True)
class ResponseRecord:
    """One run of an agent: what was asked, what came out, and how it ended.

    A value: never changed once built (`evolve` returns a changed copy), so it can be
    shared between the run, its followers and the store.

    `attributes` holds channel-specific, JSON-serializable details of the request
    (the Responses channel keeps instructions, tools, metadata, ... there so it can
    render the stored response again exactly). `runner` is the host process executing
    the run (see `Store.heartbeat`); None for a run nobody executes.
    """

    id: str
    owner: str
    created_at: float
    status: ResponseStatus
    channel: str = ""
    agent: str | None = None
    input_items: tuple[Item, ...] = ()
    output_items: tuple[Item, ...] = ()
    previous_response_id: str | None = None
    conversation_id: str | None = None
    usage: Usage | None = None
    error: RunError | None = None
    incomplete_reason: str | None = None
    completed_at: float | None = None
    background: bool = False
    attributes: Mapping[str, Any] = field(default_factory=dict)
    runner: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def evolve(self, **changes: Any) -> ResponseRecord:
        """A copy with `changes` applied (unknown field names raise `TypeError`)."""
        return dataclasses.replace(self, **changes)

    def ended(
        self,
        status: ResponseStatus,
        output_items: tuple[Item, ...],
        *,
        usage: Usage | None = None,
        error: RunError | None = None,
        incomplete_reason: str | None = None,
    ) -> ResponseRecord:
        """This record (as a run created it) with the run's outcome, ended now."""
        # In field order: every run ends here, and calling a class with keywords packs them into
        # a dictionary first.
        return ResponseRecord(
            self.id,
            self.owner,
            self.created_at,
            status,
            self.channel,
            self.agent,
            self.input_items,
            output_items,
            self.previous_response_id,
            self.conversation_id,
            usage,
            error,
            incomplete_reason,
            now(),
            self.background,
            self.attributes,
            self.runner,
        )


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    """A conversation's head: who owns it, when it began, and the caller's metadata.

    Its items are kept apart (`Store.list_conversation_items`), in the order they were appended.
    """

    id: str
    owner: str
    created_at: float
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ItemPage:
    """A page of items; `has_more` tells whether a further page exists in the same order."""

    items: tuple[Item, ...]
    has_more: bool


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """The response a key is bound to, and the fingerprint of the request that bound it."""

    response_id: str
    fingerprint: str
    created: bool


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One numbered event of a run's log, in its JSON-ready form."""

    number: int
    data: Mapping[str, Any]


def events_to_add(events: Sequence[StoredEvent], last: int, *, finishing: bool = False) -> list[StoredEvent]:
    """The events of `events` a run's log whose last stored number is `last` takes, in order.

    Numbers already stored keep their first event, so only events numbered past `last` are
    added. When the write `finishing` a run brings its terminal event (the last of `events`)
    under a number that is taken already (another process stored events meanwhile: a cancel
    sent there ends the run while it still runs), that event is added after `last`, so a log
    always ends with its terminal event.
    """
    fresh = sorted((event for event in events if event.number > last), key=lambda event: event.number)
    if finishing and events and not fresh:
        terminal = max(events, key=lambda event: event.number)
        fresh.append(StoredEvent(last + 1, terminal.data))
    return fresh


@dataclass(frozen=True, slots=True)
class ResponsePage:
    """A page of an owner's responses; `has_more` tells whether a further page exists in the same order."""

    records: tuple[ResponseRecord, ...]
    has_more: bool


@dataclass(frozen=True, slots=True)
class ConversationPage:
    """A page of an owner's conversations; `has_more` tells whether a further page exists."""

    records: tuple[ConversationRecord, ...]
    has_more: bool


@dataclass(frozen=True, slots=True)
class Token:
    """What a one-time token stands for: whose it is, and what its issuer kept with it."""

    owner: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class DeliveryFailure:
    """A push that gave up: kept for the operator to see (and to send again by hand)."""

    id: str
    owner: str
    channel: str
    address: str
    items: tuple[Item, ...]
    error: str
    attempts: int
    failed_at: float


# -- a response as a store keeps it ------------------------------------------------------------------


def response_details(record: ResponseRecord) -> dict[str, Any]:
    """The fields of a response that no store query looks at, as one JSON-ready document.

    A backend keeps the queried fields (owner, status, timestamps, links, items) in columns of
    their own and this document beside them, so a new field of `ResponseRecord` needs no schema
    migration. `response_from_details` is the inverse.
    """
    error = record.error
    return {
        "channel": record.channel,
        "agent": record.agent,
        "usage": usage_to_dict(record.usage) if record.usage is not None else None,
        "error": {"code": error.code, "message": error.message} if error is not None else None,
        "incomplete_reason": record.incomplete_reason,
        "background": record.background,
        "attributes": dict(record.attributes),
    }


def response_from_details(
    details: Mapping[str, Any],
    *,
    id: str,
    owner: str,
    created_at: float,
    status: ResponseStatus,
    previous_response_id: str | None,
    conversation_id: str | None,
    completed_at: float | None,
    input_items: tuple[Item, ...],
    output_items: tuple[Item, ...],
    runner: str | None,
) -> ResponseRecord:
    """The record whose queried fields are the arguments and whose other fields are `details`."""
    error = details.get("error")
    usage = details.get("usage")
    return ResponseRecord(
        id=id,
        owner=owner,
        created_at=created_at,
        status=status,
        channel=details.get("channel", ""),
        agent=details.get("agent"),
        input_items=input_items,
        output_items=output_items,
        previous_response_id=previous_response_id,
        conversation_id=conversation_id,
        usage=usage_from_dict(usage) if usage is not None else None,
        error=RunError(error["code"], error["message"]) if error is not None else None,
        incomplete_reason=details.get("incomplete_reason"),
        runner=runner,
        completed_at=completed_at,
        background=bool(details.get("background", False)),
        attributes=details.get("attributes") or {},
    )
