"""Errors raised by hosting.core.

HostingError
├── ConfigurationError             the host, a channel or a store was set up wrongly (raised at start)
└── RequestError                   a request cannot be served; carries an HTTP status and a code
    ├── InvalidRequestError        400: the request is well-formed but not acceptable
    │   └── RejectedError          400 (or the hook's status): a run hook refused the request
    ├── AuthenticationError        401: no or bad credentials
    ├── NotFoundError              404: unknown id, or one that belongs to another user
    ├── ConflictError              409: an idempotency key reused with another body, say
    ├── LimitExceededError         413 / 429: a configured limit was exceeded
    ├── ServerError                500: the server failed (the cause goes to the log, not the caller)
    └── ServiceUnavailableError    503: the server cannot take the request now (shutting down)

Channels render a `RequestError` in their own error shape, from its `status_code`,
`code`, `message`, `param` and `headers`.
"""

from __future__ import annotations


class HostingError(Exception):
    """Base class of every error hosting.core raises on purpose."""


class ConfigurationError(HostingError):
    """The host, a channel or a store was configured wrongly."""


class RequestError(HostingError):
    """A request cannot be served. Channels render it in their own error shape.

    Args:
        message: shown to the caller as it is.
        param: the request parameter at fault, if one is.
        status_code: the HTTP status, when not the class's own.
        code: a short machine-readable code, when not the class's own.
        headers: HTTP headers for the answer (``Retry-After``, say).
    """

    status_code: int = 400
    code: str | None = "invalid_request"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        status_code: int | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if status_code is not None:
            self.status_code = status_code
        if code is not None:
            self.code = code
        self.headers = dict(headers or {})


class InvalidRequestError(RequestError):
    """400: the request is not acceptable."""


class RejectedError(InvalidRequestError):
    """A run hook refused the request (400 unless the hook gives another status)."""

    code = "rejected"


class AuthenticationError(RequestError):
    """401: no credentials, or credentials the authenticator does not accept."""

    status_code = 401
    code = "invalid_api_key"


class NotFoundError(RequestError):
    """404: an unknown id, or one that belongs to another user (never a 403)."""

    status_code = 404
    code = "not_found"


class ConflictError(RequestError):
    """409: the request conflicts with what is stored."""

    status_code = 409
    code = "conflict"


class LimitExceededError(RequestError):
    """413 (a body or input too large) or 429 (too many runs): a configured limit was exceeded."""

    status_code = 413
    code = "limit_exceeded"


class ServerError(RequestError):
    """500: the server failed to serve a valid request."""

    status_code = 500
    code = "server_error"


class ServiceUnavailableError(RequestError):
    """503: the server cannot take the request now."""

    status_code = 503
    code = "unavailable"
