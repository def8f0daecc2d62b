"""What the channel keeps in the host's store: seen updates, link codes and links.

Seen updates and link codes live in the channel's own namespaces of the store
(`ChannelContext.remember`, `put_token` / `take_token`), which are atomic across
every process sharing the store: of two deliveries of one update, or two uses of
one code, exactly one wins, also on several replicas.

Deliberate choices:

1. An update id is remembered for `SEEN_TTL` seconds, in a namespace of the bot
   (update ids are numbered per bot): Telegram keeps an update at most a day, so
   it never redelivers an older one. No order of ids is assumed (after a week
   without updates, Telegram numbers the next one at random).
2. A link code is a one-time token owned by the host user who asked for it. The
   store keeps it `_EXPIRED_KEPT` seconds past its expiry, so a late ``/link``
   is told it expired rather than that it is unknown. A code made for one
   Telegram account that another account sends is put back, usable by the right
   one until it expires.
3. A link (Telegram user -> host user) is session state of the Telegram user's
   own host user (``telegram:<id>``, who the private chat talks as when
   unlinked), one per bot, and is written again when it is a day old, so the
   store's retention, counted from the last write, keeps links in use.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from hosting.core import IsolationKeys
from hosting.core.channels import ChannelContext, isolation_scope

SEEN_TTL = 2 * 86400.0
"""Seconds an update id is remembered (Telegram keeps an undelivered update 24 hours)."""

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""Link code characters: no 0/O or 1/I, which people mistype."""

CODES = "link-codes"
"""The token namespace of link codes (the store scopes it to the channel)."""

_EXPIRED_KEPT = 86400.0
_REFRESH_LINK_AFTER = 86400.0


@dataclass(frozen=True, slots=True)
class LinkCode:
    """A one-time code a host user asked for, to link a Telegram account to them."""

    code: str
    user: str
    expires_at: float
    telegram_user: int | None = None


class LinkRefused(Exception):
    """A code that cannot be used (unknown, used, expired, or for another Telegram user)."""


def telegram_keys(telegram_user: int) -> IsolationKeys:
    """The host user a Telegram user's private chat talks as when it is not linked."""
    return IsolationKeys(user=f"telegram:{telegram_user}")


class ChannelState:
    """The channel's records in the host's store.

    Args:
        context: the channel's context.
        bot_id: the bot's numeric id (update ids and links are the bot's own).
    """

    def __init__(self, context: ChannelContext, bot_id: int) -> None:
        self._context = context
        self._updates = f"updates:{bot_id}"
        self._link_key = f"telegram:link:{bot_id}"

    # -- updates -----------------------------------------------------------------------------------

    async def first_time(self, update_id: int) -> bool:
        """True the first time an update id is seen (also across restarts and processes)."""
        return await self._context.remember(self._updates, str(update_id), ttl=SEEN_TTL)

    # -- link codes --------------------------------------------------------------------------------

    async def new_code(self, *, ttl: float, telegram_user: int | None = None) -> LinkCode:
        """A fresh code for the current caller, usable once within `ttl` seconds (by
        `telegram_user` only, if given)."""
        user = self._context.isolation.user
        expires_at = time.time() + ttl
        data = {"expires_at": expires_at, "telegram_user": telegram_user}
        while True:
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
            try:
                await self._context.put_token(CODES, code, data=data, ttl=ttl + _EXPIRED_KEPT)
            except ValueError:
                continue  # taken already (one chance in a trillion): draw another
            return LinkCode(code, user, expires_at, telegram_user)

    async def take_code(self, code: str, telegram_user: int) -> LinkCode:
        """Use a code once, for `telegram_user`.

        A code meant for another Telegram user is refused and stays usable by the right one.

        Raises:
            LinkRefused: the code is unknown, used, expired or another Telegram user's.
        """
        code = code.strip().upper()
        if not code or any(character not in CODE_ALPHABET for character in code):
            raise LinkRefused("That is not a link code.")
        token = await self._context.take_token(CODES, code)
        if token is None:
            raise LinkRefused("This code is unknown or was used already.")
        data: dict[str, Any] = dict(token.data)
        expires_at = float(data["expires_at"])
        remaining = expires_at - time.time()
        if remaining <= 0:
            raise LinkRefused("This code has expired. Ask for a new one.")
        meant_for = data.get("telegram_user")
        if meant_for is not None and meant_for != telegram_user:
            # Back in the store for the account it was made for (a /link of it by that account at
            # this very moment would find nothing: a refusal to retry, never a wrong link).
            with isolation_scope(IsolationKeys(user=token.owner)):
                await self._context.put_token(CODES, code, data=data, ttl=remaining + _EXPIRED_KEPT)
            raise LinkRefused("This code was made for another Telegram account.")
        return LinkCode(code, token.owner, expires_at, meant_for)

    # -- links -------------------------------------------------------------------------------------

    async def set_link(self, telegram_user: int, user: str) -> None:
        """From now on, `telegram_user` acts as the host's `user`."""
        await self._put_link(telegram_user, {"user": user, "written_at": time.time()})

    async def clear_link(self, telegram_user: int) -> None:
        """From now on, `telegram_user` acts as themselves again."""
        await self._put_link(telegram_user, {"user": None, "written_at": time.time()})

    async def linked_user(self, telegram_user: int) -> str | None:
        """The host user a Telegram user is linked to, or None."""
        with isolation_scope(telegram_keys(telegram_user)):
            kept = await self._context.store.get_session_state(self._link_key)
        if kept is None or not kept.get("user"):
            return None
        if time.time() - float(kept.get("written_at", 0)) > _REFRESH_LINK_AFTER:
            await self.set_link(telegram_user, str(kept["user"]))
        return str(kept["user"])

    async def _put_link(self, telegram_user: int, link: dict[str, Any]) -> None:
        with isolation_scope(telegram_keys(telegram_user)):
            await self._context.store.put_session_state(self._link_key, link)
