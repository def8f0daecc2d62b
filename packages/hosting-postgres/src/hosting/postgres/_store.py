"""`PostgresStore`: the `Store` contract on PostgreSQL, for several replicas of one host.

Every operation borrows a connection of an `AsyncConnectionPool` (autocommit; a write of several
steps is one explicit transaction) and runs the queries of one module per idea: `_responses.py`,
`_conversations.py`, `_state.py`, `_runners.py`, `_listing.py`, `_ledger.py`, `_retention.py`.
Concurrency is the database's: row locks order appends to a conversation and writes to a run, ``ON
CONFLICT`` settles racing claims, an advisory lock serializes the turns of one conversation and the
migrations of one schema.
"""

from __future__ import annotations

import asyncio
import re
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Concatenate, ParamSpec, TypeVar

from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from hosting.core import ConfigurationError, Item
from hosting.core.stores import (
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

from . import _conversations as conversations
from . import _ledger as ledger
from . import _listing as listing
from . import _responses as responses
from . import _runners as runners
from . import _state as state
from ._decoded import DEFAULT_DECODED_ITEMS, DecodedItems
from ._notify import RunNotifier
from ._redact import redact_url
from ._retention import RetentionPolicy, purge_batch, purge_loose_ends
from ._schema import migrate

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_TTL = 30 * 24 * 3600.0
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,39}")


class PostgresStore:
    """Keeps everything in a PostgreSQL database that any number of host processes share.

    Args:
        url: a libpq connection string or URL (``postgresql://user:password@host:5432/db``).
        schema: the schema the tables live in (created when missing); several hosts can
            share one database, each in its own schema. Lower-case letters, digits and ``_``.
        ttl: seconds finished responses and idle conversations are kept (see the retention
            rules of `Store`); 30 days by default, None keeps them forever.
        max_responses / max_conversations: keep at most this many finished responses / conversations
            (None: no bound).
        min_connections: connections the pool keeps open.
        max_connections: connections the pool opens at most (plus one that listens for
            notifications, once something follows a run).
        connect_timeout: seconds `open` waits for the first connection.
        purge_batch: rows removed per transaction by `purge_expired`.
        decoded_items: how many decoded items of histories and conversation listings this
            process keeps, so a long context is not decoded again at every turn (see
            `_decoded.py`); 0 keeps none.
    """

    def __init__(
        self,
        url: str,
        /,
        *,
        schema: str = "public",
        ttl: float | None = DEFAULT_TTL,
        max_responses: int | None = None,
        max_conversations: int | None = None,
        min_connections: int = 1,
        max_connections: int = 10,
        connect_timeout: float = 10.0,
        purge_batch: int = 500,
        decoded_items: int = DEFAULT_DECODED_ITEMS,
    ) -> None:
        if not url:
            raise ConfigurationError("PostgresStore needs a connection URL (postgresql://...)")
        if not _SCHEMA_NAME.fullmatch(schema):
            raise ConfigurationError(
                "schema must be lower-case letters, digits and '_' (not first), at most 40 characters"
            )
        if ttl is not None and ttl <= 0:
            raise ConfigurationError("ttl must be positive (or None to keep data forever)")
        for name, bound in (("max_responses", max_responses), ("max_conversations", max_conversations)):
            if bound is not None and bound < 1:
                raise ConfigurationError(f"{name} must be at least 1 (or None for no bound)")
        if min_connections < 0 or max_connections < max(1, min_connections):
            raise ConfigurationError("need 0 <= min_connections <= max_connections and max_connections >= 1")
        if purge_batch < 1:
            raise ConfigurationError("purge_batch must be at least 1")
        if decoded_items < 0:
            raise ConfigurationError("decoded_items must be at least 0 (0 keeps none)")
        # psycopg takes postgresql:// and postgres://; SQLAlchemy-style URLs name a driver too.
        self.url = re.sub(r"^postgres(ql)?\+\w+://", "postgresql://", url)
        self.schema = schema
        self.ttl = ttl
        self.max_responses = max_responses
        self.max_conversations = max_conversations
        self.min_connections = min_connections
        self.max_connections = max_connections
        self.connect_timeout = connect_timeout
        self.channel = f"hosting_runs:{schema}"
        self._policy = RetentionPolicy(ttl, max_responses, max_conversations, purge_batch)
        self._pool: AsyncConnectionPool[AsyncConnection[Any]] | None = None
        self._notifier: RunNotifier | None = None
        self._opening = asyncio.Lock()
        self._decoded = DecodedItems(decoded_items)
        # Per task (a follower), the notification count when it last read a run's events.
        self._read_marks: weakref.WeakKeyDictionary[asyncio.Task[Any], dict[str, int]] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"PostgresStore({redact_url(self.url)!r}, schema={self.schema!r})"

    # -- lifecycle ---------------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect the pool and bring the schema up to date (several replicas may do it at once)."""
        async with self._opening:
            if self._pool is not None:
                return
            pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
                self.url,
                min_size=self.min_connections,
                max_size=self.max_connections,
                kwargs={"autocommit": True},
                configure=self._configure,
                open=False,
                name=f"hosting-{self.schema}",
            )
            try:
                await pool.open(wait=self.min_connections > 0, timeout=self.connect_timeout)
                async with pool.connection(timeout=self.connect_timeout) as connection:
                    await migrate(connection, schema=self.schema)
            except PoolTimeout as error:
                await pool.close()
                raise ConnectionError(
                    f"could not connect to PostgreSQL at {redact_url(self.url)} within {self.connect_timeout:g}s"
                ) from error
            except BaseException:
                await pool.close()
                raise
            self._pool = pool
            self._notifier = RunNotifier(self.url, self.channel, {})

    async def close(self) -> None:
        """Stop listening and close every connection; a later `open` starts again."""
        async with self._opening:
            pool, self._pool = self._pool, None
            notifier, self._notifier = self._notifier, None
            if notifier is not None:
                await notifier.close()
            if pool is not None:
                await pool.close()

    async def _configure(self, connection: AsyncConnection[Any]) -> None:
        await connection.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))

    async def _call(
        self,
        operation: Callable[Concatenate[AsyncConnection[Any], P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run `operation(connection, ...)` on a pooled connection (opening the store if needed)."""
        if self._pool is None:
            await self.open()
        assert self._pool is not None
        async with self._pool.connection() as connection:
            return await operation(connection, *args, **kwargs)

    # -- following runs across replicas --------------------------------------------------------------

    async def wait_for_run_events(self, response_id: str, timeout: float) -> None:  # noqa: ASYNC109
        """Return as soon as new events of `response_id` (or its end) are stored, by any process
        sharing the database, or after `timeout` seconds, whichever comes first.

        Read the run's events (`read_run_events`) before waiting and again after: a wake-up
        carries no events. A write committed after this task's last read of the run and before
        the wait makes the wait return at once, so nothing is waited out.
        """
        if self._notifier is None:
            await self.open()
        assert self._notifier is not None
        task = asyncio.current_task()
        marks = self._read_marks.get(task) if task is not None else None
        since = marks.pop(response_id, None) if marks is not None else None
        await self._notifier.wait(response_id, timeout, since=since)

    # -- responses ---------------------------------------------------------------------------------

    async def create_response(self, record: ResponseRecord) -> None:
        await self._call(responses.create_response, record)

    async def update_response(
        self,
        record: ResponseRecord,
        *,
        append_to_conversation: bool = False,
        session_state: tuple[str, Mapping[str, Any]] | None = None,
        events: Sequence[StoredEvent] = (),
        create: bool = False,
    ) -> bool:
        return await self._call(
            responses.update_response,
            self.channel,
            record,
            append_to_conversation,
            session_state,
            tuple(events),
            create,
        )

    async def get_response(self, owner: str, response_id: str) -> ResponseRecord | None:
        return await self._call(responses.get_response, owner, response_id)

    async def delete_response(self, owner: str, response_id: str) -> bool:
        return await self._call(responses.delete_response, owner, response_id)

    async def get_history(self, owner: str, response_id: str) -> tuple[Item, ...] | None:
        return await self._call(responses.get_history, self._decoded, owner, response_id)

    async def heartbeat(self, runner: str, *, lease: float, live: Sequence[str] = ()) -> tuple[str, ...]:
        return await self._call(runners.heartbeat, runner, lease, tuple(live))

    async def claim_orphaned_runs(self, runner: str) -> tuple[ResponseRecord, ...]:
        return await self._call(runners.claim_orphaned_runs, runner)

    async def claim_conversation(
        self, owner: str, conversation_id: str, response_id: str, *, runner: str
    ) -> str | None:
        return await self._call(runners.claim_conversation, owner, conversation_id, response_id, runner)

    async def release_conversation(self, owner: str, conversation_id: str, response_id: str) -> None:
        await self._call(runners.release_conversation, owner, conversation_id, response_id)

    # -- conversations -----------------------------------------------------------------------------

    async def create_conversation(self, record: ConversationRecord, items: Sequence[Item] = ()) -> None:
        await self._call(conversations.create_conversation, record, tuple(items))

    async def get_conversation(self, owner: str, conversation_id: str) -> ConversationRecord | None:
        return await self._call(conversations.get_conversation, owner, conversation_id)

    async def update_conversation(
        self, owner: str, conversation_id: str, metadata: Mapping[str, str]
    ) -> ConversationRecord | None:
        return await self._call(conversations.update_conversation, owner, conversation_id, dict(metadata))

    async def delete_conversation(self, owner: str, conversation_id: str) -> bool:
        return await self._call(conversations.delete_conversation, owner, conversation_id)

    async def append_conversation_items(
        self, owner: str, conversation_id: str, items: Sequence[Item]
    ) -> bool:
        return await self._call(conversations.append_conversation_items, owner, conversation_id, tuple(items))

    async def list_conversation_items(
        self,
        owner: str,
        conversation_id: str,
        *,
        after: str | None = None,
        limit: int | None = None,
        order: Order = "asc",
    ) -> ItemPage | None:
        return await self._call(
            conversations.list_conversation_items, self._decoded, owner, conversation_id, after, limit, order
        )

    async def get_conversation_item(self, owner: str, conversation_id: str, item_id: str) -> Item | None:
        return await self._call(conversations.get_conversation_item, owner, conversation_id, item_id)

    async def delete_conversation_item(self, owner: str, conversation_id: str, item_id: str) -> bool:
        return await self._call(conversations.delete_conversation_item, owner, conversation_id, item_id)

    # -- sessions ----------------------------------------------------------------------------------

    async def get_session_state(self, owner: str, key: str) -> dict[str, Any] | None:
        return await self._call(state.get_session_state, owner, key)

    async def put_session_state(self, owner: str, key: str, state_: Mapping[str, Any]) -> None:
        await self._call(state.write_session_state, owner, key, dict(state_))

    async def bind_session(
        self, owner: str, session_key: str, conversation_id: str, *, replace: bool = False
    ) -> str:
        return await self._call(state.bind_session, owner, session_key, conversation_id, replace)

    async def get_session_binding(self, owner: str, session_key: str) -> str | None:
        return await self._call(state.get_session_binding, owner, session_key)

    # -- run event logs ----------------------------------------------------------------------------

    async def append_run_events(self, owner: str, response_id: str, events: Sequence[StoredEvent]) -> None:
        await self._call(state.append_run_events, self.channel, owner, response_id, tuple(events))

    async def read_run_events(
        self, owner: str, response_id: str, *, after: int = -1
    ) -> tuple[StoredEvent, ...]:
        notifier, task = self._notifier, asyncio.current_task()
        # Taken before the read: a notification counted after it may announce what this read
        # did not see, so this task's next wait for the run returns at once (`wait_for_run_events`).
        mark = notifier.mark() if notifier is not None and notifier.listening else None
        events = await self._call(state.read_run_events, owner, response_id, after)
        if mark is not None and task is not None:
            marks = self._read_marks.setdefault(task, {})
            marks[response_id] = mark
            if len(marks) > 64:  # a task follows a run or two; never let one grow without bound
                marks.pop(next(iter(marks)))
        return events

    # -- idempotency -------------------------------------------------------------------------------

    async def claim_idempotency_key(
        self, owner: str, key: str, fingerprint: str, response_id: str
    ) -> IdempotencyClaim:
        return await self._call(state.claim_idempotency_key, owner, key, fingerprint, response_id)

    async def release_idempotency_key(self, owner: str, key: str, response_id: str) -> None:
        await self._call(state.release_idempotency_key, owner, key, response_id)

    # -- listings ----------------------------------------------------------------------------------

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
        return await self._call(listing.list_responses, owner, conversation_id, channel, after, limit, order)

    async def list_conversations(
        self, owner: str, *, after: str | None = None, limit: int | None = None, order: Order = "desc"
    ) -> ConversationPage:
        return await self._call(listing.list_conversations, owner, after, limit, order)

    async def find_item(self, owner: str, item_id: str) -> Item | None:
        return await self._call(listing.find_item, owner, item_id)

    # -- tokens, seen keys, delivery failures, identity links ----------------------------------------

    async def put_token(
        self, namespace: str, token: str, *, owner: str, data: Mapping[str, Any], ttl: float
    ) -> None:
        await self._call(ledger.put_token, namespace, token, owner, data, ttl)

    async def take_token(self, namespace: str, token: str) -> Token | None:
        return await self._call(ledger.take_token, namespace, token)

    async def remember(self, namespace: str, key: str, *, ttl: float) -> bool:
        return await self._call(ledger.remember, namespace, key, ttl)

    async def add_delivery_failure(self, failure: DeliveryFailure) -> None:
        await self._call(ledger.add_delivery_failure, failure)

    async def list_delivery_failures(
        self, *, owner: str | None = None, limit: int | None = None
    ) -> tuple[DeliveryFailure, ...]:
        return await self._call(ledger.list_delivery_failures, owner, limit)

    async def link_identity(self, owner: str, channel: str, address: str) -> None:
        await self._call(state.link_identity, owner, channel, address)

    async def get_identity_links(self, owner: str) -> dict[str, str]:
        return await self._call(state.get_identity_links, owner)

    # -- retention ---------------------------------------------------------------------------------

    async def purge_expired(self) -> int:
        """Remove expired and excess data, one batch per transaction; return how many records went."""
        removed = 0
        while True:
            batch = await self._call(purge_batch, self._policy)
            if batch == 0:
                break
            removed += batch
        await self._call(purge_loose_ends, self._policy)
        await self._call(ledger.purge_ledger)
        return removed
