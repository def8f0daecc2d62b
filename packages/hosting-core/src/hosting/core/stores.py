"""hosting.core.stores: what a store author uses.

A store keeps everything stateful (responses, conversations, session state, run
event logs, idempotency keys, identity links) behind the `Store` protocol; its
docstring states the rules every backend keeps, and the conformance suite in
`hosting.testing` proves them. The records here are what a store reads and
writes; the codecs turn items, usage and events into JSON-ready dicts and back.
The built-in backends, `MemoryStore` and `SQLiteStore`, are in `hosting.core`.
"""

from __future__ import annotations

from ._events import event_from_dict, event_to_dict
from ._public import publish
from ._records import (
    TERMINAL_STATUSES,
    ConversationPage,
    ConversationRecord,
    DeliveryFailure,
    IdempotencyClaim,
    ItemPage,
    Order,
    ResponsePage,
    ResponseRecord,
    ResponseStatus,
    RunError,
    StoredEvent,
    Token,
    conversation_session_key,
    events_to_add,
    response_details,
    response_from_details,
    response_session_key,
)
from ._store._base import Store
from ._types import item_from_dict, item_to_dict, usage_from_dict, usage_to_dict

__all__ = [
    "TERMINAL_STATUSES",
    "ConversationPage",
    "ConversationRecord",
    "DeliveryFailure",
    "IdempotencyClaim",
    "ItemPage",
    "Order",
    "ResponsePage",
    "ResponseRecord",
    "ResponseStatus",
    "RunError",
    "Store",
    "StoredEvent",
    "Token",
    "conversation_session_key",
    "event_from_dict",
    "event_to_dict",
    "events_to_add",
    "item_from_dict",
    "item_to_dict",
    "response_details",
    "response_from_details",
    "response_session_key",
    "usage_from_dict",
    "usage_to_dict",
]

publish(__name__, globals(), __all__)
del publish
