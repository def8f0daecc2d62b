"""What the channel keeps in the host's store: seen updates, link codes and links.

All of it is session state of one owner of the channel's own (``telegram-bot:<bot
id>``), which no API key maps to, read and written through the public
`ChannelContext.store`. Reads and writes that must not interleave (remember an
update, take a code) hold one lock per process; the store keeps them across
restarts.

Deliberate choices:

1. Seen updates are one record: the ids of the last `SEEN_WINDOW` updates, in
   the order they came. Telegram redelivers only recent updates, so the window
   covers them; no order of ids is assumed (after a week without updates,
   Telegram numbers the next one at random), and the record stays small.
2. A code is kept under its own key until it is used or expires; using it marks
   it used (the contract of session state has no delete).
3. A link (Telegram user -> host user) is written again when it is a day old, so
   the store's retention, counted from the last write, keeps links in use.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from typing import Any

from hosting.core import IsolationKeys
from hosting.core.channels import ChannelContext, isolation_scope

SEEN_WINDOW = 1000
"""How many of the latest update ids are remembered."""

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""Link code characters: no 0/O or 1/I, which people mistype."""

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


class ChannelState:
    """The channel's records in the host's store.

    Args:
        context: the channel's context (its store is scoped to the current caller).
        bot_id: the bot's numeric id, which names the owner the records are kept under.
    """

    def __init__(self, context: ChannelContext, bot_id: int) -> None:
        self._context = context
        self.owner = IsolationKeys(user=f"telegram-bot:{bot_id}")
        self._lock = asyncio.Lock()

    async def _get(self, key: str) -> dict[str, Any] | None:
        with isolation_scope(self.owner):
            return await self._context.store.get_session_state(key)

    async def _put(self, key: str, state: dict[str, Any]) -> None:
        with isolation_scope(self.owner):
            await self._context.store.put_session_state(key, state)

    # -- updates -----------------------------------------------------------------------------------

    async def first_time(self, update_id: int) -> bool:
        """True the first time an update id is seen (also across restarts); False afterwards."""
        async with self._lock:
            seen = await self._get("telegram:seen-updates") or {}
            ids = [int(number) for number in seen.get("ids", ())]
            if update_id in ids:
                return False
            ids = [*ids, update_id][-SEEN_WINDOW:]
            await self._put("telegram:seen-updates", {"ids": ids})
            return True

    # -- link codes --------------------------------------------------------------------------------

    async def new_code(self, user: str, *, ttl: float, telegram_user: int | None = None) -> LinkCode:
        """A fresh code for `user`, usable once within `ttl` seconds (by `telegram_user` only, if given)."""
        async with self._lock:
            while True:
                code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
                if await self._get(f"telegram:code:{code}") is None:
                    break
            link = LinkCode(code, user, time.time() + ttl, telegram_user)
            await self._put(
                f"telegram:code:{code}",
                {"user": user, "expires_at": link.expires_at, "telegram_user": telegram_user, "used": False},
            )
            return link

    async def take_code(self, code: str, telegram_user: int) -> LinkCode:
        """Use a code once, for `telegram_user`.

        A code meant for another Telegram user is refused and stays usable by the right one.

        Raises:
            LinkRefused: the code is unknown, used, expired or another Telegram user's.
        """
        code = code.strip().upper()
        if not code or any(character not in CODE_ALPHABET for character in code):
            raise LinkRefused("That is not a link code.")
        async with self._lock:
            kept = await self._get(f"telegram:code:{code}")
            if kept is None or kept.get("used"):
                raise LinkRefused("This code is unknown or was used already.")
            if float(kept["expires_at"]) < time.time():
                raise LinkRefused("This code has expired. Ask for a new one.")
            if kept.get("telegram_user") is not None and kept["telegram_user"] != telegram_user:
                raise LinkRefused("This code was made for another Telegram account.")
            await self._put(f"telegram:code:{code}", {**kept, "used": True})
            return LinkCode(code, str(kept["user"]), float(kept["expires_at"]), kept.get("telegram_user"))

    # -- links -------------------------------------------------------------------------------------

    async def set_link(self, telegram_user: int, user: str) -> None:
        """From now on, `telegram_user` acts as the host's `user`."""
        await self._put(f"telegram:link:{telegram_user}", {"user": user, "written_at": time.time()})

    async def clear_link(self, telegram_user: int) -> None:
        """From now on, `telegram_user` acts as themselves again."""
        await self._put(f"telegram:link:{telegram_user}", {"user": None, "written_at": time.time()})

    async def linked_user(self, telegram_user: int) -> str | None:
        """The host user a Telegram user is linked to, or None."""
        kept = await self._get(f"telegram:link:{telegram_user}")
        if kept is None or not kept.get("user"):
            return None
        if time.time() - float(kept.get("written_at", 0)) > _REFRESH_LINK_AFTER:
            await self.set_link(telegram_user, str(kept["user"]))
        return str(kept["user"])
