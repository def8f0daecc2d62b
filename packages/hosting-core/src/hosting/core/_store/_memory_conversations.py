"""The memory store's conversations: ordered items under a head, appended atomically."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .._records import ConversationPage, ConversationRecord, ItemPage, Order, now
from .._types import Item
from ._context_cache import ContextCache
from ._listing import first_index, page_of


@dataclass
class _Conversation:
    record: ConversationRecord
    active_at: float
    items: list[Item] = field(default_factory=list)


class MemoryConversations:
    """The conversation methods of `MemoryStore`, which owns the state they use."""

    _conversations: OrderedDict[str, _Conversation]
    _contexts: ContextCache
    max_conversations: int

    def _forget_conversation(self, conversation_id: str) -> None:
        raise NotImplementedError  # the store forgets a conversation with its session state too

    def _own_conversation(self, owner: str, conversation_id: str) -> _Conversation | None:
        conversation = self._conversations.get(conversation_id)
        return conversation if conversation is not None and conversation.record.owner == owner else None

    def _touch(self, conversation: _Conversation) -> None:
        conversation.active_at = now()
        self._conversations.move_to_end(conversation.record.id)

    def _append(self, conversation: _Conversation, items: Sequence[Item]) -> None:
        start = len(conversation.items)
        conversation.items.extend(items)
        self._contexts.appended(conversation.record.owner, conversation.record.id, start, items)
        self._touch(conversation)

    async def create_conversation(self, record: ConversationRecord, items: Sequence[Item] = ()) -> None:
        if record.id in self._conversations:
            raise ValueError(f"conversation {record.id!r} exists already")
        self._contexts.forget_listing(record.owner, record.id)
        self._conversations[record.id] = _Conversation(record, record.created_at, list(items))
        while len(self._conversations) > self.max_conversations:
            self._forget_conversation(next(iter(self._conversations)))

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
        self._touch(conversation)
        return conversation.record

    async def delete_conversation(self, owner: str, conversation_id: str) -> bool:
        if self._own_conversation(owner, conversation_id) is None:
            return False
        self._forget_conversation(conversation_id)
        return True

    async def list_conversations(
        self, owner: str, *, after: str | None = None, limit: int | None = None, order: Order = "desc"
    ) -> ConversationPage:
        chosen = (c.record for c in self._conversations.values() if c.record.owner == owner)
        return ConversationPage(*page_of(chosen, after=after, limit=limit, order=order))

    async def append_conversation_items(
        self, owner: str, conversation_id: str, items: Sequence[Item]
    ) -> bool:
        conversation = self._own_conversation(owner, conversation_id)
        if conversation is None:
            return False
        self._append(conversation, tuple(items))
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
        if after is None and limit is None and order == "asc":
            # The whole conversation, as every turn reads it: one shared tuple, not a fresh copy.
            cached = self._contexts.listing(owner, conversation_id)
            if cached is None:
                whole = tuple(conversation.items)
                self._contexts.keep_listing(owner, conversation_id, whole, len(whole))
                return ItemPage(items=whole, has_more=False)
            return ItemPage(items=cached.items, has_more=False)
        items = conversation.items
        start = 0
        if after is not None:
            position = first_index(items, after)
            if position is None:
                return ItemPage(items=(), has_more=False)
            start = position + 1
        ordered = items[start:] if order == "asc" else items[: start - 1 if after is not None else None][::-1]
        end = len(ordered) if limit is None else min(limit, len(ordered))
        return ItemPage(items=tuple(ordered[:end]), has_more=end < len(ordered))

    async def get_conversation_item(self, owner: str, conversation_id: str, item_id: str) -> Item | None:
        conversation = self._own_conversation(owner, conversation_id)
        if conversation is None:
            return None
        index = first_index(conversation.items, item_id)
        return conversation.items[index] if index is not None else None

    async def delete_conversation_item(self, owner: str, conversation_id: str, item_id: str) -> bool:
        conversation = self._own_conversation(owner, conversation_id)
        if conversation is None:
            return False
        index = first_index(conversation.items, item_id)
        if index is None:
            return False
        del conversation.items[index]
        self._contexts.forget_listing(owner, conversation_id)
        self._touch(conversation)
        return True
