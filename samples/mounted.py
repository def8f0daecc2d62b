"""The host mounted inside a FastAPI app, under a path prefix, next to the app's own routes.

    python samples/mounted.py --port 8000
    # the app's own route:     GET  http://127.0.0.1:8000/
    # the Responses API:       POST http://127.0.0.1:8000/agents/v1/responses

The parent app runs the host's lifespan (``lifespan=host.lifespan``), so the store
opens at start-up and in-flight runs finish at shutdown. Without it, the host
would start on its first request.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from hosting.core import Host, MemoryStore
from hosting.responses import ResponsesChannel
from hosting.testing import EchoAgent
from sample_server import run_sample

PREFIX = "/agents"

host = Host(EchoAgent(), channels=[ResponsesChannel()], store=MemoryStore())
app = FastAPI(title="A shop that also serves an agent", lifespan=host.lifespan)


@app.get("/")
async def index() -> dict[str, str]:
    """The parent app's own route."""
    return {"service": "shop", "agents": f"{PREFIX}/v1"}


app.mount(PREFIX, host)


def main(argv: Sequence[str] | None = None) -> None:
    run_sample(
        app,
        title="hosting: mounted at /agents inside a FastAPI app",
        mode="mounted: FastAPI serves / and the host serves /agents/v1",
        model="echo",
        argv=argv,
        prefix=f"{PREFIX}/v1",
        inputs=("Hello from the shop", "Where is my order?", "Thanks"),
    )


if __name__ == "__main__":
    main()
