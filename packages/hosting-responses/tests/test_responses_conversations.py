"""The Conversations API in process: shapes (strict against the SDK's types), paging, errors, isolation."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from openai.types.conversations import Conversation, ConversationDeletedResource, ConversationItemList
from openai.types.conversations.conversation_item import ConversationItem
from pydantic import TypeAdapter

from hosting.core import ApiKeyAuthenticator, Host, Item, MemoryStore
from hosting.core.stores import ConversationRecord
from hosting.responses import ResponsesChannel
from hosting.testing import EchoAgent, InProcessHTTPClient, ScriptedAgent

ALICE = {"authorization": "Bearer key-alice"}
BOB = {"authorization": "Bearer key-bob"}
_ITEM = TypeAdapter(ConversationItem)


class RecordingStore(MemoryStore):
    """Remembers every conversation created through it."""

    def __init__(self) -> None:
        super().__init__()
        self.created: list[str] = []

    async def create_conversation(self, record: ConversationRecord, items: Sequence[Item] = ()) -> None:
        self.created.append(record.id)
        await super().create_conversation(record, items)


def make_host(agent: Any = None) -> Host:
    return Host(
        agent or EchoAgent(),
        channels=[ResponsesChannel()],
        store=MemoryStore(),
        authenticator=ApiKeyAuthenticator({"key-alice": "alice", "key-bob": "bob"}),
    )


@contextlib.contextmanager
def client_for(host: Host) -> Iterator[InProcessHTTPClient]:
    client = InProcessHTTPClient(host)
    client.headers.update(ALICE)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def http() -> Iterator[InProcessHTTPClient]:
    with client_for(make_host()) as client:
        yield client


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    data: dict[str, Any] = response.json()
    return data


def assert_error(response: Any, status: int, *, param: str | None, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    assert error["param"] == param
    if code is not None:
        assert error["code"] == code


def strict_conversation(data: dict[str, Any]) -> Conversation:
    return Conversation.model_validate(data, strict=True)


def strict_items(data: dict[str, Any]) -> list[Any]:
    assert set(data) == {"object", "data", "first_id", "last_id", "has_more"}
    assert data["object"] == "list"
    return [_ITEM.validate_python(item, strict=True) for item in data["data"]]


def new_conversation(http: InProcessHTTPClient, texts: list[str] = [], **body: Any) -> dict[str, Any]:  # noqa: B006
    items = [{"role": "user", "content": text} for text in texts]
    return ok(http.post("/v1/conversations", json={"items": items, **body}))


def item_texts(data: dict[str, Any]) -> list[str]:
    return [part["text"] for item in data["data"] for part in item["content"]]


# -- conversations ---------------------------------------------------------------------------------


def test_create_retrieve_update_delete(http: InProcessHTTPClient) -> None:
    created = new_conversation(http, ["hello"], metadata={"topic": "cats"})
    conversation = strict_conversation(created)
    assert conversation.object == "conversation"
    assert conversation.id.startswith("conv_") and conversation.metadata == {"topic": "cats"}
    assert isinstance(created["created_at"], int)

    assert ok(http.get(f"/v1/conversations/{conversation.id}")) == created
    updated = ok(http.post(f"/v1/conversations/{conversation.id}", json={"metadata": {"topic": "dogs"}}))
    assert strict_conversation(updated).metadata == {"topic": "dogs"}
    assert ok(http.post(f"/v1/conversations/{conversation.id}", json={"metadata": None}))["metadata"] == {}

    deleted = ok(http.delete(f"/v1/conversations/{conversation.id}"))
    assert ConversationDeletedResource.model_validate(deleted, strict=True).deleted is True
    assert deleted == {"id": conversation.id, "object": "conversation.deleted", "deleted": True}
    assert_error(http.get(f"/v1/conversations/{conversation.id}"), 404, param="conversation_id")
    assert_error(http.get(f"/v1/conversations/{conversation.id}/items"), 404, param="conversation_id")
    assert_error(http.delete(f"/v1/conversations/{conversation.id}"), 404, param="conversation_id")


def test_an_empty_body_makes_an_empty_conversation(http: InProcessHTTPClient) -> None:
    created = ok(http.post("/v1/conversations", json={}))
    assert created["metadata"] == {}
    listed = ok(http.get(f"/v1/conversations/{created['id']}/items"))
    assert listed == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}


def test_items_of_every_kind_round_trip(http: InProcessHTTPClient) -> None:
    items = [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "look"}]},
        {"role": "developer", "content": "be brief"},
        {"type": "function_call", "call_id": "call_1", "name": "clock", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "12:00"},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "thinking"}]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "noon"}]},
    ]
    created = ok(http.post("/v1/conversations", json={"items": items}))
    listed = ok(http.get(f"/v1/conversations/{created['id']}/items", params={"order": "asc"}))
    parsed = strict_items(listed)
    assert [item.type for item in parsed] == [
        "message",
        "message",
        "function_call",
        "function_call_output",
        "reasoning",
        "message",
    ]
    assert parsed[0].content[0].text == "look" and parsed[1].role == "developer"
    assert (parsed[2].name, parsed[2].call_id, parsed[3].output) == ("clock", "call_1", "12:00")
    assert parsed[4].summary[0].text == "thinking"
    assert parsed[5].role == "assistant" and parsed[5].content[0].text == "noon"
    ids = [item.id for item in parsed]
    assert len(set(ids)) == 6 and all(ids)
    for item in listed["data"]:
        assert ok(http.get(f"/v1/conversations/{created['id']}/items/{item['id']}")) == item


def test_items_page_with_after_limit_and_order(http: InProcessHTTPClient) -> None:
    created = new_conversation(http, [f"m{n}" for n in range(5)])
    base = f"/v1/conversations/{created['id']}/items"
    newest_first = ok(http.get(base))
    assert item_texts(newest_first) == ["m4", "m3", "m2", "m1", "m0"]  # the default order is desc
    first = ok(http.get(base, params={"order": "asc", "limit": 2}))
    strict_items(first)
    assert item_texts(first) == ["m0", "m1"] and first["has_more"] is True
    assert first["first_id"] == first["data"][0]["id"] and first["last_id"] == first["data"][1]["id"]
    second = ok(http.get(base, params={"order": "asc", "limit": 2, "after": first["last_id"]}))
    assert item_texts(second) == ["m2", "m3"] and second["has_more"] is True
    third = ok(http.get(base, params={"order": "asc", "limit": 2, "after": second["last_id"]}))
    assert item_texts(third) == ["m4"] and third["has_more"] is False
    back = ok(http.get(base, params={"order": "desc", "limit": 3, "after": third["last_id"]}))
    assert item_texts(back) == ["m3", "m2", "m1"] and back["has_more"] is True


def test_appending_and_deleting_items(http: InProcessHTTPClient) -> None:
    created = new_conversation(http, ["first"])
    base = f"/v1/conversations/{created['id']}/items"
    appended = ok(http.post(base, json={"items": [{"role": "user", "content": "second"}]}))
    ConversationItemList.model_validate(appended)
    assert item_texts(appended) == ["second"] and appended["has_more"] is False
    assert appended["first_id"] == appended["last_id"] == appended["data"][0]["id"]
    assert item_texts(ok(http.get(base, params={"order": "asc"}))) == ["first", "second"]

    answer = ok(http.delete(f"{base}/{appended['first_id']}"))
    assert strict_conversation(answer).id == created["id"]  # deleting an item answers the conversation
    assert item_texts(ok(http.get(base, params={"order": "asc"}))) == ["first"]
    assert_error(http.get(f"{base}/{appended['first_id']}"), 404, param="item_id")
    assert_error(http.delete(f"{base}/{appended['first_id']}"), 404, param="item_id")


def test_responses_in_a_conversation_see_and_extend_it(http: InProcessHTTPClient) -> None:
    created = new_conversation(http, ["hello"])
    for conversation in (created["id"], {"id": created["id"]}):
        response = ok(
            http.post("/v1/responses", json={"model": "echo", "input": "again", "conversation": conversation})
        )
        assert response["conversation"] == {"id": created["id"]}
    assert response["output"][0]["content"][0]["text"] == "hello\nagain\nagain"
    listed = ok(http.get(f"/v1/conversations/{created['id']}/items", params={"order": "asc"}))
    assert item_texts(listed) == ["hello", "again", "hello\nagain", "again", "hello\nagain\nagain"]
    assert [item["role"] for item in listed["data"]] == ["user", "user", "assistant", "user", "assistant"]


def test_conversation_with_previous_response_id_is_a_400(http: InProcessHTTPClient) -> None:
    created = new_conversation(http, ["hello"])
    first = ok(http.post("/v1/responses", json={"model": "echo", "input": "x"}))
    response = http.post(
        "/v1/responses",
        json={
            "model": "echo",
            "input": "y",
            "conversation": created["id"],
            "previous_response_id": first["id"],
        },
    )
    assert_error(response, 400, param="previous_response_id")
    assert item_texts(ok(http.get(f"/v1/conversations/{created['id']}/items"))) == ["hello"]


def test_store_false_in_a_conversation_is_a_400_and_writes_nothing(http: InProcessHTTPClient) -> None:
    created = new_conversation(http, ["hello"])
    response = http.post(
        "/v1/responses", json={"model": "echo", "input": "y", "conversation": created["id"], "store": False}
    )
    assert_error(response, 400, param="store")
    assert item_texts(ok(http.get(f"/v1/conversations/{created['id']}/items"))) == ["hello"]


def test_item_references_resolve_against_the_conversation() -> None:
    agent = ScriptedAgent(["ok"])
    with client_for(make_host(agent)) as http:
        created = new_conversation(http, ["remember me"])
        item_id = ok(http.get(f"/v1/conversations/{created['id']}/items"))["first_id"]
        ok(
            http.post(
                "/v1/responses",
                json={
                    "model": "scripted",
                    "input": [{"type": "item_reference", "id": item_id}],
                    "conversation": created["id"],
                },
            )
        )
    assert [item.text for item in agent.last_run.input] == ["remember me"]  # type: ignore[union-attr]


# -- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"items": "hello"}, "items", "invalid_type"),
        ({"items": [{"role": "user", "content": "x"}] * 21}, "items", "array_above_max_length"),
        ({"items": [{"type": "item_reference", "id": "msg_1"}]}, "items[0].type", "invalid_value"),
        ({"items": [{"type": "spaceship"}]}, "items[0].type", "invalid_value"),
        ({"items": [{"role": "robot", "content": "x"}]}, "items[0].role", "invalid_value"),
        ({"items": [42]}, "items[0]", "invalid_type"),
        ({"metadata": "x"}, "metadata", "invalid_type"),
        ({"metadata": {f"k{n}": "v" for n in range(17)}}, "metadata", "invalid_value"),
        ({"metadata": {"k" * 65: "v"}}, "metadata", "invalid_value"),
        ({"metadata": {"k": "v" * 513}}, "metadata.k", "invalid_value"),
        ({"metadata": {"k": 1}}, "metadata.k", "invalid_type"),
    ],
)
def test_bad_creates_are_400s_and_create_nothing(body: dict[str, Any], param: str, code: str) -> None:
    store = RecordingStore()
    host = Host(
        EchoAgent(),
        channels=[ResponsesChannel()],
        store=store,
        authenticator=ApiKeyAuthenticator({"key-alice": "alice"}),
    )
    with client_for(host) as http:
        assert_error(http.post("/v1/conversations", json=body), 400, param=param, code=code)
    assert store.created == []


def test_bad_bodies_and_queries_are_400s_and_change_nothing(http: InProcessHTTPClient) -> None:
    created = new_conversation(http, ["keep"], metadata={"a": "b"})
    base = f"/v1/conversations/{created['id']}"
    assert_error(http.post("/v1/conversations", content=b"{not json"), 400, param=None, code="invalid_json")
    assert_error(http.post("/v1/conversations", json=[1, 2]), 400, param=None, code="invalid_body")
    assert_error(http.post(base, json={}), 400, param="metadata", code="missing_required_parameter")
    assert_error(http.post(base, json={"metadata": {"k": "v" * 513}}), 400, param="metadata.k")
    assert_error(http.post(f"{base}/items", json={}), 400, param="items", code="missing_required_parameter")
    assert_error(http.post(f"{base}/items", json={"items": []}), 400, param="items", code="empty_array")
    too_many = {"items": [{"role": "user", "content": "x"}] * 21}
    assert_error(http.post(f"{base}/items", json=too_many), 400, param="items")
    half_bad = {"items": [{"role": "user", "content": "fine"}, {"role": "user", "content": 5}]}
    assert_error(http.post(f"{base}/items", json=half_bad), 400, param="items[1].content")
    for query in ({"limit": "0"}, {"limit": "101"}, {"limit": "ten"}):
        assert_error(http.get(f"{base}/items", params=query), 400, param="limit")
    assert_error(http.get(f"{base}/items", params={"order": "sideways"}), 400, param="order")
    # Nothing of the above changed what is stored.
    assert ok(http.get(base)) == created
    assert item_texts(ok(http.get(f"{base}/items"))) == ["keep"]


def test_unknown_and_malformed_ids_are_404s(http: InProcessHTTPClient) -> None:
    created = new_conversation(http, ["keep"])
    unknown = "conv_" + "0" * 48
    for path in (
        f"/v1/conversations/{unknown}",
        "/v1/conversations/conv_%3Cscript%3E",
        f"/v1/conversations/{'x' * 200}",
    ):
        assert_error(http.get(path), 404, param="conversation_id", code="not_found")
        assert_error(http.post(path, json={"metadata": {}}), 404, param="conversation_id")
        assert_error(http.delete(path), 404, param="conversation_id")
        assert_error(http.get(f"{path}/items"), 404, param="conversation_id")
        assert_error(
            http.post(f"{path}/items", json={"items": [{"role": "user", "content": "x"}]}),
            404,
            param="conversation_id",
        )
    base = f"/v1/conversations/{created['id']}/items"
    assert_error(http.get(f"{base}/msg_{'0' * 48}"), 404, param="item_id")
    assert_error(http.get(f"{base}/msg%20bad"), 404, param="item_id")
    assert_error(http.delete(f"{base}/msg_{'0' * 48}"), 404, param="item_id")
    response = http.post("/v1/responses", json={"model": "echo", "input": "x", "conversation": unknown})
    assert_error(response, 404, param="conversation")
    assert item_texts(ok(http.get(base))) == ["keep"]


def test_a_wrong_method_is_a_405_in_the_envelope(http: InProcessHTTPClient) -> None:
    created = new_conversation(http)
    response = http.put(f"/v1/conversations/{created['id']}", json={})
    assert_error(response, 405, param=None, code="method_not_allowed")
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST", "DELETE"}
    assert_error(http.delete("/v1/conversations"), 405, param=None)


def test_another_user_gets_404_everywhere(http: InProcessHTTPClient) -> None:
    created = new_conversation(http, ["private"], metadata={"owner": "alice"})
    base = f"/v1/conversations/{created['id']}"
    item_id = ok(http.get(f"{base}/items"))["first_id"]
    attempts = [
        http.get(base, headers=BOB),
        http.post(base, json={"metadata": {"owner": "bob"}}, headers=BOB),
        http.delete(base, headers=BOB),
        http.get(f"{base}/items", headers=BOB),
        http.post(f"{base}/items", json={"items": [{"role": "user", "content": "injected"}]}, headers=BOB),
        http.get(f"{base}/items/{item_id}", headers=BOB),
        http.delete(f"{base}/items/{item_id}", headers=BOB),
        http.post(
            "/v1/responses", json={"model": "echo", "input": "x", "conversation": created["id"]}, headers=BOB
        ),
    ]
    for response in attempts:
        assert response.status_code == 404, response.text
    assert ok(http.get(base)) == created
    assert item_texts(ok(http.get(f"{base}/items"))) == ["private"]
