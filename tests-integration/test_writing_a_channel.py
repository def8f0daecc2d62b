"""docs/channels/writing-a-channel.md: its channel, run as the page shows it, as a user would use it."""

from __future__ import annotations

import ast
import json
import re
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from hosting.core import ApiKeyAuthenticator, Host, MemoryStore
from hosting.responses import ResponsesChannel
from hosting.testing import EchoAgent, serve

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "channels" / "writing-a-channel.md"


def _channel_code() -> str:
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S)
    return str(blocks[0])  # the first block is the whole channel


def _guide_module() -> types.ModuleType:
    module = types.ModuleType("writing_a_channel")
    exec(compile(_channel_code(), str(GUIDE), "exec"), module.__dict__)
    return module


def test_the_channel_imports_only_the_public_tiers() -> None:
    tree = ast.parse(_channel_code())
    hosting_modules = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("hosting")
    }
    assert hosting_modules == {"hosting.core", "hosting.core.channels"}
    imported = [
        alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names
    ]
    assert not [name for name in imported if name.startswith("_")]


@pytest.fixture
def base_url() -> Iterator[str]:
    guide = _guide_module()
    host = Host(
        EchoAgent(),
        channels=[ResponsesChannel(), guide.PlainChannel()],
        store=MemoryStore(),
        authenticator=ApiKeyAuthenticator({"sk-alice": "alice", "sk-bob": "bob"}),
    )
    with serve(host) as url:
        yield url


def _post(url: str, body: Any, *, key: str = "sk-alice", stream: bool = False) -> httpx.Response:
    return httpx.post(
        f"{url}/plain/messages" + ("?stream=1" if stream else ""),
        content=body if isinstance(body, bytes) else json.dumps(body).encode(),
        headers={"authorization": f"Bearer {key}"},
        timeout=10,
    )


def test_a_message_is_answered_and_its_conversation_continued(base_url: str) -> None:
    first = _post(base_url, {"text": "hello"})
    assert first.status_code == 200
    answer = first.json()
    assert answer["text"] == "hello" and answer["conversation"].startswith("conv_")
    second = _post(base_url, {"text": "again", "conversation": answer["conversation"]}).json()
    assert second["text"] == "hello\nagain"  # the echo agent repeats every user message it saw
    assert second["conversation"] == answer["conversation"]


def test_a_streamed_answer_comes_as_ndjson_lines(base_url: str) -> None:
    streamed = _post(base_url, {"text": "one two three"}, stream=True)
    assert streamed.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in streamed.text.splitlines()]
    assert "".join(line["delta"] for line in lines[:-1]) == "one two three"
    assert lines[-1]["done"] is True and lines[-1]["status"] == "completed"
    assert lines[-1]["response_id"].startswith("resp_")


def test_the_conversation_is_the_one_the_responses_channel_shows(base_url: str) -> None:
    answer = _post(base_url, {"text": "shared"}).json()
    with openai.OpenAI(base_url=f"{base_url}/v1", api_key="sk-alice", max_retries=0) as client:
        items = client.conversations.items.list(answer["conversation"], order="asc")
    texts = [part.text for item in items.data if item.type == "message" for part in item.content]  # type: ignore[union-attr]
    assert texts == ["shared", "shared"]
    with (
        openai.OpenAI(base_url=f"{base_url}/v1", api_key="sk-bob", max_retries=0) as bob,
        pytest.raises(openai.NotFoundError),
    ):
        bob.conversations.items.list(answer["conversation"])


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        ({"text": ""}, 400),
        ({"text": 5}, 400),
        ({"text": "x", "conversation": 7}, 400),
        ({"text": "x", "conversation": "conv_unknown"}, 404),
    ],
)
def test_bad_input_gets_the_channels_own_error_shape(base_url: str, body: Any, status: int) -> None:
    refused = _post(base_url, body)
    assert refused.status_code == status
    assert set(refused.json()) == {"problem", "status"} and refused.json()["status"] == status


def test_another_users_conversation_is_not_found(base_url: str) -> None:
    answer = _post(base_url, {"text": "mine"}).json()
    refused = _post(base_url, {"text": "peek", "conversation": answer["conversation"]}, key="sk-bob")
    assert refused.status_code == 404 and "problem" in refused.json()


def test_the_hosts_own_refusals_come_in_the_channels_shape(base_url: str) -> None:
    refused = _post(base_url, {"text": "x"}, key="sk-wrong")
    assert refused.status_code == 401
    assert set(refused.json()) == {"problem", "status"}
