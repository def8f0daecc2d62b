"""Push: a run's answer sent to a Telegram chat outside any update.

The host calls the push function for a run that asked for delivery
(`ChannelRequest.deliver_to`) with the address it has for the run's user on this
channel: the chat linked with ``/link``. The chat is checked again before
anything is sent: when its Telegram user has since linked another account, the
push is refused (and reported failed), so an answer never reaches a chat that
is not the run's user's.
"""

from __future__ import annotations

from functools import partial

from aiogram import Bot

from hosting.core import Message
from hosting.core.channels import Delivery

from ._format import markdown_messages
from ._reply import with_retry_after
from ._state import ChannelState


class PushRefused(Exception):
    """The address is not (or no longer) the chat of the delivery's user."""


async def push_answer(delivery: Delivery, *, bot: Bot, state: ChannelState) -> None:
    """Send the assistant text of `delivery` to its chat (split to fit), or raise."""
    try:
        chat_id = int(delivery.address)
    except ValueError:
        raise PushRefused(f"'{delivery.address[:64]}' is not a Telegram chat id") from None
    owner = delivery.isolation.user
    if chat_id > 0:
        # A private chat: its id is its Telegram user's, whose link names the account it acts as.
        allowed = owner in (await state.linked_user(chat_id), f"telegram:{chat_id}")
    else:
        allowed = owner == f"telegram-group:{chat_id}"
    if not allowed:
        raise PushRefused("this chat is not linked to the run's user")
    text = "".join(
        item.text for item in delivery.items if isinstance(item, Message) and item.role == "assistant"
    )
    for markup in markdown_messages(text.strip() or "(no answer)"):
        await with_retry_after(partial(bot.send_message, chat_id=chat_id, text=markup, parse_mode="HTML"))
