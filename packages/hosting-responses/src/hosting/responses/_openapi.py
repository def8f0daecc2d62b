"""The OpenAPI 3.1 document of the channel, served at ``{prefix}/openapi.json``.

It is built from the same facts the channel acts on: the host's `Limits` (so a
host configured with ``max_input_items=5`` documents ``maxItems: 5``), the ranges
and closed sets `_request.py` checks, and the shapes `_render.py` and
`_items.py` produce. Tests keep it true: every route is in it and nothing else,
real answers validate against it, and a fuzzer generates requests from it.

Paths are relative to the server URL, which is the channel's prefix (under the
host's mount point), so the document's server is what the SDK's ``base_url`` is.
The document is served to authenticated callers only, like every other route of
the channel: it describes this host's limits and agents' names.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from hosting.core import Limits

from ._openapi_requests import Schema, choice, const, ref, request_schemas
from ._openapi_responses import response_schemas

if TYPE_CHECKING:
    from ._channel import ResponsesChannel

Handler = Callable[[Request], Awaitable[Response]]
RouteFactory = Callable[[str, dict[str, Handler]], BaseRoute]

# -- operations ------------------------------------------------------------------------------------

_ERRORS: dict[int, str] = {
    400: "The request is not acceptable; `param` names the field.",
    401: "No API key, or an unknown one.",
    404: "No such object for this caller (another user's objects are not found either).",
    408: "The request body was not received within the host's body timeout.",
    409: "The Idempotency-Key was used before with another body.",
    413: "The request body is larger than the host's limit.",
    429: "Too many runs of this user in progress; retry after `Retry-After` seconds.",
    500: "The agent or the server failed; the message is generic, never internal detail.",
    503: "The server is shutting down.",
}


def _json(schema: Schema) -> dict[str, Schema]:
    return {"application/json": {"schema": schema}}


def _operation(
    operation_id: str,
    summary: str,
    ok: Schema,
    *errors: int,
    parameters: Sequence[Schema] = (),
    body: str | None = None,
    ok_content: dict[str, Schema] | None = None,
) -> Schema:
    # Every route may answer 401 (authentication runs first) and 500 (a failure it did not expect).
    statuses = sorted({401, 500, *errors, *((400, 408, 413) if body is not None else ())})
    responses: dict[str, Schema] = {
        "200": {
            "description": "OK",
            "headers": {"x-request-id": {"$ref": "#/components/headers/RequestId"}},
            "content": ok_content or _json(ok),
        }
    }
    for status in statuses:
        responses[str(status)] = {"$ref": f"#/components/responses/Error{status}"}
    operation: Schema = {"operationId": operation_id, "summary": summary, "responses": responses}
    if parameters:
        operation["parameters"] = list(parameters)
    if body is not None:
        operation["requestBody"] = {"required": True, "content": _json(ref(body))}
    return operation


def _path(name: str, description: str) -> Schema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


_PAGING = [
    _query("after", {"type": "string"}, "List items after this item id."),
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 100}, "Items per page (default 20)."),
    _query("order", choice("asc", "desc"), "Order of the items (default desc)."),
]


def _paths() -> dict[str, Schema]:
    response_id = _path("response_id", "A response id.")
    conversation_id = _path("conversation_id", "A conversation id.")
    item_id = _path("item_id", "An item id.")
    sse = {"text/event-stream": {"schema": ref("ServerSentEvent")}}
    response_or_stream = {**_json(ref("Response")), **sse}
    return {
        "/responses": {
            "post": _operation(
                "createResponse",
                "Run the agent: JSON, or an event stream when the body says `stream: true`.",
                ref("Response"),
                404,
                409,
                429,
                503,
                body="CreateResponse",
                ok_content=response_or_stream,
                parameters=[
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": "A retry with the same key and body returns the first run.",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
                    }
                ],
            )
        },
        "/responses/{response_id}": {
            "get": _operation(
                "getResponse",
                "A stored response; with `stream=true` its event stream, replayed then followed live.",
                ref("Response"),
                400,
                404,
                parameters=[
                    response_id,
                    _query("stream", {"type": "boolean"}, "Answer with the response's event stream."),
                    _query(
                        "starting_after",
                        {"type": "integer", "minimum": 0},
                        "With `stream=true`: only events numbered after this one.",
                    ),
                ],
                ok_content=response_or_stream,
            ),
            "delete": _operation(
                "deleteResponse",
                "Delete a stored response.",
                ref("DeletedResponse"),
                404,
                parameters=[response_id],
            ),
        },
        "/responses/{response_id}/cancel": {
            "post": _operation(
                "cancelResponse",
                "Cancel a background response (a finished one is returned unchanged).",
                ref("Response"),
                400,
                404,
                408,
                413,
                parameters=[response_id],
            )
        },
        "/responses/{response_id}/input_items": {
            "get": _operation(
                "listInputItems",
                "The input items of a response.",
                ref("ItemList"),
                400,
                404,
                parameters=[response_id, *_PAGING],
            )
        },
        "/models": {"get": _operation("listModels", "The hosted agents, as models.", ref("ModelList"))},
        "/models/{model}": {
            "get": _operation(
                "retrieveModel",
                "One hosted agent.",
                ref("Model"),
                404,
                parameters=[_path("model", "A model id.")],
            )
        },
        "/conversations": {
            "get": _operation(
                "listConversations",
                "The caller's conversations, newest first, each with a title (an extension of the API).",
                ref("ConversationList"),
                400,
                parameters=_PAGING,
            ),
            "post": _operation(
                "createConversation", "Create a conversation.", ref("Conversation"), body="CreateConversation"
            ),
        },
        "/conversations/{conversation_id}": {
            "get": _operation(
                "getConversation", "A conversation.", ref("Conversation"), 404, parameters=[conversation_id]
            ),
            "post": _operation(
                "updateConversation",
                "Replace a conversation's metadata.",
                ref("Conversation"),
                404,
                parameters=[conversation_id],
                body="UpdateConversation",
            ),
            "delete": _operation(
                "deleteConversation",
                "Delete a conversation with its items.",
                ref("DeletedConversation"),
                404,
                parameters=[conversation_id],
            ),
        },
        "/conversations/{conversation_id}/items": {
            "get": _operation(
                "listConversationItems",
                "A conversation's items.",
                ref("ItemList"),
                400,
                404,
                parameters=[conversation_id, *_PAGING],
            ),
            "post": _operation(
                "createConversationItems",
                "Append items to a conversation.",
                ref("ItemList"),
                404,
                parameters=[conversation_id],
                body="CreateConversationItems",
            ),
        },
        "/conversations/{conversation_id}/items/{item_id}": {
            "get": _operation(
                "getConversationItem", "One item.", ref("Item"), 404, parameters=[conversation_id, item_id]
            ),
            "delete": _operation(
                "deleteConversationItem",
                "Delete one item; answers the conversation.",
                ref("Conversation"),
                404,
                parameters=[conversation_id, item_id],
            ),
        },
        "/openapi.json": {
            "get": _operation("getOpenAPIDocument", "This document.", {"type": "object"}),
        },
    }


def _error_responses() -> dict[str, Schema]:
    responses: dict[str, Schema] = {}
    for status, description in _ERRORS.items():
        headers: dict[str, Schema] = {
            "x-request-id": {"$ref": "#/components/headers/RequestId"},
            "x-should-retry": {
                "description": "`false` unless retrying can help (429, 503).",
                "schema": const("false"),
            },
        }
        if status == 429:
            headers["Retry-After"] = {
                "required": True,
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer", "minimum": 0},
            }
        responses[f"Error{status}"] = {
            "description": description,
            "headers": headers,
            "content": _json(ref("Error")),
        }
    return responses


def openapi_document(*, server_url: str, limits: Limits, version: str) -> dict[str, Any]:
    """The channel's OpenAPI 3.1 document.

    Args:
        server_url: where the channel's routes live (the host's mount point plus the prefix).
        limits: the host's request limits, which bound the request schemas.
        version: the version of ``hosting-responses``.
    """
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "OpenAI Responses API (hosting)",
            "version": version,
            "description": "The OpenAI Responses and Conversations APIs, served by a hosting channel. "
            "Every error is OpenAI's envelope: {error: {message, type, param, code}}.",
        },
        "servers": [{"url": server_url or "/"}],
        "security": [{"bearerAuth": []}, {"apiKeyHeader": []}],
        "paths": _paths(),
        "components": {
            "schemas": {**request_schemas(limits), **response_schemas()},
            "responses": _error_responses(),
            "headers": {
                "RequestId": {
                    "required": True,
                    "description": "The request's id (also on every log record of it).",
                    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"},
                }
            },
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The openai SDK's api_key.",
                },
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "api-key"},
            },
        },
    }


def _package_version() -> str:
    try:
        return version("hosting-responses")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
        return "0.0.0"


class OpenAPIRoute:
    """``GET {prefix}/openapi.json``: the document for this host's limits, built once per mount point."""

    def __init__(self, channel: ResponsesChannel) -> None:
        self.channel = channel
        self._documents: dict[str, bytes] = {}

    def routes(self, route: RouteFactory) -> list[BaseRoute]:
        return [route(f"{self.channel.prefix}/openapi.json", {"GET": self.document})]

    async def document(self, request: Request) -> Response:
        server_url = request.scope.get("root_path", "") + self.channel.prefix
        body = self._documents.get(server_url)
        if body is None:
            document = openapi_document(
                server_url=server_url, limits=self.channel.context.limits, version=_package_version()
            )
            body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
            # Bounded: one entry per mount point the host is reached under.
            if len(self._documents) < 16:
                self._documents[server_url] = body
        return Response(body, media_type="application/json")
