"""Listing an owner's responses and conversations, and finding an item by id, over records in memory.

Shared by the memory store (whose records are all in memory) and usable by any backend that
has a candidate set at hand. Order is by creation, ties broken by id, so a page boundary is stable.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from .._records import ConversationRecord, Order, ResponseRecord
from .._types import Item

R = TypeVar("R", ResponseRecord, ConversationRecord)


def page_of(
    records: Iterable[R], *, after: str | None, limit: int | None, order: Order
) -> tuple[tuple[R, ...], bool]:
    """A page of `records` (all of one owner, filtered already) in `order`, after the id `after`."""
    ordered = sorted(records, key=lambda record: (record.created_at, record.id), reverse=order == "desc")
    start = 0
    if after is not None:
        position = next((index for index, record in enumerate(ordered) if record.id == after), None)
        if position is None:
            return (), False
        start = position + 1
    rest = ordered[start:]
    end = len(rest) if limit is None else min(limit, len(rest))
    return tuple(rest[:end]), end < len(rest)


def item_in(items: Sequence[Item], item_id: str) -> Item | None:
    """The first item of `items` with this id."""
    return next((item for item in items if item.id == item_id), None)


def first_index(items: Sequence[Item], item_id: str) -> int | None:
    """The position of the first item of `items` with this id."""
    return next((index for index, item in enumerate(items) if item.id == item_id), None)
