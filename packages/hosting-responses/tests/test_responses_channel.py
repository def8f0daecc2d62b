"""The channel's endpoints over HTTP, in process: bodies, statuses and error envelopes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from hosting.core import (
    ApiKeyAuthenticator,
    ErrorUpdate,
    FunctionCall,
    Host,
    Limits,
    MemoryStore,
    Message,
    Usage,
)
from hosting.responses import ResponsesChannel
from hosting.testing import (
    EchoAgent,
    Fail,
    InProcessHTTPClient,
    ScriptedAgent,
    parse_event_stream,
    strict_item,
    strict_response,
)

AUTH = {"authorization": "Bearer key-alice"}


def make_host(agent: Any = None, **options: Any) -> Host:
    return Host(
        agent or EchoAgent(),
        channels=[ResponsesChannel()],
        store=MemoryStore(),
        authenticator=ApiKeyAuthenticator({"key-alice": "alice", "key-bob": "bob"}),
        **options,
    )


@contextlib.contextmanager
def client_for(host: Host, *, authenticated: bool = True) -> Iterator[InProcessHTTPClient]:
    # Not `with InProcessHTTPClient(...)`: TestClient's own __enter__ would start a second loop.
    client = InProcessHTTPClient(host)
    if authenticated:
        client.headers.update(AUTH)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def http() -> Iterator[InProcessHTTPClient]:
    with client_for(make_host()) as client:
        yield client


def assert_error(response: Any, status: int, *, param: str | None = None, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    assert error["param"] == param
    if code is not None:
        assert error["code"] == code


def create(http: InProcessHTTPClient, **body: Any) -> dict[str, Any]:
    response = http.post("/v1/responses", json={"model": "echo", **body})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    strict_response(data)
    return data


# -- create ----------------------------------------------------------------------------------------


def test_create_answers_a_complete_response(http: InProcessHTTPClient) -> None:
    data = create(http, input="hello there", metadata={"a": "b"}, instructions="be brief")
    assert data["status"] == "completed"
    assert data["model"] == "echo"
    assert data["metadata"] == {"a": "b"}
    assert data["instructions"] == "be brief"
    (message,) = data["output"]
    assert message["type"] == "message" and message["status"] == "completed" and message["id"]
    assert message["content"][0]["text"] == "hello there"
    assert data["completed_at"] >= data["created_at"]


def test_streaming_is_chosen_by_the_body_even_when_json_is_accepted(http: InProcessHTTPClient) -> None:
    response = http.post(
        "/v1/responses",
        json={"model": "echo", "input": "one two three", "stream": True},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_event_stream(response.text)
    assert events[0]["type"] == "response.created"
    assert events[1]["type"] == "response.in_progress"
    assert events[-1]["type"] == "response.completed"
    deltas = [event["delta"] for event in events if event["type"] == "response.output_text.delta"]
    assert len(deltas) == 3 and "".join(deltas) == "one two three"
    stored = http.get(f"/v1/responses/{events[0]['response']['id']}").json()
    assert stored == events[-1]["response"]


def test_usage_and_function_calls_are_rendered() -> None:
    agent = ScriptedAgent(
        [FunctionCall("call_1", "clock", '{"tz":"UTC"}'), Usage(input_tokens=4, output_tokens=2)]
    )
    with client_for(make_host(agent)) as http:
        body = {
            "input": "time?",
            "tools": [{"type": "function", "name": "clock", "parameters": {"type": "object"}}],
        }
        data = create(http, **body)
    (call,) = data["output"]
    assert (call["type"], call["name"], call["arguments"], call["status"]) == (
        "function_call",
        "clock",
        '{"tz":"UTC"}',
        "completed",
    )
    assert call["call_id"] == "call_1" and call["id"]
    assert data["usage"]["total_tokens"] == 6
    assert data["tools"] == [
        {
            "type": "function",
            "name": "clock",
            "description": None,
            "parameters": {"type": "object"},
            "strict": None,
        }
    ]


def test_bad_json_and_bad_bodies_are_400s(http: InProcessHTTPClient) -> None:
    assert_error(http.post("/v1/responses", content=b"{not json"), 400, code="invalid_json")
    assert_error(http.post("/v1/responses", content=b""), 400, code="invalid_json")
    assert_error(http.post("/v1/responses", json=[1, 2]), 400)
    assert_error(http.post("/v1/responses", json={"model": "echo"}), 400, param="input")
    assert_error(http.post("/v1/responses", json={"input": 12}), 400, param="input")
    assert_error(http.post("/v1/responses", content=b"[" * 200 + b"]" * 200), 400, code="invalid_json")


def test_errors_stay_json_when_streaming_was_asked(http: InProcessHTTPClient) -> None:
    response = http.post("/v1/responses", json={"input": 5, "stream": True})
    assert_error(response, 400, param="input")
    response = http.post(
        "/v1/responses", json={"input": "x", "stream": True, "previous_response_id": "resp_nope"}
    )
    assert_error(response, 404, param="previous_response_id")


def test_mutually_exclusive_fields_are_refused(http: InProcessHTTPClient) -> None:
    body = {"input": "x", "conversation": "conv_1", "previous_response_id": "resp_1"}
    assert_error(http.post("/v1/responses", json=body), 400, param="previous_response_id")


def test_an_oversized_body_is_a_413_in_the_envelope() -> None:
    host = make_host(limits=Limits(max_body_bytes=1024))
    with client_for(host) as http:
        response = http.post("/v1/responses", json={"input": "x" * 2048})
    assert_error(response, 413)


def test_a_wrong_method_is_a_405_in_the_envelope(http: InProcessHTTPClient) -> None:
    response = http.put("/v1/responses", json={})
    assert_error(response, 405)
    assert response.headers["allow"] == "POST"
    assert_error(http.post("/v1/models"), 405)


def test_an_agent_failure_is_a_500_that_must_not_be_retried() -> None:
    agent = ScriptedAgent(["partial", Fail(RuntimeError("secret internals"))])
    with client_for(make_host(agent)) as http:
        response = http.post("/v1/responses", json={"input": "x"})
    assert_error(response, 500, code="server_error")
    assert response.headers["x-should-retry"] == "false"
    assert "secret" not in response.text


def test_a_request_the_agent_finds_invalid_is_a_400_not_a_500() -> None:
    agent = ScriptedAgent(
        [ErrorUpdate("The workflow expects an answer to 'approve'.", code="invalid_request")]
    )
    with client_for(make_host(agent)) as http:
        response = http.post("/v1/responses", json={"input": "x"})
    assert_error(response, 400)
    assert response.json()["error"]["message"] == "The workflow expects an answer to 'approve'."


def test_an_agent_failure_mid_stream_ends_with_response_failed_after_the_partial_output() -> None:
    agent = ScriptedAgent(["partial", Fail(RuntimeError("secret internals"))])
    with client_for(make_host(agent)) as http:
        response = http.post("/v1/responses", json={"input": "x", "stream": True})
    events = parse_event_stream(response.text)
    assert [e["delta"] for e in events if e["type"] == "response.output_text.delta"] == ["partial"]
    assert events[-1]["type"] == "response.failed"
    failed = events[-1]["response"]
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "server_error"
    assert failed["output"][0]["content"][0]["text"] == "partial"
    assert "secret" not in response.text


def test_authentication_failures_use_the_envelope() -> None:
    with client_for(make_host(), authenticated=False) as http:
        assert_error(http.post("/v1/responses", json={"input": "x"}), 401)
        response = http.get("/v1/models", headers={"authorization": "Bearer wrong"})
    assert_error(response, 401, code="invalid_api_key")


# -- retrieve, delete, input items -----------------------------------------------------------------


def test_retrieve_and_delete(http: InProcessHTTPClient) -> None:
    data = create(http, input="keep me")
    response_id = data["id"]
    assert http.get(f"/v1/responses/{response_id}").json() == data
    deleted = http.delete(f"/v1/responses/{response_id}")
    assert deleted.status_code == 200
    assert deleted.json() == {"id": response_id, "object": "response", "deleted": True}
    assert_error(http.get(f"/v1/responses/{response_id}"), 404)
    assert_error(http.delete(f"/v1/responses/{response_id}"), 404)
    assert_error(http.get(f"/v1/responses/{response_id}/input_items"), 404)


def test_unknown_malformed_unstored_and_foreign_ids_are_404s(http: InProcessHTTPClient) -> None:
    assert_error(http.get("/v1/responses/resp_unknown"), 404)
    assert_error(http.get("/v1/responses/not%20an%20id"), 404)
    unstored = create(http, input="forget me", store=False)
    assert unstored["store"] is False
    assert_error(http.get(f"/v1/responses/{unstored['id']}"), 404)
    alices = create(http, input="mine")
    bob = {"authorization": "Bearer key-bob"}
    assert_error(http.get(f"/v1/responses/{alices['id']}", headers=bob), 404)
    assert_error(http.delete(f"/v1/responses/{alices['id']}", headers=bob), 404)
    assert_error(http.get(f"/v1/responses/{alices['id']}/input_items", headers=bob), 404)
    assert http.get(f"/v1/responses/{alices['id']}").status_code == 200


def test_input_items_paginate_with_after_limit_and_order(http: InProcessHTTPClient) -> None:
    data = create(http, input=[{"role": "user", "content": f"m{n}"} for n in range(5)])
    url = f"/v1/responses/{data['id']}/input_items"
    default = http.get(url).json()
    assert default["object"] == "list"
    assert [item["content"][0]["text"] for item in default["data"]] == ["m4", "m3", "m2", "m1", "m0"]
    assert default["has_more"] is False
    for item in default["data"]:
        strict_item(item)
        assert item["id"] and item["status"] == "completed"
    page = http.get(url, params={"limit": 2, "order": "asc"}).json()
    assert [item["content"][0]["text"] for item in page["data"]] == ["m0", "m1"]
    assert page["has_more"] is True
    assert (page["first_id"], page["last_id"]) == (page["data"][0]["id"], page["data"][1]["id"])
    following = http.get(url, params={"limit": 2, "order": "asc", "after": page["last_id"]}).json()
    assert [item["content"][0]["text"] for item in following["data"]] == ["m2", "m3"]
    last = http.get(url, params={"limit": 2, "order": "asc", "after": following["last_id"]}).json()
    assert [item["content"][0]["text"] for item in last["data"]] == ["m4"]
    assert last["has_more"] is False
    assert_error(http.get(url, params={"limit": 0}), 400, param="limit")
    assert_error(http.get(url, params={"limit": 101}), 400, param="limit")
    assert_error(http.get(url, params={"limit": "many"}), 400, param="limit")
    assert_error(http.get(url, params={"order": "up"}), 400, param="order")


# -- previous_response_id, item references, models -------------------------------------------------


def test_a_chain_carries_history_and_branches_do_not_see_each_other(http: InProcessHTTPClient) -> None:
    first = create(http, input="one")
    second = create(http, input="two", previous_response_id=first["id"])
    third = create(http, input="three", previous_response_id=second["id"])
    branch = create(http, input="other", previous_response_id=first["id"])
    assert third["output"][0]["content"][0]["text"] == "one\ntwo\nthree"
    assert branch["output"][0]["content"][0]["text"] == "one\nother"
    assert third["previous_response_id"] == second["id"]


def test_item_references_resolve_against_the_chain() -> None:
    agent = ScriptedAgent(["ok"])
    with client_for(make_host(agent)) as http:
        first = create(http, input="remember this")
        items = http.get(f"/v1/responses/{first['id']}/input_items").json()["data"]
        body = {
            "input": [{"type": "item_reference", "id": items[0]["id"]}, {"role": "user", "content": "again"}],
            "previous_response_id": first["id"],
        }
        create(http, **body)
        assert [m.text for m in agent.last_run.input if isinstance(m, Message)] == ["remember this", "again"]
        missing = {**body, "input": [{"type": "item_reference", "id": "msg_missing"}]}
        assert_error(http.post("/v1/responses", json=missing), 404, param="input[0].id")


def test_item_references_without_an_anchor_resolve_against_any_stored_item_of_the_caller() -> None:
    # A client with `store: true` replays the earlier answer by reference alone (no
    # previous_response_id, no conversation).
    agent = ScriptedAgent(turns=[["first answer"], ["ok"], ["never"]])
    with client_for(make_host(agent)) as http:
        first = create(http, input="remember this")
        question = http.get(f"/v1/responses/{first['id']}/input_items").json()["data"][0]["id"]
        answer = first["output"][0]["id"]
        body = {
            "input": [
                {"type": "item_reference", "id": question},
                {"type": "item_reference", "id": answer},
                {"role": "user", "content": "again"},
            ]
        }
        second = create(http, **body)
        seen = [(m.role, m.text) for m in agent.last_run.input if isinstance(m, Message)]
        assert seen == [("user", "remember this"), ("assistant", "first answer"), ("user", "again")]
        assert second["previous_response_id"] is None
        # Another user's item is none of theirs: not found, and nothing runs or is stored.
        http.headers["authorization"] = "Bearer key-bob"
        runs = len(agent.runs)
        assert_error(http.post("/v1/responses", json=body), 404, param="input[0].id")
        assert len(agent.runs) == runs


def test_models_list_the_hosted_agents_and_model_selects_one() -> None:
    agents = {"first": ScriptedAgent(["from first"]), "second": ScriptedAgent(["from second"])}
    with client_for(make_host(agents)) as http:
        models = http.get("/v1/models").json()
        assert models["object"] == "list"
        assert [(m["id"], m["object"]) for m in models["data"]] == [("first", "model"), ("second", "model")]
        assert http.get("/v1/models/second").json()["id"] == "second"
        assert_error(http.get("/v1/models/third"), 404, param="model", code="model_not_found")
        answer = http.post("/v1/responses", json={"model": "second", "input": "x"}).json()
        assert answer["output"][0]["content"][0]["text"] == "from second"
        assert answer["model"] == "second"
        assert_error(http.post("/v1/responses", json={"model": "third", "input": "x"}), 400, param="model")
