"""``GET {prefix}/ui-api/conversations/{id}/responses``: which responses made a conversation.

The Responses API has no route that lists the responses of a conversation, and the
page needs it: to link each turn to its run in the inspector, to show turns that
failed or were cancelled (a conversation keeps completed turns only), and to follow a
run still going when the page is opened again. This route answers, for the caller's
conversation, each response's id, status, timing and the ids of its input and output
items, oldest first, paged like the API's lists. Everything else the page reads from
the public API itself.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hosting.core import InvalidRequestError, NotFoundError
from hosting.core.channels import ChannelContext
from hosting.core.stores import ResponseRecord

DEFAULT_LIMIT = 100


def summarize(record: ResponseRecord) -> dict[str, Any]:
    """What the page needs of one response to place it in the conversation."""
    error = record.error
    return {
        "id": record.id,
        "status": record.status,
        "created_at": record.created_at,
        "completed_at": record.completed_at,
        "background": record.background,
        "model": record.agent,
        "error": {"code": error.code, "message": error.message} if error is not None else None,
        "incomplete_reason": record.incomplete_reason,
        "input_item_ids": [item.id for item in record.input_items if item.id is not None],
        "output_item_ids": [item.id for item in record.output_items if item.id is not None],
    }


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequestError("'limit' must be an integer.", param="limit", code="invalid_type") from None
    if not 1 <= value <= 100:
        raise InvalidRequestError("'limit' must be between 1 and 100.", param="limit", code="invalid_value")
    return value


async def conversation_responses(context: ChannelContext, request: Request) -> Response:
    """The caller's responses in one of their conversations, oldest first."""
    conversation_id: str = request.path_params["conversation_id"]
    limit = _limit(request.query_params.get("limit"))
    after = request.query_params.get("after") or None
    context.check_id(conversation_id, param="conversation_id", what="conversation")
    store = context.store
    if await store.get_conversation(conversation_id) is None:
        raise NotFoundError(
            f"Conversation with id '{conversation_id[:128]}' not found.", param="conversation_id"
        )
    page = await store.list_responses(conversation_id=conversation_id, after=after, limit=limit, order="asc")
    data = [summarize(record) for record in page.records]
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": page.has_more,
        }
    )
