"""One assistant over the Responses API and as a Telegram bot, with linking and push.

    TELEGRAM_BOT_TOKEN=123:ABC HOSTING_API_KEYS=key-ada:ada python samples/telegram_agent.py

The assistant is the one of ``make serve`` (offline without ``OPENAI_API_KEY``). The bot takes
updates by long polling; with ``TELEGRAM_WEBHOOK_SECRET`` set it takes them by webhook at
``/telegram/webhook`` instead (``TELEGRAM_WEBHOOK_URL``, the public address of that route, is then
registered with Telegram at start-up). ``TELEGRAM_API_BASE_URL`` points it at a local Bot API
server. With ``HOSTING_API_KEYS`` (``key:user`` pairs, separated by commas) a user gets a link
code with their key, sends ``/link CODE`` to the bot, and from then on the chat is theirs: their
background runs can be delivered to it (``extra_body={"deliver_to": "telegram"}``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from assistant import choose_agent
from hosting.core import ApiKeyAuthenticator, Authenticator, Host
from hosting.core.stores import Store
from hosting.responses import ResponsesChannel
from hosting.telegram import TelegramChannel
from sample_server import run_sample

LINK_SNIPPET = """\
  link a chat: curl -X POST http://{address}/telegram/link-codes -H 'Authorization: Bearer <key>'
               then send the bot: /link <code>
  push:        client.responses.create(model="assistant", input="...", background=True,
                                       extra_body={"deliver_to": "telegram"})"""


def build_host(environ: Mapping[str, str] = os.environ, *, store: Store | None = None) -> tuple[Host, str]:
    """The host of this sample and a line saying which mode it runs in.

    Raises:
        SystemExit: ``TELEGRAM_BOT_TOKEN`` is not set.
    """
    telegram = TelegramChannel.from_environ(environ)
    if telegram is None:
        raise SystemExit("Set TELEGRAM_BOT_TOKEN to the token @BotFather gave your bot.")
    agent, mode = choose_agent(environ)
    authenticator: Authenticator | None = None
    if environ.get("HOSTING_API_KEYS", "").strip():
        # The webhook needs no key: Telegram's secret token lets its updates in.
        authenticator = ApiKeyAuthenticator(_pairs(environ["HOSTING_API_KEYS"]))
    host = Host(agent, channels=[ResponsesChannel(), telegram], store=store, authenticator=authenticator)
    return host, f"{mode}; Telegram by {telegram.mode}"


def _pairs(raw: str) -> dict[str, str]:
    pairs = (entry.strip().partition(":") for entry in raw.split(",") if entry.strip())
    return {key.strip(): user.strip() or "default" for key, _, user in pairs}


def main(argv: Sequence[str] | None = None) -> None:
    host, mode = build_host()
    run_sample(
        host,
        title="hosting: the assistant over the Responses API and Telegram",
        mode=f"{mode}\n{LINK_SNIPPET}",
        model="assistant",
        argv=list(sys.argv[1:] if argv is None else argv),
    )


if __name__ == "__main__":
    main()
