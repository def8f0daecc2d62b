"""The channel contract: what a wire protocol plugs into the host.

A channel is one small object with a `name` and a `contribute(context)` method
returning a `ChannelContribution`: its routes, start-up and shutdown callbacks,
optionally a push function (to send outside a request) and commands. All it
needs from the host is the `ChannelContext` it is handed.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias, runtime_checkable

from starlette.responses import Response
from starlette.routing import BaseRoute

from ._exceptions import RequestError
from ._isolation import IsolationKeys
from ._records import ResponseRecord, ResponseStatus, RunError
from ._types import Item, Message, ToolSpec, Usage

logger = logging.getLogger("hosting.core")

if TYPE_CHECKING:
    from ._context import ChannelContext


@dataclass(frozen=True, slots=True)
class ChannelIdentity:
    """Who is speaking on a channel, in that channel's terms (a Telegram user id, say)."""

    channel: str
    address: str
    display_name: str | None = None


@dataclass(slots=True)
class ChannelRequest:
    """A channel-neutral request to run the agent.

    A value, built once per request and never changed: a run hook that changes a request
    returns a copy (``dataclasses.replace(request, ...)``).

    Attributes:
        channel: the name of the channel the request came in on.
        input: the new input items.
        operation: what is asked; ``"respond"`` runs the agent.
        agent: which agent, by name (the Responses ``model``); None picks the only/first one.
        instructions: system-level instructions for this run.
        options: generation options (already filtered by the channel's allowlist).
        tools: client-declared function tools.
        previous_response_id: continue from this stored response (a branch of an immutable chain).
        conversation_id: continue this conversation (a mutable head).
        session_key: a channel's own session (a chat); bound to a conversation by the host.
        stream: the caller wants events as they happen.
        store: keep the response (False: never written to the store).
        background: run detached from the request; requires `store`.
        metadata: the caller's string key/values, kept with the response.
        idempotency_key / fingerprint: a retry with the same key and fingerprint attaches to the
            first run instead of starting another; another fingerprint is a conflict.
        identity: who is speaking, in the channel's terms.
        attributes: channel-specific, JSON-serializable details stored with the response.
        deliver_to: where the run's answer is pushed when it completes (see `DeliveryTarget`;
            ``"origin"`` is `identity`'s channel). None: nowhere. The `DeliveryReport` is kept
            with the response, in ``attributes["delivery"]``.
    """

    channel: str
    input: tuple[Item, ...]
    operation: str = "respond"
    agent: str | None = None
    instructions: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    tools: tuple[ToolSpec, ...] = ()
    previous_response_id: str | None = None
    conversation_id: str | None = None
    session_key: str | None = None
    stream: bool = False
    store: bool = True
    background: bool = False
    metadata: Mapping[str, str] = field(default_factory=dict)
    idempotency_key: str | None = None
    fingerprint: str | None = None
    identity: ChannelIdentity | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    deliver_to: DeliveryTarget = None


@dataclass(slots=True)
class HostedRunResult:
    """The outcome of a finished run."""

    record: ResponseRecord

    @property
    def response_id(self) -> str:
        return self.record.id

    @property
    def status(self) -> ResponseStatus:
        return self.record.status

    @property
    def output(self) -> tuple[Item, ...]:
        return self.record.output_items

    @property
    def usage(self) -> Usage | None:
        return self.record.usage

    @property
    def error(self) -> RunError | None:
        return self.record.error

    @property
    def conversation_id(self) -> str | None:
        return self.record.conversation_id

    @property
    def text(self) -> str:
        """The text of the assistant's output messages."""
        return "".join(
            item.text
            for item in self.record.output_items
            if isinstance(item, Message) and item.role == "assistant"
        )


# -- delivery (push) -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a channel's push function is asked to send: items to an address on that channel."""

    channel: str
    address: str
    items: tuple[Item, ...]
    isolation: IsolationKeys


PushFunction: TypeAlias = Callable[[Delivery], Awaitable[None]]

DeliveryTarget: TypeAlias = Literal["origin", "linked"] | Sequence[str] | None
"""``"origin"``: the channel the request came in on; a sequence: those channels by name;
``"linked"``: every channel the user has linked an address on; None: nowhere."""


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """Where a delivery went. A push that raised is in `failed`, never silently dropped."""

    pushed: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    failed: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


# -- commands --------------------------------------------------------------------------------------

CommandHandler: TypeAlias = Callable[["ChannelContext", ChannelRequest], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class Command:
    """A named action a chat channel exposes (``/reset``, say), with a handler run by the host."""

    name: str
    description: str
    handler: CommandHandler


# -- the contract ----------------------------------------------------------------------------------

Callback: TypeAlias = Callable[[], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class ChannelContribution:
    """What a channel adds to the host.

    Attributes:
        routes: Starlette routes, mounted at the host's root.
        on_startup / on_shutdown: callbacks (sync or async) run by the host's lifespan.
        on_drain: callbacks (sync or async) run when the host begins to stop (on SIGTERM or
            Ctrl-C, or at the start of its shutdown), before the engine refuses new runs: a
            channel that takes work on its own (a poller) stops taking it here. Runs still in
            flight then get the host's grace period; `on_shutdown` comes after them.
        push: sends a `Delivery` outside a request (chat channels).
        commands: named actions the channel exposes (``/reset``).
        error_prefix / render_error: errors the host raises before a route runs (authentication)
            on paths under `error_prefix` are rendered by `render_error`, in the channel's shape.
        public_paths: exact paths served without authentication: what a client must read before
            it has credentials (an agent card, a page's static files) or what authenticates
            itself (a webhook with its own secret). Their handlers see the anonymous user.
    """

    routes: Sequence[BaseRoute] = ()
    on_startup: Sequence[Callback] = ()
    on_shutdown: Sequence[Callback] = ()
    push: PushFunction | None = None
    commands: Sequence[Command] = ()
    error_prefix: str | None = None
    render_error: Callable[[RequestError], Response] | None = None
    on_drain: Sequence[Callback] = ()
    public_paths: Sequence[str] = ()


@runtime_checkable
class Channel(Protocol):
    """A wire protocol. `contribute` is called once, when the host is built."""

    name: str

    def contribute(self, context: ChannelContext) -> ChannelContribution: ...


async def run_callbacks(callbacks: Sequence[Callback], phase: str) -> None:
    """Run a phase's callbacks (sync or async) in order; each failure is logged, the first raised
    after the rest have run."""
    first: BaseException | None = None
    for callback in callbacks:
        try:
            result = callback()
            if inspect.isawaitable(result):
                await result
        except Exception as error:
            name = getattr(callback, "__qualname__", repr(callback))
            logger.exception("%s callback %s failed", phase, name)
            if first is None:
                first = error
    if first is not None:
        raise first
