"""hosting.telegram: the agent as a Telegram bot.

from hosting.core import Host
from hosting.telegram import TelegramChannel

host = Host(my_agent, channels=[TelegramChannel(token)])   # long polling; then: uvicorn module:host

Answers stream into the chat by edits; ``/link CODE`` makes a chat act as a host
user (codes from ``POST /telegram/link-codes``); runs on other channels can push
their answer to a linked chat (``deliver_to``). `hosting.telegram.testing` has a
stand-in for the Bot API to test against. docs/channels/telegram.md has the rest.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._channel import TelegramChannel
from ._format import MESSAGE_LIMIT, markdown_messages
from ._webhook import SECRET_HEADER

try:
    __version__ = version("hosting-telegram")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0.0.0"

__all__ = [
    "MESSAGE_LIMIT",
    "SECRET_HEADER",
    "TelegramChannel",
    "__version__",
    "markdown_messages",
]
