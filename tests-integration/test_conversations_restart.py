"""A real server process on the default SQLite store: stopped (politely, then killed) and started
again, it still has every completed response, conversation and agent session state."""

from __future__ import annotations

import signal
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import openai
import pytest

from hosting.testing import server_process as running

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


@contextmanager
def server_process(directory: Path, data: Path, *, stop: signal.Signals) -> Iterator[str]:
    """Run ``uvicorn app:host`` on a free loopback port; yield its base URL; stop it with `stop`."""
    with running(directory, env={"HOSTING_DATA_DIR": str(data)}, stop=stop) as server:
        yield server.base_url


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
