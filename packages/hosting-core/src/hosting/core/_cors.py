"""Cross-origin requests: the browser's preflight answered, the allowed origins told.

The host uses Starlette's own `CORSMiddleware` (no second implementation of the
rules). Choices made for it:

1. No origin is allowed unless the host is told (``Host(cors_origins=[...])`` or
   ``HOSTING_CORS_ORIGINS``): a host that serves one user's agent should not be
   callable from any page the user happens to visit.
2. The middleware sits outside authentication: a preflight carries no API key
   (browsers never send one with it), so it must be answered before the key is asked for.
3. Every method and request header is allowed for an allowed origin; the API key
   travels in ``Authorization``, which a page has to be allowed to send.
4. Cookies are not credentials here (``allow_credentials=False``): the host
   authenticates by header only, so a page cannot borrow a user's session.
5. ``x-request-id`` and ``retry-after`` are exposed, so a page can show the first
   in an error report and honour the second.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

CORS_ORIGINS_ENV = "HOSTING_CORS_ORIGINS"
EXPOSED_HEADERS = ("x-request-id", "retry-after")


def cors_origins_from_env() -> tuple[str, ...]:
    """The origins listed in ``HOSTING_CORS_ORIGINS`` (comma or space separated), or none."""
    raw = os.environ.get(CORS_ORIGINS_ENV, "")
    return tuple(origin for origin in raw.replace(",", " ").split() if origin)


def cors_middleware(origins: Sequence[str]) -> Middleware | None:
    """Starlette's `CORSMiddleware` allowing `origins` (``"*"`` for any), or None for no origin.

    Origins are compared as browsers send them: scheme, host and port, no path and no
    trailing slash (``https://app.example.com``, ``http://localhost:5173``).
    """
    cleaned = [origin.rstrip("/") for origin in origins if origin]
    if not cleaned:
        return None
    return Middleware(
        CORSMiddleware,
        allow_origins=cleaned,
        allow_methods=["*"],
        allow_headers=["*"],
        allow_credentials=False,
        expose_headers=list(EXPOSED_HEADERS),
        max_age=600,
    )
