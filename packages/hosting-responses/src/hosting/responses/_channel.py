"""`ResponsesChannel`: the OpenAI Responses API, so the official SDK pointed at ``base_url`` works.

Routes, under the channel's prefix (``/v1`` by default):

    POST   /responses                      create (JSON, or SSE when the body says ``stream: true``)
    GET    /responses/{id}                 retrieve a stored response (``?stream=true``: its events, resumable)
    DELETE /responses/{id}                 delete it
    POST   /responses/{id}/cancel          cancel a background run
    GET    /responses/{id}/input_items     its input items, paginated
    GET    /models, /models/{id}           the hosted agents, as models
    ...    /conversations[/...]            the Conversations API (see `_conversations.py`)
    GET    /openapi.json                   this channel's OpenAPI 3.1 document (see `_openapi.py`)

Every route answers errors in OpenAI's envelope (also for a wrong method), and
reads and writes state only through the `ChannelContext` (the run engine and the
store scoped to the caller), never through state of its own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, cast

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from hosting.core import InvalidRequestError, Item, NotFoundError, RequestError
from hosting.core.channels import ChannelContext, ChannelContribution, Run, RunEvent, RunMode, request_body

from ._control import fingerprint, idempotency_key, stream_query
from ._conversations import ConversationRoutes
from ._encode import encode_events
from ._errors import error_response, invalid, json_response, method_not_allowed, server_error_response
from ._items import ItemReference, render_items, without_id
from ._json_body import load_json
from ._openapi import OpenAPIRoute
from ._render import StreamRenderer
from ._request import CreateRequest, page_limit, page_order, parse_create
from ._response_body import render_response
from ._sse import EventStreamResponse

logger = logging.getLogger("hosting.responses")

Handler = Callable[[Request], Awaitable[Response]]

_BATCH_BYTES = 64 * 1024


class ResponsesChannel:
    """The OpenAI Responses API as a channel.

    Args:
        prefix: where the routes live; the SDK's ``base_url`` is the host's URL plus this.
        keepalive_interval: seconds a stream may stay silent before a keep-alive comment.

    Request limits (body size, input items, text, JSON depth, metadata) are the host's
    (`hosting.core.Limits`): the body limit is enforced before any route runs, the others
    while parsing here.
    """

    name = "responses"

    def __init__(
        self,
        prefix: str = "/v1",
        *,
        keepalive_interval: float = 15.0,
    ) -> None:
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise ValueError(f"prefix must start with '/' and not end with one, got {prefix!r}")
        if keepalive_interval <= 0:
            raise ValueError("keepalive_interval must be positive")
        self.prefix = prefix
        self.keepalive_interval = keepalive_interval
        self._context: ChannelContext | None = None
        self._models_created = int(time.time())
        # Streams that follow a run of another process (sharing the store): this process's
        # stop does not end that run, so they are closed for the client to resume elsewhere.
        self._foreign_streams: weakref.WeakSet[EventStreamResponse] = weakref.WeakSet()
        self._draining = False

    @property
    def context(self) -> ChannelContext:
        if self._context is None:
            raise RuntimeError("the channel is not part of a host yet")
        return self._context

    # -- the channel contract ----------------------------------------------------------------------

    def contribute(self, context: ChannelContext) -> ChannelContribution:
        self._context = context
        return ChannelContribution(
            routes=self.routes(),
            error_prefix=self.prefix or "/",
            render_error=error_response,
            on_startup=[self._started],
            on_drain=[self._drain],
        )

    def _started(self) -> None:
        self._draining = False

    def _drain(self) -> None:
        """The host is stopping. A stream of a run of this process ends with that run (its
        terminal event, within the grace period); one that follows a run of another process is
        closed now, without a terminal event: the run goes on there, and the client resumes it
        (``starting_after``) from a server that stays."""
        self._draining = True
        for stream in list(self._foreign_streams):
            stream.stop()

    def routes(self) -> list[BaseRoute]:
        """Every route of the channel. Route groups (responses, models, conversations) join here."""
        prefix = self.prefix
        return [
            _route(f"{prefix}/responses", {"POST": self.create}),
            _route(f"{prefix}/responses/{{response_id}}", {"GET": self.retrieve, "DELETE": self.delete}),
            _route(f"{prefix}/responses/{{response_id}}/input_items", {"GET": self.list_input_items}),
            _route(f"{prefix}/responses/{{response_id}}/cancel", {"POST": self.cancel}),
            _route(f"{prefix}/models", {"GET": self.list_models}),
            _route(f"{prefix}/models/{{model}}", {"GET": self.retrieve_model}),
            *ConversationRoutes(self).routes(_route),
            *OpenAPIRoute(self).routes(_route),
        ]

    # -- POST /responses ---------------------------------------------------------------------------

    async def create(self, request: Request) -> Response:
        context = self.context
        limits = context.limits
        # The body was read, and bounded, before the route ran (`request_body`).
        body = load_json(await request_body(request), max_depth=limits.max_json_depth)
        parsed = parse_create(body, channel=self.name, limits=limits)
        key = idempotency_key(request.scope)
        channel_request = parsed.request
        if parsed.references or key is not None:  # the common request needs no copy
            channel_request = dataclasses.replace(
                channel_request,
                input=tuple(await self._resolve_input(parsed)),
                idempotency_key=key,
                fingerprint=fingerprint(body) if key is not None else None,
            )
        if channel_request.stream:
            run = await context.run_stream(channel_request)
            return self._stream(run)
        if channel_request.background:
            # Answer at once with the response as created (``queued``); the run goes on detached.
            run = await context.run_stream(channel_request)
            return json_response(render_response(run.created))
        result = await context.run(channel_request)
        if result.status == "failed":
            error = result.error
            message = error.message if error is not None else "The agent failed to produce a response."
            if error is not None and error.code == "invalid_request":
                # The agent (or its adapter) found the request unusable: the caller's fault, not ours.
                return error_response(InvalidRequestError(message))
            return server_error_response(message)
        return json_response(render_response(result.record))

    async def _resolve_input(self, parsed: CreateRequest) -> list[Item]:
        """Replace each ``item_reference`` by the item it names, from the chain or conversation."""
        if not parsed.references:
            return [entry for entry in parsed.input if not isinstance(entry, ItemReference)]
        context = self.context
        request = parsed.request
        history: dict[str, Item] = {}
        if request.previous_response_id is not None:
            context.check_id(request.previous_response_id, param="previous_response_id")
            items = await context.store.get_history(request.previous_response_id)
            if items is None:
                raise NotFoundError(
                    f"Previous response with id '{request.previous_response_id}' not found.",
                    param="previous_response_id",
                )
            history = {item.id: item for item in items if item.id is not None}
        elif request.conversation_id is not None:
            context.check_id(request.conversation_id, param="conversation", what="conversation")
        resolved: list[Item] = []
        for entry in parsed.input:
            if not isinstance(entry, ItemReference):
                resolved.append(entry)
                continue
            found: Item | None = None
            if request.previous_response_id is not None:
                found = history.get(entry.id)
            elif request.conversation_id is not None:
                found = await context.store.get_conversation_item(request.conversation_id, entry.id)
            if found is None:
                # Without an anchor (clients that replay a stored answer by reference alone), or
                # outside it: any item the caller has stored. Another user's is not found.
                found = await context.store.find_item(entry.id)
            if found is None:
                raise NotFoundError(f"Item with id '{entry.id[:128]}' not found.", param=f"{entry.param}.id")
            resolved.append(without_id(found))
        return resolved

    def _stream(self, run: Run, *, after: int = -1) -> Response:
        response = EventStreamResponse(
            self._render_run(run, after=after), keepalive_interval=self.keepalive_interval
        )
        if run.mode is RunMode.ELSEWHERE and not run.done:
            self._foreign_streams.add(response)
            if self._draining:
                response.stop()
        return response

    async def _render_run(self, run: Run, *, after: int) -> AsyncIterator[bytes]:
        """The run's wire events, from the start (numbers <= `after` skipped), as SSE chunks.

        Events the run has already produced are rendered into one chunk before it is handed
        on (up to `_BATCH_BYTES`), so a fast agent or a replay costs one write per burst. The
        opening events of a live run go out on their own, at once: the client's first event
        never waits for the agent.
        """
        renderer = StreamRenderer(run.created)
        opening = encode_events(renderer.start(), after=after)
        pending: list[bytes] = []
        size = 0
        if opening and not run.done:
            yield opening
        else:
            pending.append(opening)
            size = len(opening)
        consumed = 0
        follower = cast(AsyncGenerator[RunEvent, None], run.follow())
        async with contextlib.aclosing(follower) as events:
            async for event in events:
                consumed += 1
                chunk = encode_events(renderer.feed(event), after=after)
                pending.append(chunk)
                size += len(chunk)
                if consumed < len(run.events) and size < _BATCH_BYTES:
                    continue  # more is ready: the follower yields it without waiting
                if size:
                    yield b"".join(pending)
                pending.clear()
                size = 0
        if size:
            yield b"".join(pending)

    # -- GET / DELETE /responses/{id} --------------------------------------------------------------

    async def retrieve(self, request: Request) -> Response:
        stream, after = stream_query(request.query_params)
        run = await self._attach(request.path_params["response_id"])
        if stream:
            # Re-rendered from the start (pure and deterministic), so numbers <= `after` are skipped exactly.
            return self._stream(run, after=after)
        if run.done or run.record.finished:
            return json_response(render_response(run.record))
        # A live run: its status and finished items so far, from its event log.
        renderer = StreamRenderer(run.created)
        for event in list(run.events):
            renderer.feed(event)
        return json_response(renderer.snapshot())

    async def cancel(self, request: Request) -> Response:
        response_id = request.path_params["response_id"]
        run = await self._attach(response_id)
        if not run.created.background:
            raise invalid(
                "Only responses created with background=true can be cancelled.", None, code="not_cancellable"
            )
        return json_response(render_response(await self.context.cancel(response_id)))

    async def _attach(self, response_id: str) -> Run:
        context = self.context
        context.check_id(response_id)
        run = await context.attach(response_id)
        if not run.stored:
            # An unstored response is live only for the request that made it; nobody else may see it.
            raise NotFoundError(f"Response with id '{response_id}' not found.")
        return run

    async def delete(self, request: Request) -> Response:
        response_id = request.path_params["response_id"]
        context = self.context
        context.check_id(response_id)
        if not await context.store.delete_response(response_id):
            raise NotFoundError(f"Response with id '{response_id}' not found.")
        return json_response({"id": response_id, "object": "response", "deleted": True})

    # -- GET /responses/{id}/input_items -----------------------------------------------------------

    async def list_input_items(self, request: Request) -> Response:
        response_id = request.path_params["response_id"]
        query = request.query_params
        limit = page_limit(query.get("limit"))
        order = page_order(query.get("order"))
        context = self.context
        context.check_id(response_id)
        record = await context.store.get_response(response_id)
        if record is None:
            raise NotFoundError(f"Response with id '{response_id}' not found.")
        items = list(record.input_items if order == "asc" else reversed(record.input_items))
        start = 0
        after = query.get("after")
        if after:
            positions = [index for index, item in enumerate(items) if item.id == after]
            start = positions[0] + 1 if positions else len(items)
        page = items[start : start + limit]
        return json_response(
            {
                "object": "list",
                "data": render_items(page),
                "first_id": page[0].id if page else None,
                "last_id": page[-1].id if page else None,
                "has_more": start + limit < len(items),
            }
        )

    # -- GET /models -------------------------------------------------------------------------------

    def _model(self, name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "created": self._models_created, "owned_by": "hosting"}

    async def list_models(self, request: Request) -> Response:
        return json_response({"object": "list", "data": [self._model(name) for name in self.context.agents]})

    async def retrieve_model(self, request: Request) -> Response:
        name = request.path_params["model"]
        if name not in self.context.agents:
            raise NotFoundError(
                f"The model '{name[:128]}' does not exist.", param="model", code="model_not_found"
            )
        return json_response(self._model(name))


def _route(path: str, handlers: dict[str, Handler]) -> Route:
    """One path, its handlers by method; any other method is a 405 in OpenAI's envelope."""
    return Route(path, _Endpoint(path, handlers))


class _Endpoint:
    """The ASGI app of one path: picks the method's handler, renders its errors in OpenAI's envelope.

    Given to `Route` as an ASGI app, not a function, so every method reaches it (TRACE and
    made-up ones too) and a wrong one gets a 405 in the envelope, not Starlette's text. It
    calls the handler itself rather than through Starlette's ``request_response``: the
    handler renders every error, so that wrapper's exception-handler lookup would only add a
    cost to every request.
    """

    def __init__(self, path: str, handlers: dict[str, Handler]) -> None:
        self.path = path
        self.handlers = handlers
        self.allowed = tuple(handlers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        handler = self.handlers.get(method)
        if handler is None:
            response = method_not_allowed(method, self.allowed)
        else:
            try:
                response = await handler(Request(scope, receive, send))
            except RequestError as error:
                response = error_response(error)
            except Exception:
                logger.exception("%s %s failed", method, self.path)
                response = server_error_response("The server had an error while processing your request.")
        await response(scope, receive, send)
