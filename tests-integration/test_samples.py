"""Every sample, run as a user would: over a real socket, driven by the official openai SDK.

The default sample runs as a separate process (``make serve`` does the same), with
no API key (offline) and with one pointed at a fake upstream model (online).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import httpx
import openai
import pytest
from openai import OpenAI

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
if str(SAMPLES) not in sys.path:
    sys.path.insert(0, str(SAMPLES))

import client as client_sample  # noqa: E402
import default_agent  # noqa: E402
import echo  # noqa: E402
import mounted  # noqa: E402
import multi_agent  # noqa: E402
import sample_server  # noqa: E402
from hosting.core import MemoryStore  # noqa: E402
from hosting.testing import FakeOpenAI, UpstreamToolCall, serve  # noqa: E402


def _base_url(banner: str) -> str:
    """The ``base_url:`` the banner gives."""
    return next(line.split()[1] for line in banner.splitlines() if line.strip().startswith("base_url:"))


def _environment(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("OPENAI_")}
    env.update(extra)
    return env


def _snippet(banner: str) -> str:
    """The client snippet of a banner, as runnable Python."""
    body = banner.split("(pip install openai):\n\n", 1)[1].split("\nor run:", 1)[0]
    return textwrap.dedent(body)


# -- the default agent, as `make serve` runs it ----------------------------------------------------


def test_default_agent_offline_streams_calls_a_tool_and_remembers(
    tmp_path: Path, sample_process: Callable[..., contextlib.AbstractContextManager[str]]
) -> None:
    env = _environment(HOSTING_DATA_DIR=str(tmp_path / "data"))
    stack = contextlib.ExitStack()
    with stack, sample_process("default_agent.py", env=env, cwd=tmp_path) as banner:
        base_url = _base_url(banner)
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/v1")
        assert "mode:     offline" in banner
        root = base_url.removesuffix("/v1")
        # Every channel that needs no outside account is served, and the banner says where.
        for line in (f"web chat: {root}/", f"a2a:      {root}/a2a", f"mcp:      {root}/mcp"):
            assert line in banner
        assert "telegram" not in banner  # no TELEGRAM_BOT_TOKEN: no Telegram
        with httpx.Client(base_url=root, timeout=10) as http:
            page = http.get("/")
            assert page.status_code == 200 and "text/html" in page.headers["content-type"]
            card = http.get("/.well-known/agent-card.json").json()
            assert card["name"] == "assistant"
            initialize = http.post(
                "/mcp",
                json={
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {
                        "protocolVersion": "2025-06-18",
                        "capabilities": {},
                        "clientInfo": {"name": "t", "version": "1"},
                    },
                },
                headers={"accept": "application/json, text/event-stream"},
            )
            assert initialize.status_code == 200
        client = stack.enter_context(OpenAI(base_url=base_url, api_key="local", max_retries=0))

        deltas: list[str] = []
        with client.responses.stream(model="assistant", input="What is 17 * 23?") as stream:
            for event in stream:
                if event.type == "response.output_text.delta":
                    deltas.append(event.delta)
            first = stream.get_final_response()
        assert len(deltas) > 1  # streamed, not sent whole
        # The calculator ran on the server: one mcp_call item with its result, never a call the
        # client would have to run.
        assert [item.type for item in first.output] == ["mcp_call", "message"]
        step = first.output[0]
        assert step.type == "mcp_call"
        assert (step.name, step.output, step.error) == ("calculator", "391", None)
        assert first.output_text == "17 * 23 = 391"

        second = client.responses.create(
            model="assistant", input="My name is Ada.", previous_response_id=first.id
        )
        third = client.responses.create(
            model="assistant", input="What is my name?", previous_response_id=second.id
        )
        assert third.output_text == "Your name is Ada."

        # The banner's snippet is real code: run it against the server.
        printed = io.StringIO()
        namespace: dict[str, object] = {}
        with contextlib.redirect_stdout(printed):
            exec(compile(_snippet(banner), "<banner>", "exec"), namespace)
        snippet_client = namespace["client"]
        assert isinstance(snippet_client, OpenAI)
        snippet_client.close()
        assert printed.getvalue().splitlines() == ["17 * 23 = 391", "Your name is Ada."]

    # The embedded SQLite store kept everything: a restarted server still knows the conversation.
    with (
        sample_process("default_agent.py", env=env, cwd=tmp_path) as banner,
        OpenAI(base_url=_base_url(banner), api_key="local", max_retries=0) as client,
    ):
        assert client.responses.retrieve(third.id).output_text == "Your name is Ada."
        again = client.responses.create(model="assistant", input="Who am I?", previous_response_id=third.id)
        assert again.output_text == "Your name is Ada."


def test_default_agent_online_uses_the_configured_model(
    tmp_path: Path,
    fake_openai: Callable[..., FakeOpenAI],
    sample_process: Callable[..., contextlib.AbstractContextManager[str]],
) -> None:
    fake = fake_openai(
        [UpstreamToolCall("calculator", {"expression": "6 * 7"}), "6 * 7 = 42, says the model."]
    )
    env = _environment(
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=fake.base_url,
        OPENAI_MODEL="tiny-model",
        HOSTING_DATA_DIR=str(tmp_path / "data"),
    )
    with sample_process("default_agent.py", env=env, cwd=tmp_path) as banner:
        base_url = _base_url(banner)
        assert f"mode:     online: model tiny-model at {fake.base_url}" in banner
        with OpenAI(base_url=base_url, api_key="local", max_retries=0) as client:
            response = client.responses.create(model="assistant", input="What is 6 * 7?")
    assert [item.type for item in response.output] == ["mcp_call", "message"]
    assert response.output_text == "6 * 7 = 42, says the model."
    assert [request.json["model"] for request in fake.model_requests] == ["tiny-model", "tiny-model"]
    assert {request.api_key for request in fake.model_requests} == {"sk-test"}
    assert fake.model_requests[1].messages[-1]["content"] == "42"


# -- the other samples, served in this process -----------------------------------------------------


def test_client_sample_creates_streams_and_continues() -> None:
    host, _, _ = default_agent.build_host({}, store=MemoryStore())
    with serve(host) as base_url:
        finished = subprocess.run(
            [sys.executable, str(SAMPLES / "client.py"), "--base-url", f"{base_url}/v1"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert finished.returncode == 0, finished.stderr
    lines = finished.stdout.splitlines()
    assert lines == [
        "> What is 17 * 23?",
        '  [tool] calculator({"expression": "17 * 23"}) -> 391',
        "17 * 23 = 391",
        "> My name is Ada.",
        "Nice to meet you, Ada! I will remember your name in this conversation.",
        "> What is my name?",
        "Your name is Ada.",
    ]


def test_echo_sample_repeats_the_conversation() -> None:
    with (
        serve(echo.host) as base_url,
        OpenAI(base_url=f"{base_url}/v1", api_key="k", max_retries=0) as client,
    ):
        answers = client_sample.converse(client, "echo")
    assert answers == [
        "What is 17 * 23?",
        "What is 17 * 23?\nMy name is Ada.",
        "What is 17 * 23?\nMy name is Ada.\nWhat is my name?",
    ]


def test_multi_agent_sample_selects_the_agent_by_model() -> None:
    with (
        serve(multi_agent.host) as base_url,
        OpenAI(base_url=f"{base_url}/v1", api_key="k", max_retries=0) as client,
    ):
        names = sorted(model.id for model in client.models.list().data)
        shouted = client.responses.create(model="shout", input="hello there")
        echoed = client.responses.create(model="echo", input="again", previous_response_id=shouted.id)
        calculated = client.responses.create(model="assistant", input="What is 2 + 3?")
        with pytest.raises(openai.BadRequestError) as caught:
            client.responses.create(model="nobody", input="hi")
    assert names == ["assistant", "echo", "shout"]
    assert shouted.output_text == "HELLO THERE"
    assert echoed.output_text == "hello there\nagain"  # another agent continued the same chain
    assert calculated.output_text == "2 + 3 = 5"
    assert caught.value.code == "model_not_found"


def test_mounted_sample_serves_the_host_under_a_prefix() -> None:
    with serve(mounted.app) as base_url:
        index = httpx.get(f"{base_url}/", timeout=10)
        outside = httpx.post(f"{base_url}/v1/responses", json={"model": "echo", "input": "hi"}, timeout=10)
        with OpenAI(base_url=f"{base_url}{mounted.PREFIX}/v1", api_key="k", max_retries=0) as client:
            answers = client_sample.converse(client, "echo")
            retrieved = client.responses.retrieve(client.responses.create(model="echo", input="x").id)
    assert index.json() == {"service": "shop", "agents": "/agents/v1"}
    assert outside.status_code == 404
    assert answers[0] == "What is 17 * 23?"
    assert answers[2].endswith("What is my name?")
    assert retrieved.output_text == "x"


def test_the_default_sample_adds_telegram_and_postgres_only_when_configured() -> None:
    host, _, endpoints = default_agent.build_host({}, store=MemoryStore())
    assert [channel.name for channel in host.channels] == ["responses", "a2a", "mcp", "ui"]
    assert not any(line.startswith("telegram") for line in endpoints)
    environ = {
        "TELEGRAM_BOT_TOKEN": "123:abc",
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9",
        "TELEGRAM_WEBHOOK_SECRET": "s3cret",
    }
    host, _, endpoints = default_agent.build_host(environ, store=MemoryStore())
    assert [channel.name for channel in host.channels][-1] == "telegram"
    (line,) = [line for line in endpoints if line.startswith("telegram")]
    assert "webhook" in line and "/telegram/link-codes" in line
    # HOSTING_DATABASE_URL puts the store on PostgreSQL (nothing connects until the host starts).
    from hosting.postgres import PostgresStore

    host, _, _ = default_agent.build_host({"HOSTING_DATABASE_URL": "postgresql://u:secret@127.0.0.1:9/db"})
    assert isinstance(host.store, PostgresStore)
    location = sample_server.data_location(host)
    assert location is not None and "PostgreSQL" in location and "secret" not in location


def test_the_default_sample_imports_telegram_and_postgres_only_when_configured(tmp_path: Path) -> None:
    # aiogram alone takes seconds to import: a start without Telegram must not pay for it.
    probe = textwrap.dedent(
        """
        import sys
        import default_agent
        default_agent.build_host({})
        print(sorted(name for name in ("aiogram", "psycopg", "hosting.telegram", "hosting.postgres")
                     if name in sys.modules))
        """
    )
    finished = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=SAMPLES,
        env={**os.environ, "PYTHONPATH": str(SAMPLES), "HOSTING_DATA_DIR": str(tmp_path)},
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "[]"
