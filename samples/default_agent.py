"""The default sample (``make serve``): a tool-using assistant on every channel that needs no
outside account.

- the OpenAI Responses API at ``/v1`` (the official ``openai`` SDK, pointed at ``base_url``);
- A2A at ``/a2a``, its agent card at ``/.well-known/agent-card.json``;
- MCP tools over Streamable HTTP at ``/mcp``;
- a web chat and run inspector at ``/``;
- Telegram, when ``TELEGRAM_BOT_TOKEN`` is set (``TELEGRAM_WEBHOOK_SECRET`` set means webhook
  mode, else long polling; ``TELEGRAM_API_BASE_URL`` moves the Bot API).

With ``OPENAI_API_KEY`` set the assistant is backed by a real model through the `openai` SDK
(``OPENAI_BASE_URL`` picks any OpenAI-compatible server, ``OPENAI_MODEL`` the model); without
it, a deterministic local agent that needs no network. Either way it streams, calls its
calculator and clock, and remembers earlier turns. Everything is kept in the embedded SQLite
store (``.hosting/``), or on PostgreSQL when ``HOSTING_DATABASE_URL`` is set, so a conversation
survives a restart and is the same conversation on every channel.

    python samples/default_agent.py --host 127.0.0.1 --port 8000
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from assistant import choose_agent
from hosting.a2a import A2AChannel
from hosting.core import Host
from hosting.core.channels import Channel
from hosting.core.stores import Store
from hosting.mcp import MCPChannel
from hosting.responses import ResponsesChannel
from hosting.ui import ChatUI
from sample_server import run_sample

ENDPOINTS = (
    "web chat: http://{address}/",
    "a2a:      http://{address}/a2a   (card: http://{address}/.well-known/agent-card.json;"
    " try: python samples/a2a_agent.py client http://{address})",
    "mcp:      http://{address}/mcp   (MCP tools over Streamable HTTP;"
    " try: python samples/mcp_agent.py client http://{address})",
)


def build_host(
    environ: Mapping[str, str] = os.environ, *, store: Store | None = None
) -> tuple[Host, str, list[str]]:
    """The host of this sample, a line saying which mode it runs in, and its endpoints besides /v1."""
    agent, mode = choose_agent(environ)
    channels: list[Channel] = [ResponsesChannel(), A2AChannel(), MCPChannel(), ChatUI()]
    endpoints = list(ENDPOINTS)
    # Telegram and PostgreSQL are imported only when configured: aiogram alone takes seconds to
    # import, which every start would pay for a channel it does not serve.
    telegram = None
    if environ.get("TELEGRAM_BOT_TOKEN", "").strip():
        from hosting.telegram import TelegramChannel

        telegram = TelegramChannel.from_environ(environ)
    if telegram is not None:
        channels.append(telegram)
        endpoints.append(
            f"telegram: the bot answers by {telegram.mode}; link a chat:"
            " curl -X POST http://{address}/telegram/link-codes, then send the bot /link CODE"
        )
    if store is None and environ.get("HOSTING_DATABASE_URL", "").strip():
        from hosting.postgres import store_from_environ

        store = store_from_environ(environ)
    return Host(agent, channels=channels, store=store), mode, endpoints


def main(argv: Sequence[str] | None = None) -> None:
    host, mode, endpoints = build_host()
    run_sample(
        host,
        title="hosting: the default assistant",
        mode=mode,
        model="assistant",
        argv=argv,
        endpoints=endpoints,
    )


if __name__ == "__main__":
    main()
