"""The sample assistant with the web chat and run inspector: open the printed address in a browser.

    python samples/ui_agent.py --host 127.0.0.1 --port 8000
    # the page:           http://127.0.0.1:8000/
    # the Responses API:  http://127.0.0.1:8000/v1 (the page uses it too)

Offline (no ``OPENAI_API_KEY``) the assistant is the deterministic local one of
``make serve``; it streams, calls its calculator and clock, and remembers earlier
turns, all kept in the embedded SQLite store (``.hosting/``). With
``HOSTING_API_KEYS`` set (``key:user`` pairs, separated by commas) the host needs
an API key, and the page asks for it once per browser tab.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from assistant import choose_agent
from hosting.core import ApiKeyAuthenticator, Host
from hosting.core.stores import Store
from hosting.responses import ResponsesChannel
from hosting.ui import ChatUI
from sample_server import run_sample


def build_host(environ: Mapping[str, str] = os.environ, *, store: Store | None = None) -> tuple[Host, str]:
    """The host of this sample and a line saying which mode it runs in."""
    agent, mode = choose_agent(environ)
    keys = environ.get("HOSTING_API_KEYS", "").strip()
    authenticator = None
    if keys:
        pairs = (entry.strip().partition(":") for entry in keys.split(",") if entry.strip())
        authenticator = ApiKeyAuthenticator({key: user or "default" for key, _, user in pairs})
        mode += "; API keys from HOSTING_API_KEYS"
    host = Host(
        agent,
        channels=[ResponsesChannel(), ChatUI(title="hosting: the assistant")],
        store=store,
        authenticator=authenticator,
    )
    return host, mode


def main(argv: Sequence[str] | None = None) -> None:
    host, mode = build_host()
    run_sample(
        host,
        title="hosting: the assistant, with the web chat at http://{address}/",
        mode=mode,
        model="assistant",
        argv=argv,
    )


if __name__ == "__main__":
    main()
