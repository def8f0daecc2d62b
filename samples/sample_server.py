"""What every runnable sample shares: ``--host``/``--port``, logs, a banner, and a quiet stop.

The banner says where the server is, which mode it runs in, where its data is
kept, its health, readiness and OpenAPI endpoints, and how to call it with the
official client. It is printed after uvicorn has bound its socket, so ``--port
0`` (a free port, as the tests use) shows the real port.

Logs go to stderr with each record's time, level and logger (``HOSTING_LOG_FORMAT=json``
for JSON). Ctrl-C and SIGTERM stop the server gracefully and end the process with
status 0, without a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from socket import socket
from types import FrameType

import uvicorn
from starlette.types import ASGIApp

from hosting.core import MemoryStore, SQLiteStore, logging_config

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


def data_location(app: object) -> str | None:
    """Where `app` (a `Host`, or an app with a ``host`` of its own) keeps its data, in words."""
    store = getattr(app, "store", None)
    if isinstance(store, SQLiteStore):
        return f"{store.path} (SQLite; HOSTING_DATA_DIR moves it)"
    if isinstance(store, MemoryStore):
        return "in memory (lost when the server stops)"
    url = getattr(store, "url", None)  # a networked store: where, without the password
    if isinstance(url, str):
        from hosting.postgres import redact_url

        return f"{redact_url(url)} (PostgreSQL; HOSTING_DATABASE_URL)"
    return None


def banner(
    title: str,
    base_url: str,
    *,
    mode: str,
    model: str,
    inputs: tuple[str, str, str] = ("What is 17 * 23?", "My name is Ada.", "What is my name?"),
    data: str | None = None,
    root_url: str | None = None,
    endpoints: Sequence[str] = (),
) -> str:
    """The text printed at start: where, which mode, the data and endpoints, and a client snippet.

    `endpoints` are further lines (other channels: ``"a2a:      http://{address}/a2a ..."``)."""
    first, second, third = inputs
    snippet = SNIPPET.format(base_url=base_url, model=model, first=first, second=second, third=third)
    root = root_url if root_url is not None else base_url.removesuffix("/v1")
    return (
        f"\n{title}\n"
        f"  base_url: {base_url}\n"
        f"  mode:     {mode}\n"
        + (f"  data:     {data}\n" if data else "")
        + "".join(f"  {line}\n" for line in endpoints)
        + f"  health:   {root}/healthz   ready: {root}/readyz\n"
        f"  openapi:  {base_url}/openapi.json\n\n"
        "Try it with the official client (pip install openai):\n\n"
        f"{snippet}\n"
        f"or run: python samples/client.py --base-url {base_url}\n"
        "Stop with Ctrl-C.\n"
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


def _graceful_wait(app: object) -> int:
    """Seconds uvicorn waits for open requests at a stop: the host's grace period and a second.

    The host ends its runs, and so their streams, within its grace period (it learns of the
    signal when it arrives), so uvicorn never has to cut a request, which it would log as an
    error."""
    host = app if hasattr(app, "shutdown_grace") else getattr(app, "host", None)
    grace = getattr(host, "shutdown_grace", None)
    return math.ceil(grace) + 1 if isinstance(grace, int | float) else 5


def _stop_quietly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _run_by_make() -> bool:
    """Whether make itself started this process (a recipe's command), not something make started."""
    if "MAKELEVEL" not in os.environ:
        return False
    try:
        with open(f"/proc/{os.getppid()}/comm") as comm:
            return comm.read().strip() in ("make", "gmake")
    except OSError:  # no /proc: not Linux; leave the terminal alone
        return False


@contextlib.contextmanager
def _terminal_foreground() -> Iterator[None]:
    """Run by make in a terminal (``make serve``), be the terminal's foreground alone.

    Ctrl-C interrupts the terminal's foreground process group, which the server shares with make:
    make would then report the interrupt and end by it, whatever the server did. In a process
    group of its own that holds the terminal, the server alone gets Ctrl-C, shuts down, exits 0,
    and make ends as it did. The terminal goes back to make's group on the way out. Nothing
    changes unless make started the server itself, in a terminal.
    """
    try:
        terminal = sys.stdin.fileno()
        shared = _run_by_make() and os.isatty(terminal) and os.getpgrp() != os.getpid()
        parent_group = os.getpgrp()
        if not shared or os.tcgetpgrp(terminal) != parent_group:
            shared = False
    except (OSError, ValueError):
        shared = False
    if not shared:
        yield
        return
    # A process group that is not the terminal's foreground may take it only with SIGTTOU ignored.
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        os.setpgid(0, 0)
        os.tcsetpgrp(terminal, os.getpgrp())
    except OSError:
        signal.signal(signal.SIGTTOU, previous)
        yield
        return
    signal.signal(signal.SIGTTOU, previous)
    try:
        yield
    finally:
        previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        with contextlib.suppress(OSError):
            os.tcsetpgrp(terminal, parent_group)
        signal.signal(signal.SIGTTOU, previous)


def run_sample(
    app: ASGIApp,
    *,
    title: str,
    mode: str,
    model: str,
    argv: Sequence[str] | None = None,
    prefix: str = "/v1",
    inputs: tuple[str, str, str] | None = None,
    endpoints: Sequence[str] = (),
) -> None:
    """Parse the command line, serve `app` under uvicorn, and print the banner once it listens.

    Returns when the server has stopped (Ctrl-C or SIGTERM), after a graceful shutdown.
    """
    arguments = parse_arguments(title, argv)
    config = uvicorn.Config(
        app,
        host=arguments.host,
        port=arguments.port,
        log_level=arguments.log_level,
        log_config=logging_config(),
        timeout_graceful_shutdown=_graceful_wait(app),
    )
    base_url = "http://{address}" + prefix
    root_url = "http://{address}" + prefix.removesuffix("/v1")
    text = banner(
        title,
        base_url,
        mode=mode,
        model=model,
        data=data_location(app) or data_location(getattr(app, "host", None)),
        root_url=root_url,
        endpoints=endpoints,
        **({"inputs": inputs} if inputs else {}),
    )
    # uvicorn shuts down on SIGINT/SIGTERM, then raises the signal again with the previous
    # handlers back: SIGTERM then ends the process with status 0, and SIGINT's KeyboardInterrupt
    # is caught here, so a stop asked for prints no traceback.
    signal.signal(signal.SIGTERM, _stop_quietly)
    with _terminal_foreground():
        try:
            _AnnouncingServer(config, text).run()
        except KeyboardInterrupt:
            pass
