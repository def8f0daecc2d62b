"""The official openai SDK (sync) against the Responses channel behind a real uvicorn on loopback.

Every object and event the SDK receives is also validated strictly against its own types.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai
import pytest
from openai import OpenAI

from hosting.core import FunctionCall, FunctionResult, Host, Limits, ReasoningDelta, Usage
from hosting.testing import Fail, ScriptedAgent, strict_item, strict_response, strict_stream_event

Sdk = Callable[..., OpenAI]
MakeHost = Callable[..., Host]


def test_create_with_a_string_and_with_items(sdk: Sdk, make_host: MakeHost) -> None:
    client = sdk(make_host())
    response = client.responses.create(model="echo", input="hello world")
    strict_response(response.to_dict())
    assert response.status == "completed"
    assert response.output_text == "hello world"
    assert response.model == "echo"
    listed = client.responses.create(
        model="echo",
        input=[
            {"role": "user", "content": "first"},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "second"}]},
        ],
    )
    assert listed.output_text == "first\nsecond"


def test_instructions_and_options_reach_the_agent(sdk: Sdk, make_host: MakeHost) -> None:
    agent = ScriptedAgent(["ok"])
    client = sdk(make_host(agent))
    response = client.responses.create(
        model="scripted",
        input="hi",
        instructions="answer in French",
        temperature=0.3,
        max_output_tokens=50,
        metadata={"ticket": "42"},
    )
    run = agent.last_run
    assert run.instructions == "answer in French"
    assert run.options["temperature"] == 0.3
    assert run.options["max_output_tokens"] == 50
    assert run.metadata == {"ticket": "42"}
    assert response.instructions == "answer in French"
    assert response.temperature == 0.3
    assert response.metadata == {"ticket": "42"}


def test_the_stream_helper_and_get_final_response(sdk: Sdk, make_host: MakeHost) -> None:
    agent = ScriptedAgent([ReasoningDelta("let me see"), "The answer", " is 42.", Usage(5, 7)])
    client = sdk(make_host(agent))
    with client.responses.stream(model="scripted", input="question") as stream:
        events = list(stream)
        final = stream.get_final_response()
    # The helper's events carry its own fields (snapshots, parsed output): the raw stream is
    # validated strictly in `test_raw_stream_iteration`.
    kinds = [event.type for event in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert "response.reasoning_summary_text.delta" in kinds
    assert [event.sequence_number for event in events] == list(range(len(events)))
    text = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    assert text == final.output_text == "The answer is 42."
    assert final.usage is not None and final.usage.total_tokens == 12
    stored = client.responses.retrieve(final.id)
    strict_response(stored.to_dict())
    assert (stored.status, stored.output_text, stored.usage) == (final.status, final.output_text, final.usage)
    assert [item.to_dict().get("id") for item in stored.output] == [
        item.to_dict().get("id") for item in final.output
    ]


def test_raw_stream_iteration(sdk: Sdk, make_host: MakeHost) -> None:
    client = sdk(make_host())
    events = list(client.responses.create(model="echo", input="raw stream of words", stream=True))
    for event in events:
        strict_stream_event(event.to_dict())
    assert events[0].type == "response.created"
    assert events[-1].type == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "raw stream of words"


def test_function_call_round_trip(sdk: Sdk, make_host: MakeHost) -> None:
    def second_turn(context: Any) -> str:
        (result,) = [item for item in context.input if isinstance(item, FunctionResult)]
        return f"It is {result.output}."

    agent = ScriptedAgent(turns=[[FunctionCall("call_1", "clock", '{"tz":"UTC"}')], [second_turn]])
    client = sdk(make_host(agent))
    tools: Any = [{"type": "function", "name": "clock", "parameters": {"type": "object", "properties": {}}}]
    first = client.responses.create(model="scripted", input="What time is it?", tools=tools)
    (call,) = first.output
    assert call.type == "function_call"
    assert (call.name, call.arguments, call.call_id) == ("clock", '{"tz":"UTC"}', "call_1")
    assert agent.last_run.tools[0].name == "clock"
    second = client.responses.create(
        model="scripted",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "12:00"}],
        tools=tools,
    )
    assert second.output_text == "It is 12:00."
    history = agent.last_run.history
    assert any(isinstance(item, FunctionCall) and item.call_id == "call_1" for item in history)


def test_retrieve_delete_and_paginated_input_items(sdk: Sdk, make_host: MakeHost) -> None:
    client = sdk(make_host())
    response = client.responses.create(
        model="echo", input=[{"role": "user", "content": f"m{n}"} for n in range(7)]
    )
    assert client.responses.retrieve(response.id).output_text == response.output_text
    page = client.responses.input_items.list(response.id, limit=3, order="asc")
    assert len(page.data) == 3 and page.has_more is True
    every = list(client.responses.input_items.list(response.id, limit=3, order="asc"))
    for item in every:
        strict_item(item.to_dict())
    contents: list[Any] = [item.to_dict()["content"] for item in every]
    assert [content[0]["text"] for content in contents] == [f"m{n}" for n in range(7)]
    newest_first = list(client.responses.input_items.list(response.id))
    assert [item.id for item in newest_first] == [item.id for item in reversed(every)]
    client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(response.id)


def test_a_three_turn_chain_and_a_branch(sdk: Sdk, make_host: MakeHost) -> None:
    client = sdk(make_host())
    one = client.responses.create(model="echo", input="one")
    two = client.responses.create(model="echo", input="two", previous_response_id=one.id)
    three = client.responses.create(model="echo", input="three", previous_response_id=two.id)
    branch = client.responses.create(model="echo", input="branch", previous_response_id=one.id)
    assert three.output_text == "one\ntwo\nthree"
    assert branch.output_text == "one\nbranch"
    assert three.previous_response_id == two.id
    after_branch = client.responses.create(model="echo", input="four", previous_response_id=three.id)
    assert after_branch.output_text == "one\ntwo\nthree\nfour"


def test_models_list(sdk: Sdk, make_host: MakeHost) -> None:
    client = sdk(make_host({"echo": ScriptedAgent(["e"]), "helper": ScriptedAgent(["h"])}))
    assert [model.id for model in client.models.list()] == ["echo", "helper"]
    assert client.models.retrieve("helper").id == "helper"
    assert client.responses.create(model="helper", input="x").output_text == "h"


def test_errors_surface_as_the_sdks_typed_exceptions(sdk: Sdk, make_host: MakeHost) -> None:
    client = sdk(make_host(limits=Limits(max_body_bytes=4096)))
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.create(model="echo", input=42)  # type: ignore[call-overload]
    assert bad.value.param == "input"
    with pytest.raises(openai.BadRequestError) as missing:
        client.responses.create(model="echo")
    assert missing.value.param == "input"
    with pytest.raises(openai.BadRequestError) as both:
        client.responses.create(model="echo", input="x", conversation="conv_1", previous_response_id="resp_1")
    assert both.value.param == "previous_response_id"
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="echo", input="x", stream=True, temperature=9)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve("resp_does_not_exist")
    with pytest.raises(openai.NotFoundError):
        client.responses.input_items.list("resp_does_not_exist")
    with pytest.raises(openai.APIStatusError) as too_large:
        client.responses.create(model="echo", input="x" * 10_000)
    assert too_large.value.status_code == 413
    with pytest.raises(openai.APIStatusError) as wrong_method:
        client.get("/responses", cast_to=object)
    assert wrong_method.value.status_code == 405
    intruder = sdk(make_host(), api_key="nope")
    with pytest.raises(openai.AuthenticationError):
        intruder.models.list()


def test_another_users_response_is_not_found(sdk: Sdk, make_host: MakeHost) -> None:
    host = make_host()
    alice = sdk(host)
    response = alice.responses.create(model="echo", input="private")
    url = str(alice.base_url)
    with OpenAI(base_url=url, api_key="key-bob", max_retries=0) as bob:
        with pytest.raises(openai.NotFoundError):
            bob.responses.retrieve(response.id)
        with pytest.raises(openai.NotFoundError):
            bob.responses.create(model="echo", input="x", previous_response_id=response.id)
    with pytest.raises(openai.NotFoundError):
        alice.responses.retrieve(alice.responses.create(model="echo", input="x", store=False).id)


def test_an_agent_failure_is_a_500_the_sdk_does_not_retry(sdk: Sdk, make_host: MakeHost) -> None:
    agent = ScriptedAgent(["partial", Fail(RuntimeError("database password is hunter2"))])
    client = sdk(make_host(agent), max_retries=3)
    with pytest.raises(openai.InternalServerError) as failure:
        client.responses.create(model="scripted", input="x")
    assert "hunter2" not in str(failure.value)
    assert len(agent.runs) == 1
    with client.responses.stream(model="scripted", input="x") as stream:
        events = list(stream)
    assert events[-1].type == "response.failed"
    assert events[-1].response.error is not None
    assert "hunter2" not in events[-1].response.error.message
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "partial"
