"""Link codes over HTTP: a host user asks for a one-time code to send as ``/link CODE``.

``POST <prefix>/link-codes`` runs behind the host's authenticator like any other
route, so the code belongs to the caller of the request. The body is optional:
``{"telegram_user_id": 123}`` makes the code usable by that Telegram account
only. The answer (201) is ``{"code", "expires_at", "command"}``; errors are
``{"error": {"code", "message", "param"}}``.
"""

from __future__ import annotations

import json
import math

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hosting.core import InvalidRequestError, RequestError
from hosting.core.channels import request_body

from ._problem import problem
from ._state import ChannelState


def _telegram_user(raw: bytes) -> int | None:
    if not raw.strip():
        return None
    try:
        body = json.loads(raw)
    except ValueError:
        raise InvalidRequestError("The body is not JSON.") from None
    if not isinstance(body, dict):
        raise InvalidRequestError("The body must be a JSON object.")
    unknown = sorted(set(body) - {"telegram_user_id"})
    if unknown:
        raise InvalidRequestError(f"Unknown parameter '{unknown[0][:64]}'.", param=unknown[0][:64])
    value = body.get("telegram_user_id")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidRequestError("'telegram_user_id' must be a positive integer.", param="telegram_user_id")
    return value


async def create_link_code(request: Request, *, state: ChannelState, ttl: float) -> Response:
    """The route: a fresh code for the caller."""
    try:
        telegram_user = _telegram_user(await request_body(request))
    except RequestError as error:
        return problem(error)
    link = await state.new_code(ttl=ttl, telegram_user=telegram_user)
    body = {"code": link.code, "expires_at": math.ceil(link.expires_at), "command": f"/link {link.code}"}
    return JSONResponse(body, status_code=201)
