"""Stream replays of stored responses that were not streamed (their events rebuilt, not stored)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hosting.core import (
    ApiKeyAuthenticator,
    ErrorUpdate,
    FunctionCall,
    Host,
    MemoryStore,
    ReasoningDelta,
    SQLiteStore,
    Usage,
)
from hosting.core.stores import Store
from hosting.responses import ResponsesChannel
from hosting.testing import (
    Delay,
    Fail,
    InProcessHTTPClient,
    ScriptedAgent,
    Step,
    parse_event_stream,
    strict_response,
)

AUTH = {"authorization": "Bearer key-alice"}
OPENING = ["response.created", "response.in_progress"]
MESSAGE = [
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
]
CALL = [
    "response.output_item.added",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.output_item.done",
]
REASONING = [
    "response.output_item.added",
    "response.reasoning_summary_part.added",
    "response.reasoning_summary_text.delta",
    "response.reasoning_summary_text.done",
    "response.reasoning_summary_part.done",
    "response.output_item.done",
]

# name: (script, host options, HTTP status of the create call, final status, wire event types)
CASES: dict[str, tuple[list[Step], dict[str, Any], int, str, list[str]]] = {
    "text": (
        ["Hello", ", world", Usage(input_tokens=3, output_tokens=2)],
        {},
        200,
        "completed",
        [*OPENING, *MESSAGE, "response.completed"],
    ),
    "function_call": (
        [FunctionCall("call_1", "clock", '{"tz":"UTC"}'), Usage(input_tokens=4, output_tokens=1)],
        {},
        200,
        "completed",
        [*OPENING, *CALL, "response.completed"],
    ),
    "reasoning": (
        [ReasoningDelta("thinking "), ReasoningDelta("it over"), "the answer"],
        {},
        200,
        "completed",
        [*OPENING, *REASONING, *MESSAGE, "response.completed"],
    ),
    "failed_agent": (
        # The class, not an instance: an instance kept here would hold its last traceback, and with
        # it the frames of the run it ended, for the whole test session.
        ["partial", Fail(RuntimeError)],
        {},
        500,
        "failed",
        [*OPENING, *MESSAGE, "response.failed"],
    ),
    "failed_report": (
        ["partial", ErrorUpdate("The upstream refused.", code="upstream_refused")],
        {},
        500,
        "failed",
        [*OPENING, *MESSAGE, "response.failed"],
    ),
    "incomplete": (
        ["begun", Delay(30)],
        {"run_timeout": 0.1},
        200,
        "incomplete",
        [*OPENING, *MESSAGE, "response.incomplete"],
    ),
}


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path)


@contextlib.contextmanager
def client_for(host: Host) -> Iterator[InProcessHTTPClient]:
    client = InProcessHTTPClient(host)
    client.headers.update(AUTH)
    try:
        yield client
    finally:
        client.close()


def make_host(agent: ScriptedAgent, store: Store, **options: Any) -> Host:
    authenticator = ApiKeyAuthenticator({"key-alice": "alice"})
    return Host(agent, channels=[ResponsesChannel()], store=store, authenticator=authenticator, **options)


def log_rows(store: Store, response_id: str) -> int | None:
    """How many `run_log_chunks` rows a response has in a SQLite store (None for another store)."""
    if not isinstance(store, SQLiteStore):
        return None
    with sqlite3.connect(store.path) as connection:
        (count,) = connection.execute(
            "SELECT COUNT(*) FROM run_log_chunks WHERE response_id = ?", (response_id,)
        ).fetchone()
    return int(count)


def replay(http: InProcessHTTPClient, response_id: str, **params: str) -> list[dict[str, Any]]:
    answer = http.get(f"/v1/responses/{response_id}", params={"stream": "true", **params})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/event-stream")
    return parse_event_stream(answer.text)  # framing, numbering, one terminal event, strict SDK types


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_response_that_was_not_streamed_replays_as_a_complete_stream(case: str, store: Store) -> None:
    script, options, http_status, status, types = CASES[case]
    agent = ScriptedAgent(script)
    with client_for(make_host(agent, store, **options)) as http:
        created = http.post("/v1/responses", json={"model": "scripted", "input": "x"})
        assert created.status_code == http_status, created.text
        response_id = agent.runs[-1].response_id  # a failed create does not tell it; the agent saw it
        stored = http.get(f"/v1/responses/{response_id}")
        assert stored.status_code == 200
        body = stored.json()
        strict_response(body)
        assert body["status"] == status
        if http_status == 200:
            assert created.json() == body
        assert log_rows(store, response_id) in (None, 0)  # nothing was logged: the replay is rebuilt

        events = replay(http, response_id)
        assert [event["type"] for event in events] == types
        assert [event["sequence_number"] for event in events] == list(range(len(events)))
        assert events[0]["response"]["id"] == response_id
        assert events[-1]["response"] == body
        # Each item's text (or arguments) comes whole, in one delta, and adds up to the stored item.
        deltas = [event["delta"] for event in events if event["type"].endswith(".delta")]
        done = [event["item"] for event in events if event["type"] == "response.output_item.done"]
        assert done == body["output"]
        assert len(deltas) == len(body["output"])
        # Rebuilt the same every time: a resume after any number continues exactly.
        assert replay(http, response_id) == events
        for after in (0, 3, len(events) - 2):
            assert replay(http, response_id, starting_after=str(after)) == events[after + 1 :]


def test_the_rebuilt_stream_carries_the_whole_text_usage_and_error(store: Store) -> None:
    texts = ScriptedAgent(
        turns=[
            ["Hello", ", ", "world", Usage(input_tokens=3, output_tokens=2)],
            ["partial", ErrorUpdate("The upstream refused.", code="upstream_refused")],
        ]
    )
    with client_for(make_host(texts, store)) as http:
        assert http.post("/v1/responses", json={"model": "scripted", "input": "x"}).status_code == 200
        ok = replay(http, texts.runs[-1].response_id)
        assert [event["delta"] for event in ok if event["type"] == "response.output_text.delta"] == [
            "Hello, world"
        ]
        final = ok[-1]["response"]
        assert final["output"][0]["content"][0]["text"] == "Hello, world"
        assert (final["usage"]["input_tokens"], final["usage"]["output_tokens"]) == (3, 2)
        assert http.post("/v1/responses", json={"model": "scripted", "input": "y"}).status_code == 500
        failed_id = texts.runs[-1].response_id
        failed = replay(http, failed_id)[-1]["response"]
        assert failed["status"] == "failed"
        assert failed["error"]["message"] == "The upstream refused."
        assert failed["error"] == http.get(f"/v1/responses/{failed_id}").json()["error"]
        assert failed["output"][0]["content"][0]["text"] == "partial"


def test_a_streamed_response_still_replays_its_own_log(store: Store) -> None:
    agent = ScriptedAgent(["one ", "two ", "three"])
    with client_for(make_host(agent, store)) as http:
        streamed = http.post("/v1/responses", json={"model": "scripted", "input": "x", "stream": True})
        original = parse_event_stream(streamed.text)
        response_id = original[0]["response"]["id"]
        rows = log_rows(store, response_id)
        assert rows is None or rows >= 1  # written as it went, in one chunk or more
        events = replay(http, response_id)
        assert events == original
        deltas = [event["delta"] for event in events if event["type"] == "response.output_text.delta"]
        assert deltas == ["one ", "two ", "three"]  # as streamed, not rebuilt whole


def test_replays_of_unknown_or_unstored_responses_are_404s(store: Store) -> None:
    agent = ScriptedAgent(["hi"])
    with client_for(make_host(agent, store)) as http:
        unstored = http.post("/v1/responses", json={"model": "scripted", "input": "x", "store": False})
        assert unstored.status_code == 200
        for response_id in (unstored.json()["id"], "resp_unknown"):
            answer = http.get(f"/v1/responses/{response_id}", params={"stream": "true"})
            assert answer.status_code == 404
            assert answer.json()["error"]["message"] == f"Response with id '{response_id}' not found."
        stored = http.post("/v1/responses", json={"model": "scripted", "input": "x"}).json()
        bad = http.get(f"/v1/responses/{stored['id']}", params={"stream": "true", "starting_after": "x"})
        assert bad.status_code == 400
        assert bad.json()["error"]["param"] == "starting_after"
