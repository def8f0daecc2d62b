"""Bad input found by fuzzing the OpenAPI document, each a 400 in OpenAI's envelope (never a 500,
never a stored response that cannot be rendered), and the near misses that must still be accepted."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from hosting.core import Host
from hosting.testing import EchoAgent, ScriptedAgent

ALICE = {"authorization": "Bearer key-alice", "content-type": "application/json"}


@pytest.fixture
def http(make_host: Callable[..., Host], served: Callable[..., str]) -> Iterator[httpx.Client]:
    url = served(make_host(EchoAgent()))
    with httpx.Client(base_url=f"{url}/v1", headers=ALICE, timeout=20) as client:
        yield client


def refused(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    return dict(error)


# A list or an object where a closed set of strings is expected: hashing it for the set lookup
# raised TypeError, a 500.
UNHASHABLE = [
    ("/responses", {"input": [{"role": ["user"], "content": "x"}]}, "input[0].role"),
    ("/responses", {"input": [{"role": {"user": 1}, "content": "x"}]}, "input[0].role"),
    ("/responses", {"input": "x", "service_tier": ["auto"]}, "service_tier"),
    ("/responses", {"input": "x", "truncation": {}}, "truncation"),
    ("/responses", {"input": "x", "reasoning": {"effort": []}}, "reasoning.effort"),
    ("/responses", {"input": "x", "reasoning": {"summary": {}}}, "reasoning.summary"),
    ("/responses", {"input": "x", "text": {"verbosity": ["low"]}}, "text.verbosity"),
    (
        "/responses",
        {
            "input": [
                {"role": "user", "content": [{"type": "input_image", "image_url": "u", "detail": ["x"]}]}
            ]
        },
        "input[0].content[0].detail",
    ),
    ("/conversations", {"items": [{"role": ["user"], "content": "x"}]}, "items[0].role"),
]


@pytest.mark.parametrize(("path", "body", "param"), UNHASHABLE)
def test_unhashable_values_for_closed_sets_are_400s(
    http: httpx.Client, path: str, body: dict[str, Any], param: str
) -> None:
    assert refused(http.post(path, json=body))["param"] == param


@pytest.mark.parametrize(
    "raw",
    [
        b'{"input": "x", "temperature": NaN}',
        b'{"input": "x", "tools": [{"type": "function", "name": "f", "parameters": {"x": Infinity}}]}',
        b'{"input": "x", "text": {"format": {"type": "json_schema", "name": "n", "schema": {"m": -Infinity}}}}',
        # Numbers too large for a float: read as infinity, they were echoed back as null.
        b'{"input": "x", "tools": [{"type": "function", "name": "f", "parameters": {"x": 1e400}}]}',
        b'{"input": "x", "text": {"format": {"type": "json_schema", "name": "n", "schema": {"m": -1e400}}}}',
        b'{"input": "x", "temperature": 1e400}',
    ],
)
def test_nan_and_infinity_are_not_json(http: httpx.Client, raw: bytes) -> None:
    # Echoed back in the Response (tools, text.format), they would have made it invalid JSON.
    assert refused(http.post("/responses", content=raw))["code"] == "invalid_json"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"input": "x\\ud800"}',
        b'{"input": "x\\udc00y"}',
        b'{"input": "x", "metadata": {"k\\udbff": "v"}}',
        b'{"input": "\\ude00\\ud83d"}',  # halves in the wrong order are two lone ones
    ],
)
def test_lone_surrogate_escapes_are_refused_before_anything_runs(
    make_host: Callable[..., Host], served: Callable[..., str], raw: bytes
) -> None:
    agent = ScriptedAgent(["ran"], name="echo")
    url = served(make_host(agent))
    with httpx.Client(base_url=f"{url}/v1", headers=ALICE, timeout=20) as http:
        assert refused(http.post("/responses", content=raw))["code"] == "invalid_json"
        assert refused(http.post("/conversations", content=raw.replace(b'"input"', b'"metadata": {}, "x"')))
    # Such a string has no UTF-8 form: had the agent run, its response could not have been stored.
    assert agent.runs == []


def test_escaped_surrogate_pairs_are_the_characters_they_encode(http: httpx.Client) -> None:
    # json.dumps (and so many clients) escapes characters outside the BMP as surrogate pairs.
    answer = http.post(
        "/responses", content=b'{"input": "smile \\ud83d\\ude00", "metadata": {"e": "\\ud83d\\ude00"}}'
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["output"][0]["content"][0]["text"] == "smile \U0001f600"
    assert body["metadata"] == {"e": "\U0001f600"}
    literal = http.post("/responses", json={"input": "a backslash then u: \\ud800"})  # not an escape
    assert literal.status_code == 200
    assert literal.json()["output"][0]["content"][0]["text"] == "a backslash then u: \\ud800"


def test_integral_numbers_are_integers_as_json_schema_says(http: httpx.Client) -> None:
    answer = http.post("/responses", json={"input": "x", "top_logprobs": 20.0, "max_output_tokens": 64.0})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["top_logprobs"], answer.json()["max_output_tokens"]) == (20, 64)
    assert (
        refused(http.post("/responses", json={"input": "x", "top_logprobs": 2.5}))["param"] == "top_logprobs"
    )


def test_a_message_without_a_type_or_with_a_null_one_is_a_message(http: httpx.Client) -> None:
    for item in ({"role": "user", "content": "hi"}, {"type": None, "role": "user", "content": "hi"}):
        answer = http.post("/responses", json={"input": [item]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["output"][0]["content"][0]["text"] == "hi"


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "PURGE"])
def test_any_method_a_route_does_not_serve_is_a_405_in_the_envelope(http: httpx.Client, method: str) -> None:
    # Starlette answered methods outside its own list with plain text. (Tokens the HTTP parser does
    # not know are refused by uvicorn itself, before any app.)
    for path in ("/responses", "/responses/resp_1", "/conversations/conv_1/items"):
        answer = http.request(method, path)
        assert answer.status_code == 405, (method, path, answer.text)
        assert answer.json()["error"]["code"] == "method_not_allowed"
        assert "TRACE" not in answer.headers["allow"] and method not in answer.headers["allow"]


@pytest.mark.parametrize("path", ["/responses/{id}/input_items", "/conversations/{conv}/items"])
@pytest.mark.parametrize(
    ("query", "param"), [("order=", "order"), ("limit=", "limit"), ("order=up", "order")]
)
def test_empty_or_unknown_list_parameters_are_400s(
    http: httpx.Client, path: str, query: str, param: str
) -> None:
    # The document declares an enum and an integer: an empty value is neither.
    created = http.post("/responses", json={"input": "x"}).json()
    conversation = http.post("/conversations", json={}).json()
    url = path.format(id=created["id"], conv=conversation["id"])
    assert refused(http.get(f"{url}?{query}"))["param"] == param
    assert http.get(url).status_code == 200  # nothing changed: the same list answers without it


@pytest.mark.parametrize("depth", [100, 100_000])
def test_a_body_nested_too_deep_is_refused_naming_the_depth_limit(http: httpx.Client, depth: int) -> None:
    # Valid JSON, only too deep: the message says so, whether the parser or the check found it.
    raw = b'{"input": "x", "metadata": ' + b"[" * depth + b"]" * depth + b"}"
    error = refused(http.post("/responses", content=raw))
    assert error["code"] == "invalid_json"
    assert "nested deeper than" in error["message"]
