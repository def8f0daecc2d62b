"""Errors in OpenAI's envelope: ``{"error": {"message", "type", "param", "code"}}``.

Every error this channel answers goes through `error_response`, so the official
SDK raises its typed exception (``BadRequestError``, ``NotFoundError``, ...) for
each. Errors carry ``x-should-retry: false`` unless retrying can help (429, 503):
the SDK would otherwise retry a 409 or a 500 that will fail the same way again.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from hosting.core import InvalidRequestError, RequestError
from hosting.core.channels import encode_json

_RETRYABLE = frozenset({429, 503})

# OpenAI's error ``type`` for each status; any other status is an ``invalid_request_error``.
_TYPES = {401: "authentication_error", 403: "permission_error"}

_CONTENT_TYPE = (b"content-type", b"application/json")


class JSONBytesResponse(Response):
    """A response of JSON already encoded, with its headers built directly (this is the hot path)."""

    media_type = "application/json"

    def __init__(self, content: bytes, status_code: int = 200, headers: dict[str, str] | None = None) -> None:
        self.body = content
        self.status_code = status_code
        self.background = None
        raw = [_CONTENT_TYPE, (b"content-length", b"%d" % len(content))]
        if headers:
            raw += [
                (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
            ]
        self.raw_headers = raw


def error_type(status_code: int) -> str:
    """OpenAI's error ``type`` for an HTTP status."""
    if status_code >= 500:
        return "server_error"
    return _TYPES.get(status_code, "invalid_request_error")


def envelope(message: str, *, error_type: str, param: str | None, code: str | None) -> dict[str, Any]:
    """The OpenAI error body."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def json_response(body: Any, *, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A compact JSON response (no pydantic, no indentation: this is the hot path)."""
    return JSONBytesResponse(encode_json(body), status_code, headers)  # by position, as it is hot


def error_response(error: RequestError) -> Response:
    """Render a core `RequestError` (raised by the channel, the engine or the host) as OpenAI does."""
    headers = dict(error.headers)
    if error.status_code not in _RETRYABLE:
        headers.setdefault("x-should-retry", "false")
    body = envelope(
        error.message, error_type=error_type(error.status_code), param=error.param, code=error.code
    )
    return json_response(body, status_code=error.status_code, headers=headers)


def server_error_response(message: str, *, code: str = "server_error") -> Response:
    """A 500 that the SDK must not retry: the run failed and is recorded as failed."""
    body = envelope(message, error_type="server_error", param=None, code=code)
    return json_response(body, status_code=500, headers={"x-should-retry": "false"})


def invalid(message: str, param: str | None = None, *, code: str = "invalid_request") -> InvalidRequestError:
    """A 400 about one parameter of the request."""
    return InvalidRequestError(message, param=param, code=code)


def method_not_allowed(method: str, allowed: tuple[str, ...]) -> Response:
    error = RequestError(
        f"Method {method} is not allowed here; use {', '.join(allowed)}.",
        status_code=405,
        code="method_not_allowed",
        headers={"allow": ", ".join(allowed)},
    )
    return error_response(error)
