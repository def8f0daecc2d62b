"""An in-process store: fast, bounded, gone at exit. For tests and throwaway servers."""

from __future__ import annotations

import asyncio
import copy
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._types import Item
from ._base import (
    ConversationRecord,
    IdempotencyClaim,
    ItemPage,
    Order,
    ResponseRecord,
    RunError,
    StoredEvent,
    now,
)


@dataclass
class _Conversation:
    record: ConversationRecord
    items: list[Item] = field(default_factory=list)


class MemoryStore:
    """Keeps everything in dicts.

    Args:
        max_responses: the oldest responses (with their events and session state) are
            dropped beyond this many, so a long-running test server cannot grow without bound.
        max_conversations: likewise for conversations.
        ttl: seconds after which data is removed by `purge_expired`; None keeps it.
    """

    def __init__(
        self, *, max_responses: int = 10_000, max_conversations: int = 10_000, ttl: float | None = None
    ) -> None:
        self.max_responses = max_responses
        self.max_conversations = max_conversations
        self.ttl = ttl
        self._responses: OrderedDict[str, ResponseRecord] = OrderedDict()
        self._conversations: OrderedDict[str, _Conversation] = OrderedDict()
        self._session_state: dict[tuple[str, str], dict[str, Any]] = {}
        self._bindings: dict[tuple[str, str], str] = {}
        self._events: dict[str, list[StoredEvent]] = {}
        self._idempotency: dict[tuple[str, str], tuple[IdempotencyClaim, float]] = {}
        self._links: dict[str, dict[str, str]] = {}
        # Appends are synchronous dict operations, so a lock is only needed where a
        # method awaits between reading and writing; none does. Kept for subclass hooks.
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    # -- responses ---------------------------------------------------------------------------------

    async def create_response(self, record: ResponseRecord) -> None:
        if record.id in self._responses:
            raise ValueError(f"response {record.id!r} exists already")
        self._responses[record.id] = record
        while len(self._responses) > self.max_responses:
            oldest, _ = self._responses.popitem(last=False)
            self._forget_response(oldest)

    async def update_response(self, record: ResponseRecord, *, append_to_conversation: bool = False) -> bool:
        current = self._responses.get(record.id)
        if current is None or current.owner != record.owner:
            return False
        self._responses[record.id] = record
        if append_to_conversation and record.conversation_id:
            conversation = self._own_conversation(record.owner, record.conversation_id)
            if conversation is not None:
                conversation.items.extend(record.input_items)
                conversation.items.extend(record.output_items)
        return True

    async def get_response(self, owner: str, response_id: str) -> ResponseRecord | None:
        record = self._responses.get(response_id)
        return record if record is not None and record.owner == owner else None

    async def delete_response(self, owner: str, response_id: str) -> bool:
        if await self.get_response(owner, response_id) is None:
            return False
        del self._responses[response_id]
        self._forget_response(response_id)
        return True

    def _forget_response(self, response_id: str) -> None:
        self._events.pop(response_id, None)
        for key in [key for key in self._session_state if key[1] == f"response:{response_id}"]:
            del self._session_state[key]

    async def get_history(self, owner: str, response_id: str) -> tuple[Item, ...] | None:
        chain: list[ResponseRecord] = []
        current: str | None = response_id
        while current is not None:
            record = self._responses.get(current)
            if record is None or record.owner != owner:
                if not chain:
                    return None
                break  # an ancestor was deleted or expired: the context starts after it
            chain.append(record)
            current = record.previous_response_id
        items: list[Item] = []
        for record in reversed(chain):
            items.extend(record.input_items)
            items.extend(record.output_items)
        return tuple(items)

    async def fail_interrupted_runs(self, message: str) -> int:
        count = 0
        for response_id, record in list(self._responses.items()):
            if not record.finished:
                self._responses[response_id] = record.evolve(
                    status="failed", error=RunError("interrupted", message), completed_at=now()
                )
                count += 1
        return count

    # -- conversations -----------------------------------------------------------------------------

    def _own_conversation(self, owner: str, conversation_id: str) -> _Conversation | None:
        conversation = self._conversations.get(conversation_id)
        return conversation if conversation is not None and conversation.record.owner == owner else None

    async def create_conversation(self, record: ConversationRecord, items: Sequence[Item] = ()) -> None:
        if record.id in self._conversations:
            raise ValueError(f"conversation {record.id!r} exists already")
        self._conversations[record.id] = _Conversation(record, list(items))
        while len(self._conversations) > self.max_conversations:
            oldest, dropped = self._conversations.popitem(last=False)
            self._session_state.pop((dropped.record.owner, f"conversation:{oldest}"), None)

    async def get_conversation(self, owner: str, conversation_id: str) -> ConversationRecord | None:
        conversation = self._own_conversation(owner, conversation_id)
        return conversation.record if conversation is not None else None

    async def update_conversation(
        self, owner: str, conversation_id: str, metadata: Mapping[str, str]
    ) -> ConversationRecord | None:
        conversation = self._own_conversation(owner, conversation_id)
        if conversation is None:
            return None
        conversation.record = ConversationRecord(
            id=conversation.record.id,
            owner=owner,
            created_at=conversation.record.created_at,
            metadata=dict(metadata),
        )
        return conversation.record

    async def delete_conversation(self, owner: str, conversation_id: str) -> bool:
        if self._own_conversation(owner, conversation_id) is None:
            return False
        del self._conversations[conversation_id]
        self._session_state.pop((owner, f"conversation:{conversation_id}"), None)
        return True

    async def append_conversation_items(
        self, owner: str, conversation_id: str, items: Sequence[Item]
    ) -> bool:
        conversation = self._own_conversation(owner, conversation_id)
        if conversation is None:
            return False
        conversation.items.extend(items)
        return True

    async def list_conversation_items(
        self,
        owner: str,
        conversation_id: str,
        *,
        after: str | None = None,
        limit: int | None = None,
        order: Order = "asc",
    ) -> ItemPage | None:
        conversation = self._own_conversation(owner, conversation_id)
        if conversation is None:
            return None
        items = conversation.items if order == "asc" else conversation.items[::-1]
        start = 0
        if after is not None:
            for index, item in enumerate(items):
                if item.id == after:
                    start = index + 1
                    break
            else:
                return ItemPage(items=(), has_more=False)
        end = len(items) if limit is None else start + limit
        return ItemPage(items=tuple(items[start:end]), has_more=end < len(items))

    async def get_conversation_item(self, owner: str, conversation_id: str, item_id: str) -> Item | None:
        conversation = self._own_conversation(owner, conversation_id)
        if conversation is None:
            return None
        return next((item for item in conversation.items if item.id == item_id), None)

    async def delete_conversation_item(self, owner: str, conversation_id: str, item_id: str) -> bool:
        conversation = self._own_conversation(owner, conversation_id)
        if conversation is None:
            return False
        for index, item in enumerate(conversation.items):
            if item.id == item_id:
                del conversation.items[index]
                return True
        return False

    # -- sessions ----------------------------------------------------------------------------------

    async def get_session_state(self, owner: str, key: str) -> dict[str, Any] | None:
        state = self._session_state.get((owner, key))
        return copy.deepcopy(state) if state is not None else None

    async def put_session_state(self, owner: str, key: str, state: Mapping[str, Any]) -> None:
        self._session_state[(owner, key)] = copy.deepcopy(dict(state))

    async def bind_session(
        self, owner: str, session_key: str, conversation_id: str, *, replace: bool = False
    ) -> str:
        if replace:
            self._bindings[(owner, session_key)] = conversation_id
            return conversation_id
        return self._bindings.setdefault((owner, session_key), conversation_id)

    async def get_session_binding(self, owner: str, session_key: str) -> str | None:
        return self._bindings.get((owner, session_key))

    # -- run event logs ----------------------------------------------------------------------------

    async def append_run_events(self, owner: str, response_id: str, events: Sequence[StoredEvent]) -> None:
        if await self.get_response(owner, response_id) is None:
            return
        self._events.setdefault(response_id, []).extend(events)

    async def read_run_events(
        self, owner: str, response_id: str, *, after: int = -1
    ) -> tuple[StoredEvent, ...]:
        if await self.get_response(owner, response_id) is None:
            return ()
        return tuple(event for event in self._events.get(response_id, ()) if event.number > after)

    # -- idempotency -------------------------------------------------------------------------------

    async def claim_idempotency_key(
        self, owner: str, key: str, fingerprint: str, response_id: str
    ) -> IdempotencyClaim:
        held = self._idempotency.get((owner, key))
        if held is not None:
            claim = held[0]
            return IdempotencyClaim(claim.response_id, claim.fingerprint, created=False)
        claim = IdempotencyClaim(response_id, fingerprint, created=True)
        self._idempotency[(owner, key)] = (claim, now())
        return claim

    # -- identity links ----------------------------------------------------------------------------

    async def link_identity(self, owner: str, channel: str, address: str) -> None:
        self._links.setdefault(owner, {})[channel] = address

    async def get_identity_links(self, owner: str) -> dict[str, str]:
        return dict(self._links.get(owner, {}))

    # -- retention ---------------------------------------------------------------------------------

    async def purge_expired(self) -> int:
        if self.ttl is None:
            return 0
        cutoff = now() - self.ttl
        removed = 0
        for response_id, record in list(self._responses.items()):
            if record.created_at < cutoff and record.finished:
                del self._responses[response_id]
                self._forget_response(response_id)
                removed += 1
        for conversation_id, conversation in list(self._conversations.items()):
            if conversation.record.created_at < cutoff:
                await self.delete_conversation(conversation.record.owner, conversation_id)
                removed += 1
        for key, (_, created) in list(self._idempotency.items()):
            if created < cutoff:
                del self._idempotency[key]
        return removed
