"""Updates by webhook: Telegram posts each update to ``POST <prefix>/webhook``.

The route checks Telegram's ``X-Telegram-Bot-Api-Secret-Token`` header (the
secret given to setWebhook) in constant time, parses the body with aiogram's
`Update`, remembers its id and answers 200 at once; the turn runs in the
background, so Telegram does not time out and deliver the update again while
the agent thinks. An update it has handled before is answered 200 and dropped.

Telegram sends no API key. On a host with an authenticator, wrap it in
`WebhookAuthenticator`, which lets a request to the webhook path through when it
carries the right secret (as the channel's own user) and hands every other
request to the host's authenticator.
"""

from __future__ import annotations

import hmac
import json
import logging

from aiogram import Bot
from aiogram.types import Update
from pydantic import ValidationError
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response

from hosting.core import AuthenticationError, Authenticator, InvalidRequestError, IsolationKeys
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


class WebhookAuthenticator:
    """The host's authenticator, with Telegram's webhook let in by its secret token.

    Args:
        inner: the host's authenticator, for every other request.
        path: the webhook's path (relative to where the host is mounted).
        secret: the webhook's secret token.
        user: the isolation user the webhook request runs as (the channel then runs each turn as
            the chat's own user).
    """

    def __init__(
        self, inner: Authenticator, *, path: str, secret: str, user: str = "telegram-webhook"
    ) -> None:
        self.inner = inner
        self.path = path
        self.secret = secret
        self.user = user

    async def authenticate(self, connection: HTTPConnection) -> IsolationKeys:
        # Relative to where the host is mounted, as the host's own routes are.
        root: str = connection.scope.get("root_path", "")
        path: str = connection.scope.get("path", "")
        relative = path[len(root) :] if root and path.startswith(root) else path
        if relative == self.path:
            if not secret_matches(connection.headers.get(SECRET_HEADER), self.secret):
                raise AuthenticationError("The Telegram secret token is missing or wrong.")
            return IsolationKeys(user=self.user)
        return await self.inner.authenticate(connection)
