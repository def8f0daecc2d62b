"""Errors in MCP's own shapes.

MCP has two, and the protocol says which is which:

1. A JSON-RPC error, for what is wrong with the request itself: an unknown tool (``-32602``), a
   refusal the host makes before the request reaches the MCP server (a missing API key: the
   HTTP status, with a JSON-RPC error body of ``id: null``, as the SDK answers an unknown session).
2. A tool result with ``isError: true``, for what the tool could not do with its arguments:
   arguments missing or of the wrong type, an unknown conversation, a run that failed. The model
   calling the tool sees the message and can correct itself.
"""

from __future__ import annotations

from starlette.responses import Response

from hosting.core import RequestError
from hosting.core.channels import encode_json
from mcp import types


def error_result(message: str, structured: dict[str, str] | None = None) -> types.CallToolResult:
    """A tool result that reports a failure to the caller (``isError: true``)."""
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=message)],
        structured_content=structured,
        is_error=True,
    )


def jsonrpc_error_response(error: RequestError) -> Response:
    """A refusal the host makes before a request reaches the MCP server, as a JSON-RPC error body."""
    code = types.INTERNAL_ERROR if error.status_code >= 500 else types.INVALID_REQUEST
    body = {"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": error.message}}
    headers = dict(error.headers)
    if error.status_code == 401:
        # What an MCP client looks for to know it must authenticate (RFC 6750).
        headers.setdefault("www-authenticate", "Bearer")
    return Response(
        encode_json(body), status_code=error.status_code, media_type="application/json", headers=headers
    )
