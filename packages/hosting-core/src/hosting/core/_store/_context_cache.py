"""Assembled contexts kept decoded, so turn 500 costs what turn 1 costs.

Every turn reads its whole context again: the `previous_response_id` chain
(`Store.get_history`) or the conversation's items (`Store.list_conversation_items`).
Decoding it from storage each time makes turn N cost O(N). This cache keeps
the assembled items of recent contexts as tuples of frozen items, so callers
share them without being able to change them, and a new turn only adds its
own items to what is already assembled:

- a chain is immutable once every response in it is finished, so
  ``history(r) = history(r.previous) + r.input_items + r.output_items``; a
  chain is cached only when all its responses are finished;
- a conversation is a mutable head: its listing is cached whole and extended
  by an append only when the append starts exactly where the cached listing
  ends; anything else drops it.

What invalidates what (the backends call these as they write):

- deleting, expiring or rewriting a finished response drops every cached chain
  of its owner (chains never cross owners; these writes are rare);
- creating a response with an id at which a cached chain stopped (an ancestor
  that was missing then) drops its owner's chains too;
- deleting a conversation or one of its items drops its listing;
- `observe` drops everything when the backend reports that someone else
  changed the data (the SQLite store passes ``PRAGMA data_version``, which moves
  only on commits of other connections).

The cache is bounded by the number of item references it holds (a chain of
turn N holds all N turns' items), least recently used first. It is not
thread-safe: each backend touches it from one thread only (the event loop for
the memory store, the worker thread of a connection for the SQLite store).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from .._types import Item

DEFAULT_CONTEXT_CACHE_ITEMS = 100_000


@dataclass(frozen=True, slots=True)
class CachedChain:
    """The history after a response, and that response's depth (for backends that keep one)."""

    items: tuple[Item, ...]
    depth: int


@dataclass(frozen=True, slots=True)
class CachedListing:
    """A conversation's items, and the position after the last of them, as the backend counts."""

    items: tuple[Item, ...]
    end: int


_Kind: TypeAlias = Literal["chain", "conversation"]
_Key: TypeAlias = tuple[_Kind, str, str]  # (kind, owner, id)


class ContextCache:
    """A bounded LRU of assembled chains and conversation listings, keyed by owner and id.

    Args:
        max_items: how many item references all entries may hold together; 0 caches nothing.
    """

    def __init__(self, max_items: int = DEFAULT_CONTEXT_CACHE_ITEMS) -> None:
        self.max_items = max_items
        self._entries: OrderedDict[_Key, CachedChain | CachedListing] = OrderedDict()
        self._held = 0
        self._chains_of: dict[str, set[str]] = {}  # owner -> response ids with a cached chain
        self._cut_at: dict[str, set[str]] = {}  # owner -> missing ancestors a cached chain stopped at
        self._version: object = None

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def held_items(self) -> int:
        """Item references held by all entries together (what `max_items` bounds)."""
        return self._held

    def observe(self, version: object) -> None:
        """Note the backend's data version; a change means another writer was here: start over."""
        if version != self._version:
            self.clear()
            self._version = version

    def clear(self) -> None:
        """Drop every entry."""
        self._entries.clear()
        self._chains_of.clear()
        self._cut_at.clear()
        self._held = 0

    # -- chains ------------------------------------------------------------------------------------

    def chain(self, owner: str, response_id: str) -> CachedChain | None:
        """The cached history after `response_id`, or None."""
        entry = self._get(("chain", owner, response_id))
        return entry if isinstance(entry, CachedChain) else None

    def keep_chain(
        self,
        owner: str,
        response_id: str,
        items: tuple[Item, ...],
        *,
        depth: int = 0,
        cut_at: str | None = None,
    ) -> None:
        """Cache the history after a finished response whose ancestors are all finished.

        `cut_at` names a missing ancestor the walk stopped at, for backends whose chain would
        grow should a response with that id appear later.
        """
        if not self._put(("chain", owner, response_id), CachedChain(items, depth)):
            return
        self._chains_of.setdefault(owner, set()).add(response_id)
        if cut_at is not None:
            self._cut_at.setdefault(owner, set()).add(cut_at)

    def holds_chains(self, owner: str) -> bool:
        """Whether any chain of `owner` is cached (so a write might have to drop some)."""
        return owner in self._chains_of

    def response_created(self, owner: str, response_id: str) -> None:
        """A response was created: chains that stopped at its id (then missing) are stale."""
        if response_id in self._cut_at.get(owner, ()):
            self.forget_chains(owner)

    def forget_chains(self, owner: str | None = None) -> None:
        """Drop the cached chains of `owner`, or of every owner."""
        owners = list(self._chains_of) if owner is None else [owner]
        for each in owners:
            for response_id in list(self._chains_of.get(each, ())):
                self._drop(("chain", each, response_id))

    # -- conversations -----------------------------------------------------------------------------

    def listing(self, owner: str, conversation_id: str) -> CachedListing | None:
        """The cached items of a conversation, or None."""
        entry = self._get(("conversation", owner, conversation_id))
        return entry if isinstance(entry, CachedListing) else None

    def keep_listing(self, owner: str, conversation_id: str, items: tuple[Item, ...], end: int) -> None:
        """Cache a conversation's whole listing, read together with the position after it."""
        self._put(("conversation", owner, conversation_id), CachedListing(items, end))

    def appended(self, owner: str, conversation_id: str, start: int, items: Sequence[Item]) -> None:
        """Items were appended at `start`: extend the cached listing if it ends there, else drop it.

        Call it only once the append is durable (after its commit).
        """
        key: _Key = ("conversation", owner, conversation_id)
        entry = self._entries.get(key)
        if not isinstance(entry, CachedListing):
            return
        self._drop(key)
        if entry.end == start:
            self._put(key, CachedListing(entry.items + tuple(items), start + len(items)))

    def forget_listing(self, owner: str, conversation_id: str) -> None:
        """Drop a conversation's cached listing (its items changed other than by an append)."""
        self._drop(("conversation", owner, conversation_id))

    # -- the LRU -----------------------------------------------------------------------------------

    def _get(self, key: _Key) -> CachedChain | CachedListing | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def _put(self, key: _Key, entry: CachedChain | CachedListing) -> bool:
        self._drop(key)
        weight = _weight(entry)
        if weight > self.max_items:
            return False  # larger than the whole cache: keeping it would evict everything else
        self._entries[key] = entry
        self._held += weight
        while self._held > self.max_items:
            oldest, _ = next(iter(self._entries.items()))
            self._drop(oldest)
        return True

    def _drop(self, key: _Key) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self._held -= _weight(entry)
        kind, owner, identifier = key
        if kind == "chain":
            ids = self._chains_of.get(owner)
            if ids is not None:
                ids.discard(identifier)
                if not ids:
                    # No chain of this owner left, so none can have stopped anywhere either.
                    del self._chains_of[owner]
                    self._cut_at.pop(owner, None)


def _weight(entry: CachedChain | CachedListing) -> int:
    return len(entry.items) + 1  # an empty context still takes an entry
