"""An in-process store: fast, bounded, gone at exit. For tests and throwaway servers.

Histories and whole conversation listings go through a `ContextCache`, as in
the SQLite store, so a turn does not walk its whole chain again.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from .._exceptions import ConfigurationError
from .._records import (
    IdempotencyClaim,
    Order,
    ResponsePage,
    ResponseRecord,
    StoredEvent,
    conversation_session_key,
    events_to_add,
    now,
    response_session_key,
)
from .._types import Item
from ._context_cache import DEFAULT_CONTEXT_CACHE_ITEMS, ContextCache
from ._listing import item_in, page_of
from ._memory_conversations import MemoryConversations, _Conversation
from ._memory_ledger import MemoryLedger
from ._memory_runners import MemoryRunners


class MemoryStore(MemoryConversations, MemoryRunners, MemoryLedger):
    """Keeps everything in dicts, within bounds.

    Every method is synchronous under the hood (no await between reading and writing), so
    concurrent calls on one event loop cannot interleave and need no lock.

    Args:
        max_responses: keep at most this many finished responses; the oldest go first (with
            their events and session state), so a long-running test server cannot grow
            without bound.
        max_conversations: likewise for conversations, least recently active first.
        ttl: seconds after which data is removed by `purge_expired`; None keeps it.
        context_cache_items: how many items the cache of assembled histories and conversation
            listings may hold (least recently used go first); 0 turns the cache off.
    """

    def __init__(
        self,
        *,
        max_responses: int = 10_000,
        max_conversations: int = 10_000,
        ttl: float | None = None,
        context_cache_items: int = DEFAULT_CONTEXT_CACHE_ITEMS,
    ) -> None:
        if max_responses < 1 or max_conversations < 1:
            raise ConfigurationError("max_responses and max_conversations must be at least 1")
        if context_cache_items < 0:
            raise ConfigurationError("context_cache_items must be at least 0 (0 turns the cache off)")
        MemoryLedger.__init__(self)
        MemoryRunners.__init__(self)
        self.max_responses = max_responses
        self.max_conversations = max_conversations
        self.ttl = ttl
        self._responses: OrderedDict[str, ResponseRecord] = OrderedDict()
        # The ids of responses not finished yet (runs in flight): the size bound counts the others.
        self._unfinished: set[str] = set()
        # Least recently active first: appends move a conversation to the end.
        self._conversations: OrderedDict[str, _Conversation] = OrderedDict()
        self._session_state: dict[tuple[str, str], tuple[dict[str, Any], float]] = {}
        self._bindings: dict[tuple[str, str], str] = {}
        self._events: dict[str, dict[int, StoredEvent]] = {}
        self._idempotency: dict[tuple[str, str], tuple[IdempotencyClaim, float]] = {}
        self._links: dict[str, dict[str, str]] = {}
        self._contexts = ContextCache(context_cache_items)

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    # -- responses ---------------------------------------------------------------------------------

    async def create_response(self, record: ResponseRecord) -> None:
        self._insert_response(record)

    def _insert_response(self, record: ResponseRecord) -> None:
        if record.id in self._responses:
            raise ValueError(f"response {record.id!r} exists already")
        self._put_response(record)
        self._contexts.response_created(record.owner, record.id)
        self._enforce_response_bound()

    def _put_response(self, record: ResponseRecord) -> None:
        self._responses[record.id] = record  # a rewrite keeps the record's place: oldest first
        if record.finished:
            self._unfinished.discard(record.id)
        else:
            self._unfinished.add(record.id)

    def _enforce_response_bound(self) -> None:
        # The bound counts finished responses: runs still going are kept, since their engine
        # will write them again (and there are only as many as runs in flight).
        excess = len(self._responses) - len(self._unfinished) - self.max_responses
        if excess <= 0:
            return
        # The oldest finished ones go, found from the oldest end: a step per response dropped
        # (and per run in flight passed), not a walk over the whole store.
        doomed: list[str] = []
        for response_id, record in self._responses.items():
            if record.finished:
                doomed.append(response_id)
                if len(doomed) == excess:
                    break
        for response_id in doomed:
            self._forget_response(response_id)

    async def update_response(
        self,
        record: ResponseRecord,
        *,
        append_to_conversation: bool = False,
        session_state: tuple[str, Mapping[str, Any]] | None = None,
        events: Sequence[StoredEvent] = (),
        create: bool = False,
    ) -> bool:
        current = self._responses.get(record.id)
        if current is None and create:
            self._insert_response(record)
            current = record
        if current is None or current.owner != record.owner:
            return False
        if current.finished and current is not record:
            return False  # a finished response never changes
        self._put_response(record)
        if events:
            self._append_events(record.id, events, finishing=record.finished)
        if session_state is not None:
            key, state = session_state
            self._session_state[(record.owner, key)] = (copy.deepcopy(dict(state)), now())
        if append_to_conversation and record.conversation_id:
            conversation = self._own_conversation(record.owner, record.conversation_id)
            if conversation is not None:
                self._append(conversation, record.input_items + record.output_items)
        if record.finished:
            self._enforce_response_bound()  # a run that ends now counts
        return True

    def _own_response(self, owner: str, response_id: str) -> ResponseRecord | None:
        record = self._responses.get(response_id)
        return record if record is not None and record.owner == owner else None

    async def get_response(self, owner: str, response_id: str) -> ResponseRecord | None:
        return self._own_response(owner, response_id)

    async def delete_response(self, owner: str, response_id: str) -> bool:
        if self._own_response(owner, response_id) is None:
            return False
        self._forget_response(response_id)
        return True

    def _forget_response(self, response_id: str) -> None:
        record = self._responses.pop(response_id)
        self._unfinished.discard(response_id)
        self._contexts.forget_chains(record.owner)  # chains through it now stop after it
        self._events.pop(response_id, None)
        self._session_state.pop((record.owner, response_session_key(response_id)), None)
        for key, (claim, _) in list(self._idempotency.items()):
            if key[0] == record.owner and claim.response_id == response_id:
                del self._idempotency[key]

    async def get_history(self, owner: str, response_id: str) -> tuple[Item, ...] | None:
        cached = self._contexts.chain(owner, response_id)
        if cached is not None:
            return cached.items
        head = self._own_response(owner, response_id)
        if head is None:
            return None
        own = head.input_items + head.output_items
        parent = (
            self._contexts.chain(owner, head.previous_response_id)
            if head.previous_response_id is not None
            else None
        )
        if parent is not None:
            # A cached chain exists, is the owner's and is finished throughout: no walk needed.
            if head.finished:
                self._contexts.keep_chain(owner, response_id, parent.items + own)
            return parent.items + own
        return self._walk_history(owner, head)

    def _walk_history(self, owner: str, head: ResponseRecord) -> tuple[Item, ...]:
        chain: list[ResponseRecord] = [head]
        current = head.previous_response_id
        cut_at: str | None = None
        while current is not None and len(chain) <= len(self._responses):
            record = self._responses.get(current)
            if record is None or record.owner != owner:
                cut_at = current  # an ancestor was deleted or expired: the context starts after it
                break
            chain.append(record)
            current = record.previous_response_id
        items: list[Item] = []
        for record in reversed(chain):
            items.extend(record.input_items)
            items.extend(record.output_items)
        history = tuple(items)
        if all(record.finished for record in chain):
            self._contexts.keep_chain(owner, head.id, history, cut_at=cut_at)
        return history

    async def list_responses(
        self,
        owner: str,
        *,
        conversation_id: str | None = None,
        channel: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Order = "desc",
    ) -> ResponsePage:
        chosen = (
            record
            for record in self._responses.values()
            if record.owner == owner
            and (conversation_id is None or record.conversation_id == conversation_id)
            and (channel is None or record.channel == channel)
        )
        return ResponsePage(*page_of(chosen, after=after, limit=limit, order=order))

    async def find_item(self, owner: str, item_id: str) -> Item | None:
        for conversation in self._conversations.values():
            if conversation.record.owner == owner and (found := item_in(conversation.items, item_id)):
                return found
        for record in reversed(self._responses.values()):
            if record.owner == owner:
                found = item_in(record.output_items, item_id) or item_in(record.input_items, item_id)
                if found is not None:
                    return found
        return None

    # -- conversations -----------------------------------------------------------------------------

    def _forget_conversation(self, conversation_id: str) -> None:
        conversation = self._conversations.pop(conversation_id)
        owner = conversation.record.owner
        self._contexts.forget_listing(owner, conversation_id)
        self._turns.pop(conversation_id, None)
        self._session_state.pop((owner, conversation_session_key(conversation_id)), None)
        for key, bound in list(self._bindings.items()):
            if key[0] == owner and bound == conversation_id:
                del self._bindings[key]

    # -- sessions ----------------------------------------------------------------------------------

    async def get_session_state(self, owner: str, key: str) -> dict[str, Any] | None:
        held = self._session_state.get((owner, key))
        return copy.deepcopy(held[0]) if held is not None else None

    async def put_session_state(self, owner: str, key: str, state: Mapping[str, Any]) -> None:
        self._session_state[(owner, key)] = (copy.deepcopy(dict(state)), now())

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
        record = self._own_response(owner, response_id)
        if record is None or record.finished:
            return
        self._append_events(response_id, events)

    def _append_events(
        self, response_id: str, events: Sequence[StoredEvent], *, finishing: bool = False
    ) -> None:
        log = self._events.setdefault(response_id, {})
        for event in events_to_add(events, max(log, default=-1), finishing=finishing):
            log[event.number] = StoredEvent(event.number, copy.deepcopy(dict(event.data)))

    async def read_run_events(
        self, owner: str, response_id: str, *, after: int = -1
    ) -> tuple[StoredEvent, ...]:
        if self._own_response(owner, response_id) is None:
            return ()
        log = self._events.get(response_id, {})
        return tuple(log[number] for number in sorted(log) if number > after)

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

    async def release_idempotency_key(self, owner: str, key: str, response_id: str) -> None:
        held = self._idempotency.get((owner, key))
        if held is not None and held[0].response_id == response_id:
            del self._idempotency[(owner, key)]

    def _state_has_parent(self, owner: str, key: str) -> bool:
        """Session state of a response or conversation that exists lives as long as it does."""
        kind, _, parent_id = key.partition(":")
        if kind == "response":
            return self._own_response(owner, parent_id) is not None
        if kind == "conversation":
            return self._own_conversation(owner, parent_id) is not None
        return False

    # -- identity links ----------------------------------------------------------------------------

    async def link_identity(self, owner: str, channel: str, address: str) -> None:
        self._links.setdefault(owner, {})[channel] = address

    async def get_identity_links(self, owner: str) -> dict[str, str]:
        return dict(self._links.get(owner, {}))

    # -- retention ---------------------------------------------------------------------------------

    async def purge_expired(self) -> int:
        self.purge_ledger()
        removed = 0
        if self.ttl is not None:
            cutoff = now() - self.ttl
            for response_id, record in list(self._responses.items()):
                finished_at = record.completed_at if record.completed_at is not None else record.created_at
                if record.finished and finished_at < cutoff:
                    self._forget_response(response_id)
                    removed += 1
            for conversation_id, conversation in list(self._conversations.items()):
                if conversation.active_at < cutoff:
                    self._forget_conversation(conversation_id)
                    removed += 1
            for state_key, (_, written_at) in list(self._session_state.items()):
                if written_at < cutoff and not self._state_has_parent(*state_key):
                    del self._session_state[state_key]
            for claim_key, (_, claimed_at) in list(self._idempotency.items()):
                if claimed_at < cutoff:
                    del self._idempotency[claim_key]
        before = len(self._responses) + len(self._conversations)
        self._enforce_response_bound()
        while len(self._conversations) > self.max_conversations:
            self._forget_conversation(next(iter(self._conversations)))
        return removed + before - len(self._responses) - len(self._conversations)
