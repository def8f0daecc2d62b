"""Tool steps the agent ran itself reach the official openai SDK as ``mcp_call`` items, never as calls.

A real uvicorn on loopback; every event and response is validated strictly against the SDK's
own types. A client that replays such an item as input (the Agents SDK does) is accepted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from openai import OpenAI
from pydantic import BaseModel

from hosting.core import FunctionCall, Host, ToolStep, Usage
from hosting.core.channels import OutputFormat
from hosting.testing import (
    ScriptedAgent,
    Step,
    check_sequence,
    strict_item,
    strict_response,
    strict_stream_event,
)

Sdk = Callable[..., OpenAI]
MakeHost = Callable[..., Host]

STEPS: list[Step] = [
    ToolStep("calculator", '{"expression": "17 * 23"}', output="391"),
    ToolStep("clock", '{"timezone": "Mars"}', error="unknown time zone: Mars", server_label="tools"),
    "17 * 23 = 391",
    Usage(input_tokens=12, output_tokens=5),
]


def test_a_tool_step_is_an_mcp_call_with_its_outcome_inline(sdk: Sdk, make_host: MakeHost) -> None:
    client = sdk(make_host(ScriptedAgent(STEPS)))
    response = client.responses.create(model="scripted", input="What is 17 * 23?")
    strict_response(response.to_dict())
    step, failed, message = response.output
    assert step.type == "mcp_call" and failed.type == "mcp_call" and message.type == "message"
    assert (step.name, step.arguments, step.output, step.status) == (
        "calculator",
        '{"expression": "17 * 23"}',
        "391",
        "completed",
    )
    assert step.server_label == "agent" and step.error is None and step.id.startswith("tool_step_")
    assert (failed.server_label, failed.status, failed.output) == ("tools", "failed", None)
    assert failed.error is not None and failed.error.to_dict() == {
        "type": "mcp_tool_execution_error",
        "content": [{"type": "text", "text": "unknown time zone: Mars"}],
    }
    assert not [item for item in response.output if item.type in ("function_call", "function_call_output")]
    assert response.output_text == "17 * 23 = 391"
    assert response.usage is not None and response.usage.total_tokens == 17
    stored = client.responses.retrieve(response.id)
    strict_response(stored.to_dict())
    assert stored.to_dict()["output"] == response.to_dict()["output"]


def test_a_tool_step_streams_with_the_mcp_call_events(sdk: Sdk, make_host: MakeHost) -> None:
    client = sdk(make_host(ScriptedAgent(STEPS)))
    stream = client.responses.create(model="scripted", input="x", stream=True)
    events: list[dict[str, Any]] = [event.to_dict() for event in stream]
    for event in events:
        strict_stream_event(event)
    check_sequence(events)
    first = [event["type"] for event in events if event.get("output_index") == 0]
    assert first == [
        "response.output_item.added",
        "response.mcp_call.in_progress",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.mcp_call.completed",
        "response.output_item.done",
    ]
    second = [event["type"] for event in events if event.get("output_index") == 1]
    assert "response.mcp_call.failed" in second and "response.mcp_call.completed" not in second
    added = events[[event["type"] for event in events].index("response.output_item.added")]
    assert added["item"]["type"] == "mcp_call" and added["item"]["status"] == "in_progress"
    assert added["item"]["output"] is None
    deltas = "".join(
        e["delta"]
        for e in events
        if e["type"] == "response.mcp_call_arguments.delta" and e["output_index"] == 0
    )
    assert deltas == '{"expression": "17 * 23"}'
    assert not [e for e in events if e["type"].startswith("response.function_call_arguments")]
    final = events[-1]["response"]
    assert final["usage"]["total_tokens"] == 17
    assert [item["type"] for item in final["output"]] == ["mcp_call", "mcp_call", "message"]
    # Streamed again from the store: the same events, numbers included.
    again = client.responses.retrieve(final["id"], stream=True)
    assert [event.to_dict() for event in again] == events


def test_a_replayed_mcp_call_is_accepted_as_context(sdk: Sdk, make_host: MakeHost) -> None:
    agent = ScriptedAgent(["noted"])
    client = sdk(make_host(agent))
    first = client.responses.create(model="scripted", input="hi")
    replay: Any = [
        {"role": "user", "content": "What is 17 * 23?"},
        {
            "type": "mcp_call",
            "id": "mcp_1",
            "server_label": "agent",
            "name": "calculator",
            "arguments": '{"expression": "17 * 23"}',
            "output": "391",
            "status": "completed",
        },
        {
            "type": "mcp_call",
            "id": "mcp_2",
            "server_label": "tools",
            "name": "clock",
            "arguments": "{}",
            "error": {"type": "mcp_tool_execution_error", "content": [{"type": "text", "text": "broken"}]},
            "status": "failed",
        },
        {"type": "mcp_call", "server_label": "x", "name": "a", "arguments": "{}", "error": "plain text"},
        {"type": "mcp_call", "server_label": "x", "name": "b", "arguments": "{}", "error": {"code": 7}},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "391"}]},
        {"role": "user", "content": "thanks"},
    ]
    second = client.responses.create(model="scripted", input=replay, previous_response_id=first.id)
    assert second.status == "completed"
    steps = [item for item in agent.last_run.input if isinstance(item, ToolStep)]
    assert [(s.name, s.output, s.error, s.server_label) for s in steps] == [
        ("calculator", "391", None, "agent"),
        ("clock", None, "broken", "tools"),
        ("a", None, "plain text", "x"),
        ("b", None, '{"code": 7}', "x"),  # an error object of no known shape: kept as its JSON
    ]
    listed = client.responses.input_items.list(second.id, order="asc")
    for item in listed.data:
        strict_item(item.to_dict())
    kinds = [item.type for item in listed.data]
    assert kinds == ["message", "mcp_call", "mcp_call", "mcp_call", "mcp_call", "message", "message"]
    statuses = [item.to_dict()["status"] for item in listed.data if item.type == "mcp_call"]
    assert statuses == ["completed", "failed", "failed", "failed"]


@pytest.mark.parametrize(
    ("item", "param"),
    [
        ({"type": "mcp_call", "server_label": "agent", "arguments": "{}"}, "input[0].name"),
        ({"type": "mcp_call", "server_label": "agent", "name": "x", "arguments": 1}, "input[0].arguments"),
        ({"type": "mcp_call", "name": "x", "arguments": "{}"}, "input[0].server_label"),
        (
            {"type": "mcp_call", "server_label": "a", "name": "x", "arguments": "{}", "output": 3},
            "input[0].output",
        ),
        (
            {"type": "mcp_call", "server_label": "a", "name": "x", "arguments": "{}", "error": 3},
            "input[0].error",
        ),
        (
            {"type": "mcp_call", "server_label": "a", "name": "x", "arguments": "{}", "error": [1]},
            "input[0].error",
        ),
    ],
)
def test_a_bad_mcp_call_input_is_a_400_and_stores_nothing(
    sdk: Sdk, make_host: MakeHost, item: dict[str, Any], param: str
) -> None:
    agent = ScriptedAgent(["never"])
    client = sdk(make_host(agent))
    url = str(client.base_url).rstrip("/")
    answer = httpx.post(
        f"{url}/responses",
        json={"model": "scripted", "input": [item]},
        headers={"Authorization": "Bearer key-alice"},
        timeout=10,
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert agent.runs == []


def test_a_function_call_stays_a_call_for_the_client(sdk: Sdk, make_host: MakeHost) -> None:
    agent = ScriptedAgent([ToolStep("lookup", "{}", output="x"), FunctionCall("call_1", "clock", "{}")])
    client = sdk(make_host(agent))
    tools: Any = [{"type": "function", "name": "clock", "parameters": {"type": "object", "properties": {}}}]
    response = client.responses.create(model="scripted", input="time?", tools=tools)
    strict_response(response.to_dict())
    assert [item.type for item in response.output] == ["mcp_call", "function_call"]


class Answer(BaseModel):
    city: str
    population: int


def test_the_requested_format_reaches_the_agent_typed_and_parse_reads_the_answer(
    sdk: Sdk, make_host: MakeHost
) -> None:
    agent = ScriptedAgent([json.dumps({"city": "Paris", "population": 2100000})])
    client = sdk(make_host(agent))
    parsed = client.responses.parse(model="scripted", input="Biggest city?", text_format=Answer)
    assert parsed.output_parsed == Answer(city="Paris", population=2100000)
    wanted = agent.last_run.output_format
    assert isinstance(wanted, OutputFormat) and wanted.type == "json_schema"
    assert wanted.name == "Answer" and wanted.strict is True
    assert wanted.schema is not None and set(wanted.schema["properties"]) == {"city", "population"}
    client.responses.create(model="scripted", input="x", text={"format": {"type": "json_object"}})
    assert agent.last_run.output_format == OutputFormat("json_object")
    client.responses.create(model="scripted", input="x", text={"format": {"type": "text"}})
    assert agent.last_run.output_format is None


def test_a_conversation_takes_an_mcp_call_item_and_lists_it(sdk: Sdk, make_host: MakeHost) -> None:
    client = sdk(make_host(ScriptedAgent(["ok"])))
    step: Any = {
        "type": "mcp_call",
        "server_label": "agent",
        "name": "calculator",
        "arguments": "{}",
        "output": "4",
    }
    conversation = client.conversations.create(items=[step])
    failed: Any = {**step, "output": None, "error": "broken"}
    client.conversations.items.create(conversation.id, items=[failed])
    listed = client.conversations.items.list(conversation.id, order="asc")
    for item in listed.data:
        strict_item(item.to_dict())
    rendered: list[dict[str, Any]] = [item.to_dict() for item in listed.data]
    assert [(item["type"], item["status"], item["output"]) for item in rendered] == [
        ("mcp_call", "completed", "4"),
        ("mcp_call", "failed", None),
    ]
    assert all(item["id"].startswith("tool_step_") for item in rendered)
