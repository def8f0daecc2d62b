"""hosting.core.middleware: the pure-ASGI middlewares the host stacks, usable alone.

The `Host` wraps its router in these, outermost first: `RequestIdMiddleware`
(an id per request, in a header and on log records), `IsolationMiddleware`
(authenticates from the headers and sets the caller's isolation keys, before any
body is read) and `BodyLimitMiddleware` (reads the body up front, bounded in size
and time). Each takes the app it wraps first and options by keyword, so it fits
``starlette.middleware.Middleware(cls, **options)``.
"""

from __future__ import annotations

from ._limits import BodyLimitMiddleware
from ._middleware import CHAT_HEADER, USER_HEADER, IsolationMiddleware
from ._public import publish
from ._request_id import REQUEST_ID_HEADER, RequestIdLogFilter, RequestIdMiddleware

__all__ = [
    "CHAT_HEADER",
    "REQUEST_ID_HEADER",
    "USER_HEADER",
    "BodyLimitMiddleware",
    "IsolationMiddleware",
    "RequestIdLogFilter",
    "RequestIdMiddleware",
]

publish(__name__, globals(), __all__)
del publish
