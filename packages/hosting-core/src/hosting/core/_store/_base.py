"""The Store contract: everything stateful the host keeps, behind one interface.

Every method takes the caller's `owner` (the user isolation key) first and
never returns or changes another owner's data: an id that belongs to someone
else behaves exactly like an unknown id. A backend checks the owner it stored
with each record, never what an id looks like (an id factory may encode a
partition, but that is a routing hint, not a proof of ownership). Backends are
proven equivalent by the conformance suite in `hosting.testing`.

Responses are immutable snapshots once finished (a `previous_response_id` can
branch from any of them): a finished response is never changed again, whoever
tries. Conversations are mutable heads whose appends are serialized by the
backend.

Runs and runners: every host process is a *runner* with an id; it keeps a lease
alive with `heartbeat`, and every run it starts carries its id
(`ResponseRecord.runner`). A run whose runner's lease has expired is an orphan:
`claim_orphaned_runs` hands each orphan to exactly one live runner, which ends it.
A runner that is alive is never touched by another: several processes (or
replicas) can share one store. A conversation's turns are serialized through
`claim_conversation`: one turn at a time holds it, until it is released, its
response is finished, or its runner is gone.

A networked store may also offer ``async wait_for_run_events(response_id,
timeout)``, returning as soon as more events (or the end) of that run are
stored (PostgreSQL's notifications, say); the engine then follows a run of
another process without polling. Stores without it are polled.

Retention, on every backend that supports it:

- a finished response expires `ttl` seconds after it finished (or was created,
  when it has no `completed_at`); a `queued` or `in_progress` one never does;
- a conversation expires `ttl` seconds after its last activity (creation, an
  append, a recorded turn or a metadata update);
- session state expires `ttl` seconds after it was last written, unless the
  response or conversation it belongs to still exists; idempotency keys expire
  `ttl` seconds after their claim;
- beyond a size bound, the least recent finished responses (by creation) and
  the least recently active conversations go first.

Whatever removes a response also removes its run events, its
``response:<id>`` session state and the idempotency keys bound to it; whatever
removes a conversation also removes its items, its ``conversation:<id>``
session state and the session bindings that point at it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from .._records import (
    ConversationPage,
    ConversationRecord,
    DeliveryFailure,
    IdempotencyClaim,
    ItemPage,
    Order,
    ResponsePage,
    ResponseRecord,
    StoredEvent,
    Token,
)
from .._types import Item


@runtime_checkable
class Store(Protocol):
    """Durable state of the host. See the module docstring for the rules every backend keeps.

    Writes that need several steps (a response and its conversation turn, say) are atomic:
    after a crash, either all of it is stored or none of it.
    """

    async def open(self) -> None:
        """Prepare the backend (create files, run migrations). Called once at host start-up.

        Opening an open store does nothing; a closed store can be opened again.
        """

    async def close(self) -> None:
        """Release resources. Called once at shutdown."""

    # -- responses ---------------------------------------------------------------------------------

    async def create_response(self, record: ResponseRecord) -> None:
        """Insert a new response (usually `queued` or `in_progress`).

        Raises:
            ValueError: a response with this id exists already (of any owner).
        """

    async def update_response(
        self,
        record: ResponseRecord,
        *,
        append_to_conversation: bool = False,
        session_state: tuple[str, Mapping[str, Any]] | None = None,
        events: Sequence[StoredEvent] = (),
        create: bool = False,
    ) -> bool:
        """Replace a stored response with `record` (same id and owner). False if it is gone, or
        finished already (a finished response never changes).

        With `create`, a response that is not stored yet is inserted instead (the engine writes a
        run nobody could know of before it ends, a non-streamed one, only once, at its end); an
        id stored for another owner is still refused (False).

        With `append_to_conversation`, the record's input and output items are appended to its
        conversation in the same transaction, so a turn is recorded wholly or not at all (a
        conversation that is gone, or is another owner's, gets nothing; the record is still saved).
        With `session_state` (a key and a mapping), that state is saved in the same transaction
        too, as `put_session_state` would; nothing is saved when the response is gone. `events`
        are appended to its event log in the same transaction, as `append_run_events` would.
        """

    async def get_response(self, owner: str, response_id: str) -> ResponseRecord | None:
        """The response, or None when it is unknown or another owner's."""

    async def delete_response(self, owner: str, response_id: str) -> bool:
        """Delete a response with its events, session state and idempotency keys.

        Its children keep their own data; their history then starts after the deleted response.
        """

    async def get_history(self, owner: str, response_id: str) -> tuple[Item, ...] | None:
        """The context after `response_id`: input then output of every response of its
        `previous_response_id` chain, oldest first, in one round trip. None if unknown.

        The chain stops at an ancestor that is gone (deleted or expired) or another owner's.
        """

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
        """The owner's responses by creation (``desc``: newest first), optionally only those of a
        conversation or made on a channel; up to `limit` (None: all), after the one with id `after`.

        An `after` that is not one of the owner's listed responses gives an empty page.
        """

    async def find_item(self, owner: str, item_id: str) -> Item | None:
        """The owner's stored item with this id, wherever it is: a response's input or output, or
        a conversation. None when the owner has none (another owner's item is none of theirs)."""

    async def heartbeat(self, runner: str, *, lease: float, live: Sequence[str] = ()) -> tuple[str, ...]:
        """Keep `runner` alive until `lease` seconds from now. Returns those of `live` (ids of runs
        the runner is executing) that are finished in the store: another process ended them (a
        cancel), so the runner stops them."""

    async def claim_orphaned_runs(self, runner: str) -> tuple[ResponseRecord, ...]:
        """Every `queued` / `in_progress` response (of any owner) whose runner is gone (None, or
        a lease that expired), now with `runner` as its runner, which must end it. Of concurrent
        claims, each orphan goes to exactly one; a live runner's runs are never claimed."""

    async def claim_conversation(
        self, owner: str, conversation_id: str, response_id: str, *, runner: str
    ) -> str | None:
        """Take the conversation's turn for `response_id` (run by `runner`); None when taken.

        When another turn holds it (its response is not finished and its runner is alive), the
        turn is not taken and that turn's response id is returned. Taking it again for the same
        `response_id` succeeds.
        """

    async def release_conversation(self, owner: str, conversation_id: str, response_id: str) -> None:
        """Give the conversation's turn up, if `response_id` holds it."""

    # -- conversations -----------------------------------------------------------------------------

    async def create_conversation(self, record: ConversationRecord, items: Sequence[Item] = ()) -> None:
        """Insert a conversation with its first items.

        Raises:
            ValueError: a conversation with this id exists already (of any owner).
        """

    async def get_conversation(self, owner: str, conversation_id: str) -> ConversationRecord | None:
        """The conversation, or None when it is unknown or another owner's."""

    async def update_conversation(
        self, owner: str, conversation_id: str, metadata: Mapping[str, str]
    ) -> ConversationRecord | None:
        """Replace the conversation's metadata as a whole; None when it is unknown."""

    async def delete_conversation(self, owner: str, conversation_id: str) -> bool:
        """Delete a conversation, its items, its session state and the session bindings to it.

        Responses recorded in it stay (they are snapshots of their own).
        """

    async def list_conversations(
        self, owner: str, *, after: str | None = None, limit: int | None = None, order: Order = "desc"
    ) -> ConversationPage:
        """The owner's conversations by creation (``desc``: newest first), up to `limit` (None: all),
        after the one with id `after` (an unknown `after` gives an empty page)."""

    async def append_conversation_items(
        self, owner: str, conversation_id: str, items: Sequence[Item]
    ) -> bool:
        """Append items (which carry their ids) at the end, atomically. False if the conversation is gone.

        Concurrent appends never interleave: each call's items end up next to each other.
        """

    async def list_conversation_items(
        self,
        owner: str,
        conversation_id: str,
        *,
        after: str | None = None,
        limit: int | None = None,
        order: Order = "asc",
    ) -> ItemPage | None:
        """Up to `limit` items (None: all) in `order`, starting after the item with id `after`.

        None if the conversation is unknown; an empty page if `after` is not one of its items.
        """

    async def get_conversation_item(self, owner: str, conversation_id: str, item_id: str) -> Item | None:
        """The item with this id (the earliest, should an id repeat), or None."""

    async def delete_conversation_item(self, owner: str, conversation_id: str, item_id: str) -> bool:
        """Delete the item with this id (the earliest, should an id repeat). False if there is none."""

    # -- sessions ----------------------------------------------------------------------------------

    async def get_session_state(self, owner: str, key: str) -> dict[str, Any] | None:
        """A copy of the state stored under `key` (changing it changes nothing stored)."""

    async def put_session_state(self, owner: str, key: str, state: Mapping[str, Any]) -> None:
        """Store a JSON-serializable mapping under `key`, replacing what was there."""

    async def bind_session(
        self, owner: str, session_key: str, conversation_id: str, *, replace: bool = False
    ) -> str:
        """Bind a channel's session key (a chat, say) to a conversation and return the bound id.

        Without `replace`, an existing binding wins and is returned (so two racing first
        requests agree on one conversation); with it, the key moves to `conversation_id`.
        """

    async def get_session_binding(self, owner: str, session_key: str) -> str | None:
        """The conversation a session key is bound to, or None."""

    # -- run event logs ----------------------------------------------------------------------------

    async def append_run_events(self, owner: str, response_id: str, events: Sequence[StoredEvent]) -> None:
        """Add events to a running response's log. Numbers already stored keep their first event;
        events of a response that is unknown (or another owner's) or finished are dropped."""

    async def read_run_events(
        self, owner: str, response_id: str, *, after: int = -1
    ) -> tuple[StoredEvent, ...]:
        """Events numbered above `after`, in order; () for an unknown response."""

    # -- idempotency -------------------------------------------------------------------------------

    async def claim_idempotency_key(
        self, owner: str, key: str, fingerprint: str, response_id: str
    ) -> IdempotencyClaim:
        """Bind `key` to `response_id` unless it is bound already; return the binding that holds.

        Of any number of concurrent claims of one key, exactly one has ``created=True``.
        """

    async def release_idempotency_key(self, owner: str, key: str, response_id: str) -> None:
        """Unbind `key` if it is still bound to `response_id`, whose run could not start, so a
        retry with the key starts afresh; a binding to another response stays."""

    # -- identity links (for delivery to every channel a user is reachable on) ---------------------

    async def link_identity(self, owner: str, channel: str, address: str) -> None:
        """Record the owner's address on `channel` (one per channel; a new one replaces the old)."""

    async def get_identity_links(self, owner: str) -> dict[str, str]:
        """The owner's addresses by channel name."""

    # -- one-time tokens and seen keys (chat channels: link codes, redelivered updates) -----------

    async def put_token(
        self, namespace: str, token: str, *, owner: str, data: Mapping[str, Any], ttl: float
    ) -> None:
        """Keep a one-time `token` of `owner` for `ttl` seconds, with JSON-serializable `data`.

        Raises:
            ValueError: the namespace holds this token already (and it has not expired).
        """

    async def take_token(self, namespace: str, token: str) -> Token | None:
        """The token's owner and data, removing it: of any number of concurrent takes, exactly one
        gets it. None when it is unknown, taken already or expired."""

    async def remember(self, namespace: str, key: str, *, ttl: float) -> bool:
        """True the first time `key` is remembered in `namespace` (within `ttl` seconds of the
        first time); False for every later call, also from another process."""

    # -- delivery failures -------------------------------------------------------------------------

    async def add_delivery_failure(self, failure: DeliveryFailure) -> None:
        """Keep a push that gave up, for the operator."""

    async def list_delivery_failures(
        self, *, owner: str | None = None, limit: int | None = None
    ) -> tuple[DeliveryFailure, ...]:
        """Pushes that gave up, newest first: of one owner, or (None) of every owner, for the operator."""

    # -- retention ---------------------------------------------------------------------------------

    async def purge_expired(self) -> int:
        """Remove what the backend's time-to-live and size bounds no longer allow (see the module
        docstring); return how many responses and conversations went."""
