"""The default sample (``make serve``): a tool-using assistant behind the Responses API.

With ``OPENAI_API_KEY`` set it is backed by a real model through the `openai` SDK
(``OPENAI_BASE_URL`` picks any OpenAI-compatible server, ``OPENAI_MODEL`` the
model); without it, a deterministic local agent that needs no network. Either
way it streams, calls its calculator and clock, and remembers earlier turns, and
everything is kept in the embedded SQLite store (``.hosting/``), so a
conversation survives a restart.

    python samples/default_agent.py --host 127.0.0.1 --port 8000
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from assistant import choose_agent
from hosting.core import Host
from hosting.core.stores import Store
from hosting.responses import ResponsesChannel
from sample_server import run_sample


def build_host(environ: Mapping[str, str] = os.environ, *, store: Store | None = None) -> tuple[Host, str]:
    """The host of this sample and a line saying which mode it runs in."""
    agent, mode = choose_agent(environ)
    return Host(agent, channels=[ResponsesChannel()], store=store), mode


def main(argv: Sequence[str] | None = None) -> None:
    host, mode = build_host()
    run_sample(host, title="hosting: the default assistant", mode=mode, model="assistant", argv=argv)


if __name__ == "__main__":
    main()
