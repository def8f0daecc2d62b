"""A real server process on the default SQLite store: stopped (politely, then killed) and started
again, it still has every completed response, conversation and agent session state."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import openai
import pytest

APP = textwrap.dedent(
    """
    from hosting.core import ApiKeyAuthenticator, Host, Message, RunContext
    from hosting.responses import ResponsesChannel


    async def counter(context: RunContext):
        # Session state is the agent's own memory: it only survives a restart if the store keeps it.
        turns = int(context.session_state.get("turns", 0)) + 1
        context.session_state["turns"] = turns
        said = [item.text for item in context.messages if isinstance(item, Message) and item.role == "user"]
        yield f"turn {turns}: " + " | ".join(said)


    # No store given: the host's default, SQLite under HOSTING_DATA_DIR.
    host = Host(counter, channels=[ResponsesChannel()], authenticator=ApiKeyAuthenticator({"key-alice": "alice"}))
    """
)

_LISTENING = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")
_START_TIMEOUT = 30.0


@contextmanager
def server_process(directory: Path, data: Path, *, stop: signal.Signals) -> Iterator[str]:
    """Run ``uvicorn app:host`` on a free loopback port; yield its base URL; stop it with `stop`."""
    env = {**os.environ, "HOSTING_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "uvicorn", "app:host", "--host", "127.0.0.1", "--port", "0"]
    process = subprocess.Popen(
        command, cwd=directory, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        url = None
        while url is None:
            if time.monotonic() > deadline:
                raise AssertionError("the server did not start in time:\n" + "".join(output))
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                if process.poll() is not None:
                    raise AssertionError("the server exited during start-up:\n" + "".join(output)) from None
                continue
            output.append(line)
            match = _LISTENING.search(line)
            url = match.group(1) if match else None
        yield url
    finally:
        if process.poll() is None:
            process.send_signal(stop)
        try:
            process.wait(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            reader.join(timeout=5)
            if process.stdout is not None:
                process.stdout.close()


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="key-alice", max_retries=0, timeout=20)


def test_everything_is_still_there_after_a_restart_and_after_a_kill(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    data = tmp_path / "data"

    with server_process(tmp_path, data, stop=signal.SIGTERM) as url, client(url) as sdk:
        conversation = sdk.conversations.create(
            items=[{"role": "user", "content": "hello"}], metadata={"k": "v"}
        )
        in_conversation = sdk.responses.create(model="counter", input="first", conversation=conversation.id)
        chained = sdk.responses.create(model="counter", input="a chain")
        assert in_conversation.output_text == "turn 1: hello | first"
        assert chained.output_text == "turn 1: a chain"
    assert (data / "hosting.db").is_file()

    # Second life: stopped politely before; this one ends with SIGKILL, no shutdown at all.
    with server_process(tmp_path, data, stop=signal.SIGKILL) as url, client(url) as sdk:
        again = sdk.responses.retrieve(in_conversation.id)
        assert again.status == "completed"
        assert again.output_text == "turn 1: hello | first"
        assert again.conversation is not None and again.conversation.id == conversation.id
        assert sdk.conversations.retrieve(conversation.id).metadata == {"k": "v"}
        items = sdk.conversations.items.list(conversation.id, order="asc")
        assert [item.type for item in items.data] == ["message", "message", "message"]
        # History and session state came back: the agent counts turn 2 and sees every message.
        second = sdk.responses.create(model="counter", input="second", conversation=conversation.id)
        assert second.output_text == "turn 2: hello | first | second"
        continued = sdk.responses.create(model="counter", input="more", previous_response_id=chained.id)
        assert continued.output_text == "turn 2: a chain | more"

    # Third life, after the kill: every turn the killed process completed is there.
    with server_process(tmp_path, data, stop=signal.SIGTERM) as url, client(url) as sdk:
        assert sdk.responses.retrieve(second.id).output_text == "turn 2: hello | first | second"
        assert sdk.responses.retrieve(continued.id).output_text == "turn 2: a chain | more"
        items = sdk.conversations.items.list(conversation.id, order="asc", limit=100)
        assert len(items.data) == 5
        third = sdk.responses.create(model="counter", input="third", conversation=conversation.id)
        assert third.output_text == "turn 3: hello | first | second | third"
        with pytest.raises(openai.NotFoundError):
            sdk.responses.retrieve("resp_" + "0" * 48)
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
