"""What a channel gets from the host: runs, state scoped to the caller, delivery.

`ChannelContext` is the whole surface a channel needs; a channel written
against it (and the public types) works on any host and any store.
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping, Sequence
from typing import Any

from ._agent import Agent
from ._channel import (
    ChannelIdentity,
    ChannelRequest,
    Command,
    DeliveryReport,
    DeliveryTarget,
    HostedRunResult,
)
from ._delivery import Deliveries
from ._engine import RunEngine
from ._exceptions import NotFoundError
from ._isolation import IsolationKeys, current_keys
from ._limits import Limits
from ._records import (
    ConversationPage,
    ConversationRecord,
    ItemPage,
    Order,
    ResponsePage,
    ResponseRecord,
    Token,
    now,
)
from ._run import Run
from ._store._base import Store
from ._types import Item


class ScopedStore:
    """The store as one caller sees it: every call is scoped to their user key."""

    def __init__(self, store: Store, owner: str) -> None:
        self._store = store
        self.owner = owner

    async def get_response(self, response_id: str) -> ResponseRecord | None:
        return await self._store.get_response(self.owner, response_id)

    async def delete_response(self, response_id: str) -> bool:
        return await self._store.delete_response(self.owner, response_id)

    async def get_history(self, response_id: str) -> tuple[Item, ...] | None:
        return await self._store.get_history(self.owner, response_id)

    async def list_responses(
        self,
        *,
        conversation_id: str | None = None,
        channel: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Order = "desc",
    ) -> ResponsePage:
        return await self._store.list_responses(
            self.owner,
            conversation_id=conversation_id,
            channel=channel,
            after=after,
            limit=limit,
            order=order,
        )

    async def find_item(self, item_id: str) -> Item | None:
        return await self._store.find_item(self.owner, item_id)

    async def list_conversations(
        self, *, after: str | None = None, limit: int | None = None, order: Order = "desc"
    ) -> ConversationPage:
        return await self._store.list_conversations(self.owner, after=after, limit=limit, order=order)

    async def create_conversation(
        self, conversation_id: str, *, metadata: Mapping[str, str] | None = None, items: Sequence[Item] = ()
    ) -> ConversationRecord:
        record = ConversationRecord(conversation_id, self.owner, now(), dict(metadata or {}))
        await self._store.create_conversation(record, items)
        return record

    async def get_conversation(self, conversation_id: str) -> ConversationRecord | None:
        return await self._store.get_conversation(self.owner, conversation_id)

    async def update_conversation(
        self, conversation_id: str, metadata: Mapping[str, str]
    ) -> ConversationRecord | None:
        return await self._store.update_conversation(self.owner, conversation_id, metadata)

    async def delete_conversation(self, conversation_id: str) -> bool:
        return await self._store.delete_conversation(self.owner, conversation_id)

    async def append_conversation_items(self, conversation_id: str, items: Sequence[Item]) -> bool:
        return await self._store.append_conversation_items(self.owner, conversation_id, items)

    async def list_conversation_items(
        self,
        conversation_id: str,
        *,
        after: str | None = None,
        limit: int | None = None,
        order: Order = "asc",
    ) -> ItemPage | None:
        return await self._store.list_conversation_items(
            self.owner, conversation_id, after=after, limit=limit, order=order
        )

    async def get_conversation_item(self, conversation_id: str, item_id: str) -> Item | None:
        return await self._store.get_conversation_item(self.owner, conversation_id, item_id)

    async def delete_conversation_item(self, conversation_id: str, item_id: str) -> bool:
        return await self._store.delete_conversation_item(self.owner, conversation_id, item_id)

    async def get_session_state(self, key: str) -> dict[str, Any] | None:
        return await self._store.get_session_state(self.owner, key)

    async def put_session_state(self, key: str, state: Mapping[str, Any]) -> None:
        await self._store.put_session_state(self.owner, key, state)

    async def link_identity(self, channel: str, address: str) -> None:
        await self._store.link_identity(self.owner, channel, address)


class ChannelContext:
    """Handed to `Channel.contribute`; valid for the host's lifetime.

    Methods that touch data act for the caller of the request being served
    (its isolation keys come from the ContextVar the host's middleware sets).

    Args:
        channel_name: the channel this context is for.
        engine: runs agents.
        store: the host's store (this context hands it on scoped to each caller).
        limits: the host's request limits.
        commands: this channel's commands by name (filled in once the channel contributed them).
        deliveries: pushes items to channels outside a request.
        authenticates: the host resolves callers (an authenticator, or trusted isolation
            headers); False when everybody is the one anonymous user.
    """

    def __init__(
        self,
        channel_name: str,
        *,
        engine: RunEngine,
        store: Store,
        limits: Limits,
        commands: Mapping[str, Command],
        deliveries: Deliveries,
        authenticates: bool = False,
    ) -> None:
        self.channel_name = channel_name
        self.authenticates = authenticates
        self._engine = engine
        self._store = store
        self._limits = limits
        self._commands = commands
        self._deliveries = deliveries

    # -- who is calling ----------------------------------------------------------------------------

    @property
    def isolation(self) -> IsolationKeys:
        """The caller's isolation keys (the anonymous user's outside a request)."""
        return current_keys()

    @property
    def store(self) -> ScopedStore:
        """The store, scoped to the current caller."""
        return ScopedStore(self._store, current_keys().user)

    @property
    def limits(self) -> Limits:
        """The host's request limits; channels check the parse-level ones (items, text, depth, metadata)."""
        return self._limits

    @property
    def agents(self) -> Mapping[str, Agent]:
        """The hosted agents by name, default first."""
        return self._engine.agents

    # -- runs --------------------------------------------------------------------------------------

    # `run` and `run_stream` hand on the engine's own coroutine rather than awaiting it in one of
    # their own: every run starts through one of them.

    def run(self, request: ChannelRequest) -> Coroutine[Any, Any, HostedRunResult]:
        """Run the agent; await this for the result."""
        return self._engine.run(request)

    def run_stream(self, request: ChannelRequest) -> Coroutine[Any, Any, Run]:
        """Start a run (await this); iterate `run.follow()` for its events as they happen."""
        return self._engine.start(request)

    async def attach(self, response_id: str) -> Run:
        """The run of a stored response (live or finished), to follow or replay. 404 if unknown."""
        return await self._engine.attach(current_keys().user, response_id)

    async def cancel(self, response_id: str) -> ResponseRecord:
        """Cancel a running response; a finished one is returned as it is."""
        return await self._engine.cancel(current_keys().user, response_id)

    async def conversation_for_session(self, session_key: str) -> str:
        """The conversation bound to a chat channel's session key (created on first use)."""
        return await self._engine.conversation_for_session(current_keys().user, session_key)

    async def reset_session(self, session_key: str) -> str:
        """Start a fresh conversation for the session key; stored history stays."""
        return await self._engine.reset_session(current_keys().user, session_key)

    def new_id(self, kind: str, *, hint: str | None = None) -> str:
        """A new id of `kind` (``"conversation"``, ``"message"``, ...) from the host's id factory."""
        return self._engine.new_id(kind, owner=current_keys().user, hint=hint)

    def check_id(self, identifier: str, *, param: str | None = None, what: str = "response") -> None:
        """Raise `NotFoundError` for an id that is malformed or cannot be the caller's."""
        self._engine.check_id(identifier, owner=current_keys().user, param=param, what=what)

    # -- one-time tokens and seen keys (namespaced by channel) --------------------------------------

    async def put_token(self, namespace: str, token: str, *, data: Mapping[str, Any], ttl: float) -> None:
        """Keep a one-time `token` of the current caller for `ttl` seconds (a link code, say).

        Raises:
            ValueError: this channel's `namespace` holds this token already.
        """
        await self._store.put_token(
            f"{self.channel_name}:{namespace}", token, owner=current_keys().user, data=data, ttl=ttl
        )

    async def take_token(self, namespace: str, token: str) -> Token | None:
        """Whose the token is and its data, removing it: of concurrent takes (in any process
        sharing the store), exactly one gets it. None when unknown, taken or expired."""
        return await self._store.take_token(f"{self.channel_name}:{namespace}", token)

    async def remember(self, namespace: str, key: str, *, ttl: float) -> bool:
        """True the first time `key` is seen in this channel's `namespace` (within `ttl` seconds),
        False after, also from another process: how a redelivered update is handled once."""
        return await self._store.remember(f"{self.channel_name}:{namespace}", key, ttl=ttl)

    # -- commands ----------------------------------------------------------------------------------

    async def run_command(self, name: str, request: ChannelRequest) -> str | None:
        """Run one of this channel's commands by name."""
        command = self._commands.get(name)
        if command is None:
            raise NotFoundError(f"Unknown command '{name}'.")
        return await command.handler(self, request)

    # -- delivery ----------------------------------------------------------------------------------

    async def deliver(
        self,
        items: Sequence[Item],
        *,
        target: DeliveryTarget = "origin",
        origin: ChannelIdentity | None = None,
    ) -> DeliveryReport:
        """Push items to channels outside the current request.

        `target` is ``"origin"`` (the channel named by `origin`, at its address), a sequence
        of channel names, ``"linked"`` (every channel the user linked an address on), or None.
        A channel with no push function or no known address is skipped; a push that raises is
        reported as failed.
        """
        return await self._deliveries.deliver(items, keys=current_keys(), target=target, origin=origin)
