"""Items already decoded, kept by the version of the row they came from.

Assembling the context of turn 500 reads 500 responses (or 1000 conversation
items); the database returns them in about a millisecond, and decoding their
JSON into items is what costs (several milliseconds). The rows a context is made
of are almost never changed, and PostgreSQL tells when one is: every version of a
row has its own ``xmin`` (the transaction that wrote it). Keyed by row and
``xmin``, a decoded copy is valid for as long as the row it came from is the row
read, whichever replica wrote it; a row that was changed or written again has a
new ``xmin`` and is decoded afresh. Nothing is ever invalidated by hand, and a
row that was deleted is simply not read: which rows make the context is always
the database's answer, only the decoding is saved.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Hashable

from hosting.core import Item
from hosting.core.stores import item_from_dict

DEFAULT_DECODED_ITEMS = 100_000


class DecodedItems:
    """A least-recently-used map from a row version to its decoded items, bounded by item count.

    Args:
        capacity: how many items it may hold in all; 0 keeps nothing.
    """

    def __init__(self, capacity: int = DEFAULT_DECODED_ITEMS) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[Hashable, tuple[Item, ...]] = OrderedDict()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def decode(self, key: Hashable, *texts: str) -> tuple[Item, ...]:
        """The items of the JSON arrays `texts` (one row's columns), decoded once per `key`."""
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
            return found
        items = tuple(item_from_dict(data) for text in texts for data in json.loads(text))
        if 0 < len(items) <= self.capacity:
            self._entries[key] = items
            self._size += len(items)
            while self._size > self.capacity:
                _, dropped = self._entries.popitem(last=False)
                self._size -= len(dropped)
        return items

    def decode_one(self, key: Hashable, text: str) -> Item:
        """The item of the JSON object `text`, decoded once per `key`."""
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
            return found[0]
        item = item_from_dict(json.loads(text))
        if self.capacity > 0:
            self._entries[key] = (item,)
            self._size += 1
            while self._size > self.capacity:
                _, dropped = self._entries.popitem(last=False)
                self._size -= len(dropped)
        return item

    def clear(self) -> None:
        self._entries.clear()
        self._size = 0
