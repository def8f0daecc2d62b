"""Authenticators: who is calling, as isolation keys.

An authenticator is any object with ``async authenticate(connection) ->
IsolationKeys``; it raises `AuthenticationError` for missing or bad
credentials. `ApiKeyAuthenticator` is the built-in one: the openai SDK sends its
``api_key`` as ``Authorization: Bearer <key>``, and each key maps to a user.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from starlette.requests import HTTPConnection

from ._exceptions import AuthenticationError, ConfigurationError
from ._isolation import IsolationKeys


@runtime_checkable
class Authenticator(Protocol):
    """Turns a request's credentials into isolation keys (a JWT from a gateway, an API key, ...)."""

    async def authenticate(self, connection: HTTPConnection) -> IsolationKeys: ...


def bearer_token(connection: HTTPConnection) -> str | None:
    """The token of an ``Authorization: Bearer`` header (or an ``api-key`` header), if any."""
    authorization = connection.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    api_key = (connection.headers.get("api-key") or "").strip()
    return api_key or None


class ApiKeyAuthenticator:
    """Maps API keys to users, comparing in constant time.

    Args:
        keys: API key -> user isolation key. Neither may be empty or blank.
    """

    def __init__(self, keys: Mapping[str, str]) -> None:
        if not keys:
            raise ConfigurationError("ApiKeyAuthenticator needs at least one key")
        for key, user in keys.items():
            # A blank key would let in anyone who sends a blank one; a blank user has no data of its own.
            if not key.strip() or not user.strip():
                raise ConfigurationError("API keys and their users must not be empty")
        self._keys = [(key.encode(), user) for key, user in keys.items()]
        # Digests are compared, not the keys: equal lengths, so the time taken tells nothing of a key's length.
        self._digests = [(_digest(key), user) for key, user in self._keys]

    @classmethod
    def from_env(cls, variable: str = "HOSTING_API_KEYS") -> ApiKeyAuthenticator:
        """Read ``key:user`` pairs separated by commas (a bare key maps to the user ``default``)."""
        raw = os.environ.get(variable, "")
        pairs: dict[str, str] = {}
        for entry in raw.split(","):
            entry = entry.strip()
            if not entry:
                continue
            key, _, user = entry.partition(":")
            pairs[key.strip()] = user.strip() or "default"
        if not pairs:
            raise ConfigurationError(f"{variable} holds no API keys")
        return cls(pairs)

    async def authenticate(self, connection: HTTPConnection) -> IsolationKeys:
        token = bearer_token(connection)
        if token is None:
            raise AuthenticationError(
                "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
                code="missing_api_key",
            )
        presented = _digest(token.encode())
        user: str | None = None
        # Compare against every key so timing does not tell how many keys exist or which matched.
        for digest, candidate in self._digests:
            if hmac.compare_digest(digest, presented):
                user = candidate
        if user is None:
            raise AuthenticationError("Incorrect API key provided.")
        return IsolationKeys(user=user)


def _digest(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()
