"""Errors raised by hosting.core.

HostingError
├── ConfigurationError         the host or a channel was set up wrongly (raised at start)
└── RequestError               a caller's request cannot be served; carries an HTTP status and code
    ├── AuthenticationError    401: no or bad credentials
    ├── NotFoundError          404: unknown id, or one that belongs to another user
    ├── ConflictError          409: e.g. an idempotency key reused with another body
    ├── RejectedError          400 (or the hook's status): a run hook refused the request
    ├── InvalidRequestError    400: the request is well-formed but not acceptable
    └── LimitExceededError     413 / 429: a configured limit was exceeded
AgentError                     the agent failed; shown to callers only as a generic message
"""

from __future__ import annotations


class HostingError(Exception):
    """Base class of every error hosting.core raises on purpose."""


class ConfigurationError(HostingError):
    """The host, a channel or a store was configured wrongly."""


class RequestError(HostingError):
    """A request cannot be served. Channels render it in their own error shape."""

    status_code: int = 400
    code: str | None = "invalid_request"
    error_type: str = "invalid_request_error"

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


class AuthenticationError(RequestError):
    status_code = 401
    code = "invalid_api_key"
    error_type = "authentication_error"


class NotFoundError(RequestError):
    status_code = 404
    code = "not_found"


class ConflictError(RequestError):
    status_code = 409
    code = "conflict"


class RejectedError(RequestError):
    """A run hook refused the request."""

    code = "rejected"


class LimitExceededError(RequestError):
    status_code = 413
    code = "limit_exceeded"


class AgentError(HostingError):
    """The agent raised or reported an error. Callers see only a generic message."""
