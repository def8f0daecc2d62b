"""The embedded default store: one SQLite file, written from one worker thread.

Why one thread: `sqlite3` calls block, so none may run on the event loop. A
single thread owning a single connection is the simplest arrangement that is
correct: SQLite allows one writer at a time anyway, every operation is a short
transaction, and queueing them on one thread serializes writers without lock
contention or ``database is locked`` retries inside the process. Operations that
queue up while one runs are committed together (group commit, `_sqlite_worker.py`),
so many concurrent requests cost one commit per batch rather than one each. WAL mode lets
readers in other processes (a backup, ``sqlite3`` on the command line) read
while the server writes.

Several processes may share one file: each is a runner with a lease
(`heartbeat`), and start-up ends only the runs whose runner is gone
(`claim_orphaned_runs`). Writes from several processes queue on SQLite's
write lock (``busy_timeout``); for several machines, use a networked backend.

Each connection keeps a `ContextCache` of decoded histories and conversation
listings (`_sqlite_context.py`), so assembling turn 500 costs what turn 1 does.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from .._exceptions import ConfigurationError
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
from . import _sqlite_context as contexts
from . import _sqlite_ledger as ledger
from . import _sqlite_listing as listing
from . import _sqlite_queries as queries
from . import _sqlite_runners as runners
from . import _sqlite_state as state_queries
from ._context_cache import DEFAULT_CONTEXT_CACHE_ITEMS, ContextCache
from ._migrations import migrate
from ._sqlite_retention import RetentionPolicy, purge_batch, purge_loose_ends
from ._sqlite_worker import SQLiteWorker

P = ParamSpec("P")
T = TypeVar("T")

DATA_DIR_ENV = "HOSTING_DATA_DIR"
DEFAULT_DATA_DIR = ".hosting"
DEFAULT_TTL = 30 * 24 * 3600.0
_SYNCHRONOUS = frozenset({"OFF", "NORMAL", "FULL", "EXTRA"})


class SQLiteStore:
    """Keeps everything in one SQLite database file, created on first `open()`.

    Args:
        directory: where the file lives; created (mode 0700) if missing. Default: the
            ``HOSTING_DATA_DIR`` environment variable, else ``.hosting/`` under the
            working directory at construction time.
        filename: the database file's name within `directory`.
        ttl: seconds finished responses and idle conversations are kept (see the
            retention rules of `Store`); 30 days by default, None keeps them forever.
        max_responses: keep at most this many finished responses (None: no bound).
        max_conversations: keep at most this many conversations (None: no bound).
        synchronous: SQLite's ``PRAGMA synchronous``. ``NORMAL`` (the default) survives a
            crash or kill of the process; ``FULL`` also survives power loss, at the cost
            of an fsync per write.
        busy_timeout: seconds to wait for another process's write lock before failing.
        purge_batch: rows removed per transaction by `purge_expired`.
        context_cache_items: how many items the cache of assembled histories and conversation
            listings may hold (least recently used go first); 0 turns the cache off.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        filename: str = "hosting.db",
        ttl: float | None = DEFAULT_TTL,
        max_responses: int | None = None,
        max_conversations: int | None = None,
        synchronous: str = "NORMAL",
        busy_timeout: float = 5.0,
        purge_batch: int = 500,
        context_cache_items: int = DEFAULT_CONTEXT_CACHE_ITEMS,
    ) -> None:
        if directory is None:
            directory = os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
        if ttl is not None and ttl <= 0:
            raise ConfigurationError("ttl must be positive (or None to keep data forever)")
        for name, bound in (("max_responses", max_responses), ("max_conversations", max_conversations)):
            if bound is not None and bound < 1:
                raise ConfigurationError(f"{name} must be at least 1 (or None for no bound)")
        if synchronous.upper() not in _SYNCHRONOUS:
            raise ConfigurationError(f"synchronous must be one of {sorted(_SYNCHRONOUS)}")
        if purge_batch < 1:
            raise ConfigurationError("purge_batch must be at least 1")
        if context_cache_items < 0:
            raise ConfigurationError("context_cache_items must be at least 0 (0 turns the cache off)")
        if not filename or Path(filename).name != filename:
            raise ConfigurationError("filename must be a plain file name; put the path in directory")
        self.directory = Path(directory).expanduser().absolute()
        self.path = self.directory / filename
        self.ttl = ttl
        self.max_responses = max_responses
        self.max_conversations = max_conversations
        self.synchronous = synchronous.upper()
        self.busy_timeout = busy_timeout
        self.context_cache_items = context_cache_items
        self._policy = RetentionPolicy(ttl, max_responses, max_conversations, purge_batch)
        self._worker: SQLiteWorker | None = None
        # One cache per connection, used only on that connection's worker thread: what a
        # connection has seen and written is what its cache may hold.
        self._caches: dict[sqlite3.Connection, ContextCache] = {}

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # -- the worker thread -------------------------------------------------------------------------

    async def _call(
        self, operation: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `operation(connection, ...)` on the worker thread and await its result."""
        if self._worker is None:
            # Connecting lazily, on the only thread that uses the connection, means the first
            # call of any kind opens the store and no two calls can race to do it.
            self._worker = SQLiteWorker(self._connect, self._disconnect, abandoned=self._forget_rolled_back)

        def bound(connection: sqlite3.Connection) -> T:
            return operation(connection, *args, **kwargs)

        result: T = await self._worker.call(bound)
        return result

    async def _call_cached(
        self,
        operation: Callable[Concatenate[sqlite3.Connection, ContextCache, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Like `_call`, for operations that read or keep the connection's context cache true."""

        def bound(connection: sqlite3.Connection) -> T:
            return operation(connection, self._caches[connection], *args, **kwargs)

        return await self._call(bound)

    def _connect(self) -> sqlite3.Connection:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        try:
            connection.row_factory = sqlite3.Row
            mode = str(connection.execute("PRAGMA journal_mode=WAL").fetchone()[0])
            if mode.lower() != "wal":
                raise ConfigurationError(
                    f"SQLite could not use WAL mode for {self.path} (got {mode!r}); "
                    "put the data directory on a local file system"
                )
            connection.execute(f"PRAGMA synchronous={self.synchronous}")
            migrate(connection, path=str(self.path))
        except BaseException:
            connection.close()
            raise
        self._caches[connection] = ContextCache(self.context_cache_items)
        return connection

    def _disconnect(self, connection: sqlite3.Connection) -> None:
        self._caches.pop(connection, None)
        try:
            connection.execute("PRAGMA optimize")
        finally:
            connection.close()

    def _forget_rolled_back(self, connection: sqlite3.Connection) -> None:
        # A batch's commit failed: its reads may have cached what it wrote, which is gone now.
        cache = self._caches.get(connection)
        if cache is not None:
            cache.clear()

    # -- lifecycle ---------------------------------------------------------------------------------

    async def open(self) -> None:
        """Create the directory and the file if needed, switch to WAL and apply migrations."""
        await self._call(lambda connection: None)

    async def close(self) -> None:
        """Close the connection and stop the worker thread; a later call opens them again."""
        worker, self._worker = self._worker, None
        if worker is not None:
            await worker.stop()  # queued behind every call already submitted, so those finish first

    # -- responses ---------------------------------------------------------------------------------

    async def create_response(self, record: ResponseRecord) -> None:
        await self._call(queries.create_response, record)

    async def update_response(
        self,
        record: ResponseRecord,
        *,
        append_to_conversation: bool = False,
        session_state: tuple[str, Mapping[str, Any]] | None = None,
        events: Sequence[StoredEvent] = (),
        create: bool = False,
    ) -> bool:
        return await self._call_cached(
            queries.update_response, record, append_to_conversation, session_state, tuple(events), create
        )

    async def get_response(self, owner: str, response_id: str) -> ResponseRecord | None:
        return await self._call(queries.get_response, owner, response_id)

    async def delete_response(self, owner: str, response_id: str) -> bool:
        return await self._call_cached(queries.delete_response, owner, response_id)

    async def get_history(self, owner: str, response_id: str) -> tuple[Item, ...] | None:
        return await self._call_cached(contexts.get_history, owner, response_id)

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
        await self._call_cached(queries.create_conversation, record, tuple(items))

    async def get_conversation(self, owner: str, conversation_id: str) -> ConversationRecord | None:
        return await self._call(queries.get_conversation, owner, conversation_id)

    async def update_conversation(
        self, owner: str, conversation_id: str, metadata: Mapping[str, str]
    ) -> ConversationRecord | None:
        return await self._call(queries.update_conversation, owner, conversation_id, dict(metadata))

    async def delete_conversation(self, owner: str, conversation_id: str) -> bool:
        return await self._call_cached(queries.delete_conversation, owner, conversation_id)

    async def append_conversation_items(
        self, owner: str, conversation_id: str, items: Sequence[Item]
    ) -> bool:
        return await self._call_cached(
            queries.append_conversation_items, owner, conversation_id, tuple(items)
        )

    async def list_conversation_items(
        self,
        owner: str,
        conversation_id: str,
        *,
        after: str | None = None,
        limit: int | None = None,
        order: Order = "asc",
    ) -> ItemPage | None:
        if after is None and limit is None and order == "asc":
            # The whole conversation, as every turn reads it: served from the context cache.
            return await self._call_cached(contexts.list_whole_conversation, owner, conversation_id)
        return await self._call(queries.list_conversation_items, owner, conversation_id, after, limit, order)

    async def get_conversation_item(self, owner: str, conversation_id: str, item_id: str) -> Item | None:
        return await self._call(queries.get_conversation_item, owner, conversation_id, item_id)

    async def delete_conversation_item(self, owner: str, conversation_id: str, item_id: str) -> bool:
        return await self._call_cached(queries.delete_conversation_item, owner, conversation_id, item_id)

    # -- sessions ----------------------------------------------------------------------------------

    async def get_session_state(self, owner: str, key: str) -> dict[str, Any] | None:
        return await self._call(state_queries.get_session_state, owner, key)

    async def put_session_state(self, owner: str, key: str, state: Mapping[str, Any]) -> None:
        await self._call(state_queries.put_session_state, owner, key, dict(state))

    async def bind_session(
        self, owner: str, session_key: str, conversation_id: str, *, replace: bool = False
    ) -> str:
        return await self._call(state_queries.bind_session, owner, session_key, conversation_id, replace)

    async def get_session_binding(self, owner: str, session_key: str) -> str | None:
        return await self._call(state_queries.get_session_binding, owner, session_key)

    # -- run event logs ----------------------------------------------------------------------------

    async def append_run_events(self, owner: str, response_id: str, events: Sequence[StoredEvent]) -> None:
        await self._call(state_queries.append_run_events, owner, response_id, tuple(events))

    async def read_run_events(
        self, owner: str, response_id: str, *, after: int = -1
    ) -> tuple[StoredEvent, ...]:
        return await self._call(state_queries.read_run_events, owner, response_id, after)

    # -- idempotency -------------------------------------------------------------------------------

    async def claim_idempotency_key(
        self, owner: str, key: str, fingerprint: str, response_id: str
    ) -> IdempotencyClaim:
        return await self._call(state_queries.claim_idempotency_key, owner, key, fingerprint, response_id)

    async def release_idempotency_key(self, owner: str, key: str, response_id: str) -> None:
        await self._call(state_queries.release_idempotency_key, owner, key, response_id)

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

    # -- tokens, seen keys, delivery failures --------------------------------------------------------

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

    # -- identity links ----------------------------------------------------------------------------

    async def link_identity(self, owner: str, channel: str, address: str) -> None:
        await self._call(state_queries.link_identity, owner, channel, address)

    async def get_identity_links(self, owner: str) -> dict[str, str]:
        return await self._call(state_queries.get_identity_links, owner)

    # -- retention ---------------------------------------------------------------------------------

    async def purge_expired(self) -> int:
        """Remove expired and excess data, one batch per transaction; return how many records went."""
        removed = 0
        while True:
            batch = await self._call_cached(purge_batch, self._policy)
            if batch == 0:
                break
            removed += batch
        await self._call(purge_loose_ends, self._policy)
        await self._call(ledger.purge_ledger)
        return removed
