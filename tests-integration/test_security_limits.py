"""Every configurable limit, through the Responses channel on a real uvicorn, answered in OpenAI's
envelope with the status the SDK maps to its typed error: body size (413), input items, text length,
JSON depth, metadata size and key count (400s naming their param), concurrent runs per user (429 with
``Retry-After``) and slow bodies (408)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest

from hosting.core import Host, Limits
from hosting.testing import Delay, EchoAgent, ScriptedAgent

LIMITS = Limits(
    max_body_bytes=16 * 1024,
    body_timeout=0.5,
    max_input_items=4,
    max_text_chars=100,
    max_json_depth=8,
    max_metadata_keys=3,
    max_metadata_key_chars=10,
    max_metadata_value_chars=20,
    max_concurrent_runs_per_user=2,
    retry_after_seconds=7,
)
ALICE = {"authorization": "Bearer key-alice"}


def envelope(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-request-id"]
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    return dict(error)


@pytest.fixture
def url(make_host: Callable[..., Host], served: Callable[..., str]) -> str:
    return served(make_host(EchoAgent(), limits=LIMITS))


@pytest.fixture
def http(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{url}/v1", headers=ALICE, timeout=20) as client:
        yield client


@pytest.fixture
def client(url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{url}/v1", api_key="key-alice", max_retries=0, timeout=20) as sdk:
        yield sdk


# -- body size -------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_a_413_declared_or_streamed(
    client: openai.OpenAI, http: httpx.Client
) -> None:
    with pytest.raises(openai.APIStatusError) as declared:
        client.responses.create(model="echo", input="x" * 20_000)
    assert declared.value.status_code == 413
    assert isinstance(declared.value.body, dict) and declared.value.body["code"] == "request_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"input": "'
        for _ in range(40):
            yield b"x" * 1024
        yield b'"}'

    streamed = http.post("/responses", content=chunks(), headers={"content-type": "application/json"})
    assert envelope(streamed, 413)["code"] == "request_too_large"
    for path in ("/conversations", "/responses/resp_1/cancel"):  # every route that takes a body
        assert (
            envelope(http.post(path, content=b"[" + b" " * 17_000 + b"]"), 413)["code"] == "request_too_large"
        )


# -- what the body holds ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"input": [{"role": "user", "content": "x"}] * 5}, "input", "array_above_max_length"),
        ({"input": "x" * 101}, "input", "string_above_max_length"),
        ({"input": [{"role": "user", "content": "x" * 101}]}, "input[0].content", "string_above_max_length"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_text", "text": "x" * 101}]}]},
            "input[0].content[0].text",
            "string_above_max_length",
        ),
        ({"input": "x", "instructions": "x" * 101}, "instructions", "string_above_max_length"),
        ({"input": "x", "metadata": {"a": "1", "b": "2", "c": "3", "d": "4"}}, "metadata", "invalid_value"),
        ({"input": "x", "metadata": {"k" * 11: "v"}}, "metadata", "invalid_value"),
        ({"input": "x", "metadata": {"k": "v" * 21}}, "metadata.k", "invalid_value"),
    ],
)
def test_input_text_and_metadata_over_the_limits_are_400s_naming_the_param(
    client: openai.OpenAI, body: dict[str, Any], param: str, code: str
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model="echo", **body)
    assert refused.value.status_code == 400
    assert refused.value.param == param
    assert refused.value.code == code


def test_at_the_limits_everything_is_accepted(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="echo",
        input=[{"role": "user", "content": "x" * 100}] * 4,
        instructions="i" * 100,
        metadata={"k" * 10: "v" * 20, "b": "2", "c": "3"},
    )
    assert response.status == "completed"
    assert response.metadata == {"k" * 10: "v" * 20, "b": "2", "c": "3"}


def test_conversations_have_the_same_limits(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as too_many_keys:
        client.conversations.create(metadata={"a": "1", "b": "2", "c": "3", "d": "4"})
    assert too_many_keys.value.param == "metadata"
    conversation = client.conversations.create()
    with pytest.raises(openai.BadRequestError) as too_long:
        client.conversations.update(conversation.id, metadata={"k": "v" * 21})
    assert too_long.value.param == "metadata.k"
    with pytest.raises(openai.BadRequestError) as long_text:
        client.conversations.items.create(conversation.id, items=[{"role": "user", "content": "x" * 101}])
    assert long_text.value.param == "items[0].content"
    with pytest.raises(openai.BadRequestError) as too_many_items:
        client.conversations.items.create(conversation.id, items=[{"role": "user", "content": "x"}] * 21)
    assert too_many_items.value.param == "items"
    assert client.conversations.items.list(conversation.id).data == []  # nothing was written


def test_json_nested_deeper_than_the_limit_is_a_400(http: httpx.Client) -> None:
    def nested(depth: int) -> Any:
        value: Any = "x"
        for _ in range(depth):
            value = [value]
        return value

    shallow = {"input": "x", "tools": None, "extra": nested(6)}  # 7 levels: the body and six lists
    assert http.post("/responses", json=shallow).status_code == 200
    deep = {"input": "x", "extra": nested(8)}
    assert envelope(http.post("/responses", json=deep), 400)["code"] == "invalid_json"
    very_deep = b'{"input": "x", "extra": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert envelope(http.post("/responses", content=very_deep), 413)["code"] == "request_too_large"
    assert (
        envelope(http.post("/conversations", json={"metadata": {}, "x": nested(9)}), 400)["code"]
        == "invalid_json"
    )


# -- runs per user ---------------------------------------------------------------------------------


def test_concurrent_runs_per_user_beyond_the_limit_are_429s_with_retry_after(
    make_host: Callable[..., Host], served: Callable[..., str]
) -> None:
    url = served(make_host(ScriptedAgent([Delay(30), "late"], name="waits"), limits=LIMITS))

    def connect(key: str) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=20)

    with connect("key-alice") as alice, connect("key-bob") as bob:
        running = [alice.responses.create(model="waits", input="x", background=True) for _ in range(2)]
        with pytest.raises(openai.RateLimitError) as refused:
            alice.responses.create(model="waits", input="x")
        assert refused.value.status_code == 429
        assert refused.value.response.headers["retry-after"] == "7"
        assert "x-should-retry" not in refused.value.response.headers  # retrying is right here
        assert refused.value.code == "rate_limit_exceeded"
        # The limit is per user: Bob is not held back by Alice's runs.
        bobs = bob.responses.create(model="waits", input="x", background=True)
        assert bobs.status == "queued"
        for response in running:
            assert alice.responses.cancel(response.id).status == "cancelled"
        # Capacity comes back when the runs end.
        again = alice.responses.create(model="waits", input="x", background=True)
        assert again.status == "queued"
        alice.responses.cancel(again.id)
        bob.responses.cancel(bobs.id)


# -- slow bodies -----------------------------------------------------------------------------------


def test_a_body_sent_too_slowly_is_a_408_in_the_envelope(url: str) -> None:
    port = int(url.rsplit(":", 1)[1])
    head = (
        b"POST /v1/responses HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer key-alice\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + b'{"input": "x')
        started = time.monotonic()
        answer = b""
        while time.monotonic() - started < 10:
            data = sock.recv(65536)
            if not data:
                break  # the server closes the connection after a 408
            answer += data
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 408 Request Timeout"
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert b"x-request-id:" in headers.lower()
    error = json.loads(body)["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "request_timeout")
