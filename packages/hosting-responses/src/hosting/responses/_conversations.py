"""The Conversations API, so the SDK's ``client.conversations.*`` works against the host.

Routes, under the channel's prefix:

    GET    /conversations                           the caller's conversations, newest first (an extension)
    POST   /conversations                           create (optional items and metadata)
    GET    /conversations/{id}                      retrieve
    POST   /conversations/{id}                      update its metadata
    DELETE /conversations/{id}                      delete it (its items and session state go too)
    GET    /conversations/{id}/items                list items, paginated (after, limit, order)
    POST   /conversations/{id}/items                append items
    GET    /conversations/{id}/items/{item_id}      retrieve one item
    DELETE /conversations/{id}/items/{item_id}      delete one item; answers the conversation

A conversation is used by passing ``conversation`` (an id or ``{"id": ...}``) to
``responses.create``: the engine reads its items as history and appends each
completed turn. Everything here goes through the store scoped to the caller, so
another user's conversation is a 404, like an unknown one. A request is checked
whole before anything is written: a bad one changes nothing.

Listing is an extension: OpenAI's Conversations API has no list route. It pages
like the other lists (``after``, ``limit``, ``order``) and gives each
conversation a ``title``: its ``metadata["title"]`` when the caller set one
(renaming is a metadata update), else the start of its first user message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from hosting.core import FunctionCall, FunctionResult, Item, Message, NotFoundError, Reasoning, ToolStep
from hosting.core.channels import request_body, with_id
from hosting.core.stores import ConversationRecord

from ._errors import invalid, json_response
from ._items import ItemReference, parse_input_item, render_item
from ._json_body import load_json
from ._options import _metadata
from ._request import page_limit, page_order

if TYPE_CHECKING:
    from ._channel import ResponsesChannel

Handler = Callable[[Request], Awaitable[Response]]
RouteFactory = Callable[[str, dict[str, Handler]], BaseRoute]

MAX_ITEMS_PER_REQUEST = 20
"""Items one create or append may carry (the API's documented limit)."""

TITLE_CHARS = 80
"""A listed conversation's title, when taken from its first user message, is cut to this length."""

_TITLE_SCAN = 10
"""Leading items searched for the first user message (instructions or tool output may come first)."""

_ID_KINDS: dict[type, str] = {
    Message: "message",
    FunctionCall: "function_call",
    FunctionResult: "function_result",
    Reasoning: "reasoning",
    ToolStep: "tool_step",
}


def render_conversation(record: ConversationRecord) -> dict[str, Any]:
    """A conversation as the SDK's ``Conversation`` type has it."""
    return {
        "id": record.id,
        "object": "conversation",
        "created_at": int(record.created_at),
        "metadata": dict(record.metadata),
    }


def _item_list(items: list[Item] | tuple[Item, ...], *, has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [render_item(item) for item in items],
        "first_id": items[0].id if items else None,
        "last_id": items[-1].id if items else None,
        "has_more": has_more,
    }


class ConversationRoutes:
    """The handlers of the Conversations API, acting through the channel's context."""

    def __init__(self, channel: ResponsesChannel) -> None:
        self.channel = channel

    def routes(self, route: RouteFactory) -> list[BaseRoute]:
        base = f"{self.channel.prefix}/conversations"
        return [
            route(base, {"GET": self.list_conversations, "POST": self.create}),
            route(
                f"{base}/{{conversation_id}}",
                {"GET": self.retrieve, "POST": self.update, "DELETE": self.delete},
            ),
            route(f"{base}/{{conversation_id}}/items", {"GET": self.list_items, "POST": self.append_items}),
            route(
                f"{base}/{{conversation_id}}/items/{{item_id}}",
                {"GET": self.retrieve_item, "DELETE": self.delete_item},
            ),
        ]

    # -- parsing -----------------------------------------------------------------------------------

    async def _body(self, request: Request) -> Mapping[str, Any]:
        body = load_json(await request_body(request), max_depth=self.channel.context.limits.max_json_depth)
        if not isinstance(body, dict):
            raise invalid("The request body must be a JSON object.", None, code="invalid_body")
        return body

    def _items(self, value: Any, *, required: bool, conversation_id: str) -> list[Item]:
        """Parse wire items and give each a fresh id (ids a client sends are not kept)."""
        if value is None and not required:
            return []
        if not isinstance(value, list):
            if value is None:
                raise invalid(
                    "Missing required parameter: 'items'.", "items", code="missing_required_parameter"
                )
            raise invalid(
                "Invalid type for 'items': expected an array of items.", "items", code="invalid_type"
            )
        if required and not value:
            raise invalid("'items' must hold at least one item.", "items", code="empty_array")
        if len(value) > MAX_ITEMS_PER_REQUEST:
            raise invalid(
                f"'items' may hold at most {MAX_ITEMS_PER_REQUEST} items at a time.",
                "items",
                code="array_above_max_length",
            )
        context = self.channel.context
        items: list[Item] = []
        for index, entry in enumerate(value):
            parsed = parse_input_item(entry, f"items[{index}]", limits=context.limits)
            if isinstance(parsed, ItemReference):
                raise invalid(
                    "An item_reference cannot be added to a conversation; send the item itself.",
                    f"items[{index}].type",
                    code="invalid_value",
                )
            kind = _ID_KINDS[type(parsed)]
            items.append(with_id(parsed, context.new_id(kind, hint=conversation_id)))
        return items

    def _conversation_id(self, request: Request) -> str:
        conversation_id: str = request.path_params["conversation_id"]
        self.channel.context.check_id(conversation_id, param="conversation_id", what="conversation")
        return conversation_id

    async def _existing(self, conversation_id: str) -> ConversationRecord:
        record = await self.channel.context.store.get_conversation(conversation_id)
        if record is None:
            raise _not_found(conversation_id)
        return record

    # -- conversations -----------------------------------------------------------------------------

    async def create(self, request: Request) -> Response:
        body = await self._body(request)
        context = self.channel.context
        metadata = _metadata(body, context.limits) or {}
        conversation_id = context.new_id("conversation")
        items = self._items(body.get("items"), required=False, conversation_id=conversation_id)
        record = await context.store.create_conversation(conversation_id, metadata=metadata, items=items)
        return json_response(render_conversation(record))

    async def list_conversations(self, request: Request) -> Response:
        query = request.query_params
        limit = page_limit(query.get("limit"))
        order = page_order(query.get("order"))
        after = query.get("after") or None
        page = await self.channel.context.store.list_conversations(after=after, limit=limit, order=order)
        data = [
            {**render_conversation(record), "title": await self._title(record)} for record in page.records
        ]
        return json_response(
            {
                "object": "list",
                "data": data,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "has_more": page.has_more,
            }
        )

    async def _title(self, record: ConversationRecord) -> str | None:
        """The title the caller gave, else the start of the first user message; None for neither."""
        given = record.metadata.get("title", "").strip()
        if given:
            return given
        page = await self.channel.context.store.list_conversation_items(record.id, limit=_TITLE_SCAN)
        for item in page.items if page is not None else ():
            if isinstance(item, Message) and item.role == "user":
                text = " ".join(item.text.split())
                if text:
                    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "…"
        return None

    async def retrieve(self, request: Request) -> Response:
        record = await self._existing(self._conversation_id(request))
        return json_response(render_conversation(record))

    async def update(self, request: Request) -> Response:
        conversation_id = self._conversation_id(request)
        body = await self._body(request)
        if "metadata" not in body:
            raise invalid(
                "Missing required parameter: 'metadata'.", "metadata", code="missing_required_parameter"
            )
        metadata = _metadata(body, self.channel.context.limits) or {}
        record = await self.channel.context.store.update_conversation(conversation_id, metadata)
        if record is None:
            raise _not_found(conversation_id)
        return json_response(render_conversation(record))

    async def delete(self, request: Request) -> Response:
        conversation_id = self._conversation_id(request)
        if not await self.channel.context.store.delete_conversation(conversation_id):
            raise _not_found(conversation_id)
        return json_response({"id": conversation_id, "object": "conversation.deleted", "deleted": True})

    # -- items -------------------------------------------------------------------------------------

    async def list_items(self, request: Request) -> Response:
        conversation_id = self._conversation_id(request)
        query = request.query_params
        limit = page_limit(query.get("limit"))
        order = page_order(query.get("order"))
        after = query.get("after") or None
        page = await self.channel.context.store.list_conversation_items(
            conversation_id, after=after, limit=limit, order=order
        )
        if page is None:
            raise _not_found(conversation_id)
        return json_response(_item_list(page.items, has_more=page.has_more))

    async def append_items(self, request: Request) -> Response:
        conversation_id = self._conversation_id(request)
        body = await self._body(request)
        items = self._items(body.get("items"), required=True, conversation_id=conversation_id)
        if not await self.channel.context.store.append_conversation_items(conversation_id, items):
            raise _not_found(conversation_id)
        return json_response(_item_list(items, has_more=False))

    def _item_id(self, request: Request) -> str:
        item_id: str = request.path_params["item_id"]
        self.channel.context.check_id(item_id, param="item_id", what="item")
        return item_id

    async def retrieve_item(self, request: Request) -> Response:
        conversation_id = self._conversation_id(request)
        item_id = self._item_id(request)
        store = self.channel.context.store
        item = await store.get_conversation_item(conversation_id, item_id)
        if item is None:
            await self._existing(conversation_id)  # which of the two is missing decides the message
            raise _item_not_found(item_id)
        return json_response(render_item(item))

    async def delete_item(self, request: Request) -> Response:
        conversation_id = self._conversation_id(request)
        item_id = self._item_id(request)
        store = self.channel.context.store
        if not await store.delete_conversation_item(conversation_id, item_id):
            await self._existing(conversation_id)
            raise _item_not_found(item_id)
        return json_response(render_conversation(await self._existing(conversation_id)))


def _not_found(conversation_id: str) -> NotFoundError:
    return NotFoundError(
        f"Conversation with id '{conversation_id[:128]}' not found.", param="conversation_id"
    )


def _item_not_found(item_id: str) -> NotFoundError:
    return NotFoundError(f"Item with id '{item_id[:128]}' not found.", param="item_id")
