"""History and session binding: what a run continues from.

A request continues nothing (a first turn), a stored response (its
`previous_response_id` chain, an immutable branch), a conversation (a mutable
head) or a channel's session key (a chat), which is bound here to a
conversation, created once even when two first messages race. The session state
the agent kept after the response or in the conversation comes with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ._channel import ChannelRequest
from ._exceptions import NotFoundError
from ._ids import IdFactory, is_well_formed_id
from ._records import ConversationRecord, conversation_session_key, now, response_session_key
from ._store._base import Store
from ._types import FunctionCall, FunctionResult, Item, Message, ToolStep, with_id


@dataclass(slots=True)
class Continuation:
    """What a run continues from: the earlier items, the conversation it joins, the session state."""

    history: tuple[Item, ...] = ()
    conversation_id: str | None = None
    session_state: dict[str, Any] = field(default_factory=dict)


_ID_KINDS: dict[type[Item], str] = {
    Message: "message",
    FunctionCall: "function_call",
    FunctionResult: "function_result",
    ToolStep: "tool_step",
}


class History:
    """Resolves a request's history and binds session keys to conversations, for one store.

    Args:
        store: where responses, conversations and session state are kept.
        ids: the host's id factory (new conversation and item ids; which ids a caller may own).
    """

    def __init__(self, store: Store, ids: IdFactory) -> None:
        self.store = store
        self.ids = ids
        self._session_locks: dict[tuple[str, str], asyncio.Lock] = {}

    def check_id(
        self, identifier: str, *, owner: str, param: str | None = None, what: str = "response"
    ) -> None:
        """404 for an id that is malformed or cannot be the caller's, before any lookup."""
        if not is_well_formed_id(identifier) or not self.ids.owns(identifier, owner=owner):
            raise NotFoundError(f"No {what} found with id '{identifier[:128]}'.", param=param)

    def with_ids(self, items: Sequence[Item], owner: str) -> tuple[Item, ...]:
        """`items`, each with an id (so it can be listed and referenced later)."""
        result: list[Item] = []
        for item in items:
            if item.id is None:
                kind = _ID_KINDS.get(type(item), "reasoning")
                item = with_id(item, self.ids.new_id(kind, owner=owner))
            result.append(item)
        return tuple(result)

    async def conversation_of(self, request: ChannelRequest, owner: str) -> str | None:
        """The conversation `request` continues (its session key bound to one first), or None."""
        if request.previous_response_id is not None:
            return None
        if request.conversation_id is not None:
            self.check_id(request.conversation_id, owner=owner, param="conversation", what="conversation")
            return request.conversation_id
        if request.session_key is None:
            return None
        return await self.conversation_for_session(owner, request.session_key)

    async def continuation(
        self, request: ChannelRequest, owner: str, conversation_id: str | None
    ) -> Continuation:
        """History, conversation and session state for `request`, which continues `conversation_id`
        (see `conversation_of`); 404 for what the caller cannot see."""
        if request.previous_response_id is not None:
            return await self._chain(owner, request.previous_response_id)
        if conversation_id is None:
            return Continuation()  # a first turn, the common case: nothing to look up
        return await self._conversation(owner, conversation_id)

    async def _chain(self, owner: str, previous: str) -> Continuation:
        self.check_id(previous, owner=owner, param="previous_response_id")
        history = await self.store.get_history(owner, previous)
        if history is None:
            raise NotFoundError(
                f"Previous response with id '{previous}' not found.", param="previous_response_id"
            )
        state = await self.store.get_session_state(owner, response_session_key(previous))
        return Continuation(history, None, state or {})

    async def _conversation(self, owner: str, conversation_id: str) -> Continuation:
        self.check_id(conversation_id, owner=owner, param="conversation", what="conversation")
        page = await self.store.list_conversation_items(owner, conversation_id)
        if page is None:
            raise NotFoundError(f"Conversation with id '{conversation_id}' not found.", param="conversation")
        state = await self.store.get_session_state(owner, conversation_session_key(conversation_id))
        return Continuation(page.items, conversation_id, state or {})

    async def conversation_for_session(self, owner: str, session_key: str) -> str:
        """The conversation bound to a channel's session key, created once even when requests race."""
        store = self.store
        bound = await store.get_session_binding(owner, session_key)
        if bound is not None and await store.get_conversation(owner, bound) is not None:
            return bound
        lock = self._session_locks.setdefault((owner, session_key), asyncio.Lock())
        async with lock:
            bound = await store.get_session_binding(owner, session_key)
            if bound is not None and await store.get_conversation(owner, bound) is not None:
                return bound
            fresh = self.ids.new_id("conversation", owner=owner)
            winner = await store.bind_session(owner, session_key, fresh, replace=bound is not None)
            if await store.get_conversation(owner, winner) is None:
                try:
                    await store.create_conversation(ConversationRecord(winner, owner, now()))
                except ValueError:
                    pass  # another process created it between our check and now
            return winner

    async def reset_session(self, owner: str, session_key: str) -> str:
        """Bind the session key to a fresh conversation; the old one and its history stay stored."""
        fresh = self.ids.new_id("conversation", owner=owner)
        await self.store.create_conversation(ConversationRecord(fresh, owner, now()))
        return await self.store.bind_session(owner, session_key, fresh, replace=True)
