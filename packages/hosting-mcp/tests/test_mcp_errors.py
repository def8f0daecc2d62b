"""Refusals the host makes before the MCP server sees a request, as JSON-RPC error bodies."""

from __future__ import annotations

import orjson
import pytest

from hosting.core import (
    AuthenticationError,
    LimitExceededError,
    RequestError,
    ServerError,
    ServiceUnavailableError,
)
from hosting.mcp._errors import error_result, jsonrpc_error_response


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (AuthenticationError("No key."), 401, -32600),
        (LimitExceededError("Too large."), 413, -32600),
        (RequestError("Too slow.", status_code=408), 408, -32600),
        (ServerError("Broken."), 500, -32603),
        (ServiceUnavailableError("Later."), 503, -32603),
    ],
)
def test_refusals_are_jsonrpc_errors_with_their_http_status(
    error: RequestError, status: int, code: int
) -> None:
    response = jsonrpc_error_response(error)
    assert response.status_code == status
    assert response.media_type == "application/json"
    assert orjson.loads(response.body) == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": code, "message": error.message},
    }


def test_a_401_asks_for_a_bearer_token() -> None:
    assert jsonrpc_error_response(AuthenticationError("No key.")).headers["www-authenticate"] == "Bearer"
    assert "www-authenticate" not in jsonrpc_error_response(ServerError("Broken.")).headers


def test_the_errors_own_headers_are_kept() -> None:
    error = LimitExceededError("Slow down.", status_code=429, headers={"Retry-After": "3"})
    assert jsonrpc_error_response(error).headers["retry-after"] == "3"


def test_an_error_result_is_a_tool_result_marked_as_an_error() -> None:
    result = error_result("It failed.", {"response_id": "resp_1", "conversation": "conv_1"})
    assert result.is_error
    assert result.model_dump(by_alias=True, exclude_none=True, mode="json")["content"] == [
        {"type": "text", "text": "It failed."}
    ]
    assert result.structured_content == {"response_id": "resp_1", "conversation": "conv_1"}
