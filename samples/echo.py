"""The smallest host (``make serve-echo``): an agent that repeats every user message of the conversation.

    python samples/echo.py --port 8000

The whole app is one line; the rest prints where it listens. Without the banner,
``uvicorn echo:host`` serves the same ``host``.
"""

from __future__ import annotations

from collections.abc import Sequence

from hosting.core import Host, MemoryStore
from hosting.responses import ResponsesChannel
from hosting.testing import EchoAgent
from sample_server import run_sample

host = Host(EchoAgent(), channels=[ResponsesChannel()], store=MemoryStore())


def main(argv: Sequence[str] | None = None) -> None:
    run_sample(
        host,
        title="hosting: the echo agent",
        mode="echo: answers with every user message so far, one per line (kept in memory)",
        model="echo",
        argv=argv,
        inputs=("Hello there", "How are you?", "Still here?"),
    )


if __name__ == "__main__":
    main()
