"""What every runnable sample shares: ``--host``/``--port``, and a banner once the socket is bound.

The banner says where the server is, which mode it runs in and how to call it
with the official client. It is printed after uvicorn has bound its socket, so
``--port 0`` (a free port, as the tests use) shows the real port.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from socket import socket

import uvicorn
from starlette.types import ASGIApp

SNIPPET = """\
    from openai import OpenAI

    client = OpenAI(base_url="{base_url}", api_key="local")
    with client.responses.stream(model="{model}", input="{first}") as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                print(event.delta, end="", flush=True)
        first = stream.get_final_response()
    print()
    second = client.responses.create(model="{model}", input="{second}", previous_response_id=first.id)
    third = client.responses.create(model="{model}", input="{third}", previous_response_id=second.id)
    print(third.output_text)
"""


def parse_arguments(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8000, help="port to bind; 0 picks a free one (default 8000)"
    )
    parser.add_argument("--log-level", default="info", help="uvicorn's log level (default info)")
    return parser.parse_args(argv)


def banner(
    title: str,
    base_url: str,
    *,
    mode: str,
    model: str,
    inputs: tuple[str, str, str] = ("What is 17 * 23?", "My name is Ada.", "What is my name?"),
) -> str:
    """The text printed at start: where, which mode, and a client snippet to copy."""
    first, second, third = inputs
    snippet = SNIPPET.format(base_url=base_url, model=model, first=first, second=second, third=third)
    return (
        f"\n{title}\n"
        f"  base_url: {base_url}\n"
        f"  mode:     {mode}\n\n"
        "Try it with the official client (pip install openai):\n\n"
        f"{snippet}\n"
        f"or run: python samples/client.py --base-url {base_url}\n"
    )


def _public_address(sockets: Sequence[socket]) -> str:
    host, port = sockets[0].getsockname()[:2]
    if host in ("0.0.0.0", "::"):  # bound to every interface: this machine reaches it on loopback
        host = "127.0.0.1"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _AnnouncingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, announce: str) -> None:
        super().__init__(config)
        self.announce = announce

    async def startup(self, sockets: list[socket] | None = None) -> None:
        await super().startup(sockets)
        if self.should_exit or not self.servers:
            return
        bound = [sock for server in self.servers for sock in server.sockets]
        print(self.announce.replace("{address}", _public_address(bound)), flush=True)


def run_sample(
    app: ASGIApp,
    *,
    title: str,
    mode: str,
    model: str,
    argv: Sequence[str] | None = None,
    prefix: str = "/v1",
    inputs: tuple[str, str, str] | None = None,
) -> None:
    """Parse the command line, serve `app` under uvicorn, and print the banner once it listens."""
    arguments = parse_arguments(title, argv)
    config = uvicorn.Config(
        app,
        host=arguments.host,
        port=arguments.port,
        log_level=arguments.log_level,
        timeout_graceful_shutdown=5,
    )
    base_url = "http://{address}" + prefix
    text = banner(title, base_url, mode=mode, model=model, **({"inputs": inputs} if inputs else {}))
    _AnnouncingServer(config, text).run()
