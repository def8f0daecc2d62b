"""GET /v1/conversations: the caller's conversations, newest first, with titles, paged, isolated."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from hosting.core import ApiKeyAuthenticator, Host, MemoryStore
from hosting.responses import ResponsesChannel
from hosting.testing import EchoAgent, InProcessHTTPClient

ALICE = {"authorization": "Bearer key-alice"}
BOB = {"authorization": "Bearer key-bob"}


@contextlib.contextmanager
def client_for(store: MemoryStore | None = None) -> Iterator[InProcessHTTPClient]:
    host = Host(
        EchoAgent(),
        channels=[ResponsesChannel()],
        store=store or MemoryStore(),
        authenticator=ApiKeyAuthenticator({"key-alice": "alice", "key-bob": "bob"}),
    )
    client = InProcessHTTPClient(host)
    client.headers.update(ALICE)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def http() -> Iterator[InProcessHTTPClient]:
    with client_for() as client:
        yield client


def _create(http: InProcessHTTPClient, **body: Any) -> str:
    answer = http.post("/v1/conversations", json=body)
    assert answer.status_code == 200, answer.text
    conversation_id: str = answer.json()["id"]
    return conversation_id


def _list(http: InProcessHTTPClient, **query: Any) -> dict[str, Any]:
    answer = http.get("/v1/conversations", params=query)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_an_empty_listing_has_the_openai_list_shape(http: InProcessHTTPClient) -> None:
    assert _list(http) == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}


def test_conversations_are_listed_newest_first_with_the_conversation_fields(
    http: InProcessHTTPClient,
) -> None:
    first = _create(http, metadata={"topic": "a"})
    second = _create(http)
    listing = _list(http)
    assert [entry["id"] for entry in listing["data"]] == [second, first]
    assert listing["first_id"] == second
    assert listing["last_id"] == first
    entry = listing["data"][1]
    assert entry["object"] == "conversation"
    assert entry["metadata"] == {"topic": "a"}
    assert isinstance(entry["created_at"], int)
    assert _list(http, order="asc")["data"][0]["id"] == first


def test_the_title_comes_from_the_first_user_message_of_the_conversation(http: InProcessHTTPClient) -> None:
    conversation = _create(http)
    created = http.post(
        "/v1/responses",
        json={"model": "echo", "input": "  What is\nthe   weather like?  ", "conversation": conversation},
    )
    assert created.status_code == 200, created.text
    http.post("/v1/responses", json={"model": "echo", "input": "second", "conversation": conversation})
    assert _list(http)["data"][0]["title"] == "What is the weather like?"


def test_a_title_skips_leading_items_that_are_not_user_messages(http: InProcessHTTPClient) -> None:
    items = [
        {"type": "message", "role": "developer", "content": "Be brief."},
        {"type": "message", "role": "assistant", "content": "Hello."},
        {"type": "message", "role": "user", "content": "Plan a trip"},
    ]
    _create(http, items=items)
    assert _list(http)["data"][0]["title"] == "Plan a trip"


def test_a_long_first_message_is_cut_and_an_empty_conversation_has_no_title(
    http: InProcessHTTPClient,
) -> None:
    _create(http)
    _create(http, items=[{"type": "message", "role": "user", "content": "word " * 60}])
    long_one, empty = _list(http)["data"]
    assert long_one["title"].endswith("…")
    assert len(long_one["title"]) <= 80
    assert long_one["title"].startswith("word word")
    assert empty["title"] is None


def test_a_title_in_metadata_wins_and_renaming_is_a_metadata_update(http: InProcessHTTPClient) -> None:
    conversation = _create(http, items=[{"type": "message", "role": "user", "content": "original"}])
    assert _list(http)["data"][0]["title"] == "original"
    renamed = http.post(f"/v1/conversations/{conversation}", json={"metadata": {"title": "Renamed"}})
    assert renamed.status_code == 200
    assert _list(http)["data"][0]["title"] == "Renamed"
    http.post(f"/v1/conversations/{conversation}", json={"metadata": {"title": "   "}})
    assert _list(http)["data"][0]["title"] == "original"


def test_pages_follow_after_and_limit_without_gaps_or_repeats(http: InProcessHTTPClient) -> None:
    created = [_create(http) for _ in range(5)]
    seen: list[str] = []
    after: str | None = None
    for _ in range(5):  # bounded: 5 conversations, 2 a page
        query: dict[str, Any] = {"limit": 2}
        if after is not None:
            query["after"] = after
        page = _list(http, **query)
        seen += [entry["id"] for entry in page["data"]]
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert seen == list(reversed(created))
    assert _list(http, after="conv_unknown")["data"] == []


def test_each_user_sees_only_their_own_conversations() -> None:
    with client_for() as http:
        mine = _create(http, items=[{"type": "message", "role": "user", "content": "alice's"}])
        http.headers.update(BOB)
        assert _list(http)["data"] == []
        theirs = _create(http)
        assert [entry["id"] for entry in _list(http)["data"]] == [theirs]
        assert _list(http, after=mine)["data"] == []
        http.headers.update(ALICE)
        assert [entry["id"] for entry in _list(http)["data"]] == [mine]


def test_the_listing_needs_the_api_key(http: InProcessHTTPClient) -> None:
    del http.headers["authorization"]
    answer = http.get("/v1/conversations")
    assert answer.status_code == 401
    assert answer.json()["error"]["type"] == "authentication_error"


@pytest.mark.parametrize(
    ("query", "param", "code"),
    [
        ({"limit": "0"}, "limit", "invalid_value"),
        ({"limit": "101"}, "limit", "invalid_value"),
        ({"limit": "many"}, "limit", "invalid_type"),
        ({"order": "sideways"}, "order", "invalid_value"),
    ],
)
def test_bad_queries_are_refused_in_the_openai_envelope_and_change_nothing(
    query: dict[str, str], param: str, code: str
) -> None:
    store = MemoryStore()
    with client_for(store) as http:
        existing = _create(http)
        answer = http.get("/v1/conversations", params=query)
        assert answer.status_code == 400
        error = answer.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert error["param"] == param
        assert error["code"] == code
        assert [entry["id"] for entry in _list(http)["data"]] == [existing]


def test_a_wrong_method_is_a_405_in_the_envelope(http: InProcessHTTPClient) -> None:
    answer = http.delete("/v1/conversations")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, POST"
    assert answer.json()["error"]["code"] == "method_not_allowed"
