"""Tool approval requests of an Agent Framework agent, through the official openai SDK.

A tool with ``approval_mode="always_require"`` ends the response with an
``approve_tool_call`` function call; the caller answers with a
``function_call_output`` on the next request, and the agent resumes: after a
restart too (SQLite store, a second host on the same file).
"""

from __future__ import annotations

import json
from pathlib import Path

import openai
import pytest
from agent_framework import Agent, Content, tool
from openai import OpenAI
from openai.types.responses import (
    Response,
    ResponseFunctionToolCall,
    ResponseInputParam,
)
from openai.types.responses.response_output_item import McpCall

from hosting.agent_framework import TOOL_APPROVAL_FUNCTION, AgentFrameworkAgent, ScriptedChatClient
from hosting.core import Host, MemoryStore, SQLiteStore
from hosting.core.stores import Store
from hosting.responses import ResponsesChannel
from hosting.testing import openai_client, serve

deleted: list[str] = []


@tool(approval_mode="always_require")
def delete_file(path: str) -> str:
    """Delete a file (only with the caller's approval)."""
    deleted.append(path)
    return f"deleted {path}"


@pytest.fixture(autouse=True)
def _no_deletions_yet() -> None:
    deleted.clear()


def delete_replies() -> list[list[Content | str]]:
    return [
        [
            "I will delete it.",
            Content.from_function_call(call_id="call_d1", name="delete_file", arguments='{"path": "/tmp/x"}'),
        ],
        ["Done."],
    ]


def files_host(client: ScriptedChatClient, store: Store | None = None) -> Host:
    agent = Agent(client=client, name="files", tools=[delete_file])
    return Host(AgentFrameworkAgent(agent), channels=[ResponsesChannel()], store=store or MemoryStore())


def approval_call(response: Response) -> ResponseFunctionToolCall:
    assert response.status == "completed"
    last = response.output[-1]
    assert isinstance(last, ResponseFunctionToolCall)
    assert last.name == TOOL_APPROVAL_FUNCTION
    return last


def answer(call: ResponseFunctionToolCall, output: str) -> ResponseInputParam:
    return [{"type": "function_call_output", "call_id": call.call_id, "output": output}]


def create(sdk: OpenAI, *, stream: bool, **request: object) -> Response:
    """One request, streamed (through the SDK's stream helper, which checks every event) or not."""
    if stream:
        with sdk.responses.stream(model="files", **request) as events:  # type: ignore[arg-type]
            return events.get_final_response()
    return sdk.responses.create(model="files", **request)  # type: ignore[call-overload, no-any-return]


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(("decision", "runs"), [('{"approved": true}', True), ("no", False)])
def test_an_approval_is_asked_and_the_answer_decides_whether_the_tool_runs(
    stream: bool, decision: str, runs: bool
) -> None:
    client = ScriptedChatClient(delete_replies())
    host = files_host(client)

    with serve(host) as base_url, OpenAI(base_url=f"{base_url}/v1", api_key="test", max_retries=0) as sdk:
        asked = create(sdk, stream=stream, input="Delete /tmp/x")
        call = approval_call(asked)
        assert [item.type for item in asked.output] == ["message", "function_call"]
        assert asked.output_text == "I will delete it."
        assert json.loads(call.arguments) == {
            "request_id": call.call_id,
            "tool_name": "delete_file",
            "arguments": {"path": "/tmp/x"},
        }
        assert deleted == []

        answered = create(sdk, stream=stream, input=answer(call, decision), previous_response_id=asked.id)

    assert answered.status == "completed"
    assert answered.output_text == "Done."
    # The approved (or rejected) tool ran on the server: one step with its outcome inline.
    assert [item.type for item in answered.output] == ["mcp_call", "message"]
    step = answered.output[0]
    assert isinstance(step, McpCall)
    assert (step.name, json.loads(step.arguments)) == ("delete_file", {"path": "/tmp/x"})
    outcome = step.output if step.error is None else str(step.error.to_dict())
    if runs:
        assert deleted == ["/tmp/x"]
        assert (step.output, step.status) == ("deleted /tmp/x", "completed")
    else:
        assert deleted == []
        assert "rejected" in str(outcome)
    # The model's second call saw the tool's outcome.
    assert str(client.calls[1].messages[-1].contents[0].result) in str(outcome)


def test_a_malformed_answer_is_a_400_and_the_approval_can_still_be_answered() -> None:
    client = ScriptedChatClient(delete_replies())
    host = files_host(client)

    with openai_client(host) as sdk:
        asked = sdk.responses.create(model="files", input="Delete /tmp/x")
        call = approval_call(asked)
        with pytest.raises(openai.BadRequestError) as raised:
            sdk.responses.create(model="files", input=answer(call, "perhaps"), previous_response_id=asked.id)
        with sdk.responses.stream(
            model="files", input=answer(call, '{"approved": "sure"}'), previous_response_id=asked.id
        ) as events:
            streamed = list(events)
        with pytest.raises(openai.BadRequestError) as chatter:
            sdk.responses.create(model="files", input="never mind", previous_response_id=asked.id)
        answered = sdk.responses.create(
            model="files", input=answer(call, "yes"), previous_response_id=asked.id
        )

    assert raised.value.status_code == 400
    expected = (
        f"The answer to the approve_tool_call call '{call.call_id}' must be "
        '{"approved": true} or {"approved": false} (or true, false, yes, no).'
    )
    assert isinstance(raised.value.body, dict)
    assert raised.value.body.get("message") == expected
    failed = streamed[-1]
    assert failed.type == "response.failed"
    assert failed.response.error is not None
    assert failed.response.error.message == expected
    assert "may only hold function_call_output items" in str(chatter.value)
    assert answered.output_text == "Done."
    assert deleted == ["/tmp/x"]
    assert len(client.calls) == 2


@pytest.mark.parametrize("stream", [True, False])
def test_an_approval_survives_a_restart_with_the_sqlite_store(tmp_path: Path, stream: bool) -> None:
    first_client = ScriptedChatClient(delete_replies()[:1])
    with openai_client(files_host(first_client, SQLiteStore(tmp_path))) as sdk:
        asked = sdk.responses.create(model="files", input="Delete /tmp/x")
    call = approval_call(asked)

    # A second host on the same file, with a model that only knows the rest of the script.
    second_client = ScriptedChatClient([["Done."]])
    with openai_client(files_host(second_client, SQLiteStore(tmp_path))) as sdk:
        answered = create(sdk, stream=stream, input=answer(call, "true"), previous_response_id=asked.id)

    assert answered.output_text == "Done."
    assert deleted == ["/tmp/x"]
    (model_call,) = second_client.calls
    assert [(m.role, [c.type for c in m.contents]) for m in model_call.messages] == [
        ("user", ["text"]),
        ("assistant", ["text", "function_call"]),
        ("tool", ["function_result"]),
    ]
    assert model_call.messages[-1].contents[0].result == "deleted /tmp/x"


def test_an_approval_in_a_conversation_survives_a_restart(tmp_path: Path) -> None:
    with openai_client(files_host(ScriptedChatClient(delete_replies()[:1]), SQLiteStore(tmp_path))) as sdk:
        conversation = sdk.conversations.create()
        asked = sdk.responses.create(model="files", input="Delete /tmp/x", conversation=conversation.id)
    call = approval_call(asked)

    client = ScriptedChatClient([["Done."], ["Nothing else to do."]])
    with openai_client(files_host(client, SQLiteStore(tmp_path))) as sdk:
        answered = sdk.responses.create(
            model="files", input=answer(call, "yes"), conversation=conversation.id
        )
        after = sdk.responses.create(model="files", input="Anything else?", conversation=conversation.id)
        items = [item.type for item in sdk.conversations.items.list(conversation.id, order="asc")]

    assert (answered.output_text, after.output_text) == ("Done.", "Nothing else to do.")
    assert deleted == ["/tmp/x"]
    assert items == [
        "message",  # Delete /tmp/x
        "message",  # I will delete it.
        "function_call",  # approve_tool_call
        "function_call_output",  # the answer
        "mcp_call",  # delete_file, with its result
        "message",  # Done.
        "message",  # Anything else?
        "message",  # Nothing else to do.
    ]
