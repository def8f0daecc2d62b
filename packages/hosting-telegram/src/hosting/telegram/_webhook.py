"""Updates by webhook: Telegram posts each update to ``POST <prefix>/webhook``.

The route checks Telegram's ``X-Telegram-Bot-Api-Secret-Token`` header (the
secret given to setWebhook) in constant time, parses the body with aiogram's
`Update`, remembers its id and answers 200 at once; the turn runs in the
background, so Telegram does not time out and deliver the update again while
the agent thinks. An update it has handled before is answered 200 and dropped.

Telegram sends no API key: the webhook is a public path of the host (served
without its authenticator, as the anonymous user), and this secret is what
authenticates the request. Each turn then runs as the chat's own user.
"""

from __future__ import annotations

import hmac
import json
import logging

from aiogram import Bot
from aiogram.types import Update
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hosting.core import AuthenticationError, InvalidRequestError
from hosting.core.channels import request_body

from ._problem import problem
from ._updates import UpdateHandler

logger = logging.getLogger("hosting.telegram")

SECRET_HEADER = "x-telegram-bot-api-secret-token"


def secret_matches(presented: str | None, secret: str) -> bool:
    """The header carries the webhook's secret (compared in constant time)."""
    return presented is not None and hmac.compare_digest(presented.encode(), secret.encode())


async def receive_update(request: Request, *, handler: UpdateHandler, bot: Bot, secret: str) -> Response:
    """The webhook route: check the secret, parse the update, hand it on once."""
    if not secret_matches(request.headers.get(SECRET_HEADER), secret):
        return problem(
            AuthenticationError("The secret token is missing or wrong.", code="invalid_secret_token")
        )
    try:
        payload = json.loads(await request_body(request))
    except ValueError:
        return problem(InvalidRequestError("The body is not JSON."))
    if not isinstance(payload, dict):
        return problem(InvalidRequestError("The body is not a Telegram update."))
    try:
        update = Update.model_validate(payload, context={"bot": bot})
    except ValidationError as error:
        where = ".".join(str(part) for part in error.errors()[0]["loc"])
        return problem(InvalidRequestError("The body is not a Telegram update.", param=where[:128] or None))
    await handler.accept(update)
    return JSONResponse({"ok": True})
