"""The real-socket harnesses: `serve` and `serving` on loopback, on a free port or a chosen one."""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx

from hosting.core import Host, MemoryStore
from hosting.responses import ResponsesChannel
from hosting.testing import EchoAgent, serve, serving


def make_host() -> Host:
    return Host(EchoAgent(), channels=[ResponsesChannel()], store=MemoryStore())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_picks_a_free_loopback_port_by_default() -> None:
    with serve(make_host()) as url:
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200


def test_serve_takes_a_host_and_a_port() -> None:
    port = free_port()
    with serve(make_host(), host="127.0.0.1", port=port) as url:
        assert url == f"http://127.0.0.1:{port}"
        assert httpx.get(f"{url}/readyz", timeout=5).status_code == 200


async def test_serving_takes_a_host_and_a_port() -> None:
    port = free_port()
    async with serving(make_host(), port=port) as url, httpx.AsyncClient() as http:
        assert url == f"http://127.0.0.1:{port}"
        assert (await http.get(f"{url}/healthz")).status_code == 200


def test_the_served_fixture_passes_host_and_port_on(served: Callable[..., str]) -> None:
    port = free_port()
    assert served(make_host(), port=port) == f"http://127.0.0.1:{port}"
