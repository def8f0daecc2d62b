"""Tool approval requests: shown as an ``approve_tool_call`` client call, answered on the next turn."""

from __future__ import annotations

import json
from typing import Any

import pytest
from agent_framework import Agent, Content, tool
from agent_framework import Message as AFMessage

from hosting.agent_framework import (
    TOOL_APPROVAL_FUNCTION,
    AgentFrameworkAgent,
    ScriptedChatClient,
    approval_call,
    approval_decision,
)
from hosting.agent_framework._updates import UpdateMapper
from hosting.core import (
    ANONYMOUS_USER,
    FunctionCall,
    FunctionResult,
    Host,
    Message,
    TextDelta,
    ToolSpec,
    ToolStep,
)
from hosting.core.channels import HostedRunResult
from hosting.core.stores import ConversationRecord

from .conftest import ask, start

deleted: list[str] = []


@tool(approval_mode="always_require")
def delete_file(path: str) -> str:
    """Delete a file (only with the caller's approval)."""
    deleted.append(path)
    return f"deleted {path}"


@pytest.fixture(autouse=True)
def _no_deletions_yet() -> None:
    deleted.clear()


def delete_script(*paths: str) -> list[list[Content | str]]:
    calls: list[Content | str] = [
        Content.from_function_call(call_id=f"c{n}", name="delete_file", arguments=json.dumps({"path": path}))
        for n, path in enumerate(paths, start=1)
    ]
    return [["I will delete it.", *calls], ["Done."]]


def delete_host_agent(client: ScriptedChatClient, *, stream: bool = True) -> AgentFrameworkAgent:
    return AgentFrameworkAgent(Agent(client=client, name="files", tools=[delete_file]), stream=stream)


def approval_of(result: HostedRunResult) -> FunctionCall:
    last = result.output[-1]
    assert isinstance(last, FunctionCall)
    assert last.name == TOOL_APPROVAL_FUNCTION
    return last


def answer(call: FunctionCall, output: str) -> FunctionResult:
    return FunctionResult(call.call_id, output)


@pytest.mark.parametrize("stream", [True, False])
async def test_an_approval_request_ends_the_run_with_an_approve_tool_call(
    started: list[Host], stream: bool
) -> None:
    client = ScriptedChatClient(delete_script("/tmp/x"))
    host = await start(started, delete_host_agent(client, stream=stream))

    asked = await host.engine.run(ask("Delete /tmp/x"))

    assert asked.status == "completed"
    assert asked.text == "I will delete it."
    assert [type(item) for item in asked.output] == [Message, FunctionCall]
    call = approval_of(asked)
    arguments = json.loads(call.arguments)
    assert arguments == {
        "request_id": call.call_id,
        "tool_name": "delete_file",
        "arguments": {"path": "/tmp/x"},
    }
    # The call awaiting approval is not shown as a call of its own (the client would think it is theirs).
    assert not any(isinstance(item, FunctionCall) and item.name == "delete_file" for item in asked.output)
    assert deleted == []
    assert len(client.calls) == 1


@pytest.mark.parametrize("stream", [True, False])
async def test_an_approved_call_runs_the_tool_and_the_agent_uses_its_result(
    started: list[Host], stream: bool
) -> None:
    client = ScriptedChatClient(delete_script("/tmp/x"))
    host = await start(started, delete_host_agent(client, stream=stream))
    asked = await host.engine.run(ask("Delete /tmp/x"))

    answered = await host.engine.run(
        ask(answer(approval_of(asked), '{"approved": true}'), previous_response_id=asked.response_id)
    )

    assert answered.status == "completed"
    assert deleted == ["/tmp/x"]
    assert answered.text == "Done."
    step, _message = answered.output
    # The tool's call is shown with its result, as one step, as for any tool the agent ran.
    assert isinstance(step, ToolStep)
    assert (step.name, json.loads(step.arguments)) == ("delete_file", {"path": "/tmp/x"})
    assert (step.output, step.error) == ("deleted /tmp/x", None)
    model_saw = client.calls[1].messages
    assert [(m.role, [c.type for c in m.contents]) for m in model_saw] == [
        ("user", ["text"]),
        ("assistant", ["text", "function_call"]),
        ("tool", ["function_result"]),
    ]
    assert model_saw[2].contents[0].result == "deleted /tmp/x"


@pytest.mark.parametrize("stream", [True, False])
async def test_a_rejected_call_does_not_run_the_tool(started: list[Host], stream: bool) -> None:
    client = ScriptedChatClient(delete_script("/tmp/x"))
    host = await start(started, delete_host_agent(client, stream=stream))
    asked = await host.engine.run(ask("Delete /tmp/x"))

    answered = await host.engine.run(
        ask(answer(approval_of(asked), "no"), previous_response_id=asked.response_id)
    )

    assert answered.status == "completed"
    assert deleted == []
    assert answered.text == "Done."
    step = answered.output[0]
    assert isinstance(step, ToolStep) and step.name == "delete_file"
    assert "rejected" in (step.output or step.error or "")
    tool_message = client.calls[1].messages[-1]
    assert tool_message.role == "tool"
    assert "rejected" in str(tool_message.contents[0].result)


async def test_parallel_calls_each_get_an_approval_and_each_answer_counts(started: list[Host]) -> None:
    client = ScriptedChatClient(delete_script("/a", "/b"))
    host = await start(started, delete_host_agent(client))
    asked = await host.engine.run(ask("Delete /a and /b"))

    approvals = [item for item in asked.output if isinstance(item, FunctionCall)]
    assert [json.loads(call.arguments)["arguments"] for call in approvals] == [{"path": "/a"}, {"path": "/b"}]
    assert all(call.name == TOOL_APPROVAL_FUNCTION for call in approvals)

    only_one = await host.engine.run(ask(answer(approvals[0], "yes"), previous_response_id=asked.response_id))
    assert only_one.status == "failed"
    assert only_one.error is not None
    assert only_one.error.code == "invalid_request"
    assert only_one.error.message == (
        f"The agent is waiting for an answer to the approve_tool_call call '{approvals[1].call_id}': "
        "send a function_call_output for it."
    )

    answered = await host.engine.run(
        ask(
            answer(approvals[0], "yes"),
            answer(approvals[1], '{"approved": false}'),
            previous_response_id=asked.response_id,
        )
    )
    assert answered.status == "completed"
    assert deleted == ["/a"]
    results = {
        json.loads(item.arguments)["path"]: item.output or item.error or ""
        for item in answered.output
        if isinstance(item, ToolStep)
    }
    assert results["/a"] == "deleted /a"
    assert "rejected" in results["/b"]


async def test_a_malformed_answer_fails_the_run_and_the_approval_stays_pending(started: list[Host]) -> None:
    client = ScriptedChatClient(delete_script("/tmp/x"))
    host = await start(started, delete_host_agent(client))
    asked = await host.engine.run(ask("Delete /tmp/x"))
    call = approval_of(asked)

    malformed = await host.engine.run(ask(answer(call, "maybe"), previous_response_id=asked.response_id))

    assert malformed.status == "failed"
    assert malformed.error is not None
    assert malformed.error.code == "invalid_request"
    assert malformed.error.message == (
        f"The answer to the approve_tool_call call '{call.call_id}' must be "
        '{"approved": true} or {"approved": false} (or true, false, yes, no).'
    )
    assert deleted == []
    assert len(client.calls) == 1

    retried = await host.engine.run(ask(answer(call, "true"), previous_response_id=asked.response_id))
    assert retried.text == "Done."
    assert deleted == ["/tmp/x"]


async def test_other_input_while_an_approval_is_pending_is_refused(started: list[Host]) -> None:
    client = ScriptedChatClient(delete_script("/tmp/x"))
    host = await start(started, delete_host_agent(client))
    asked = await host.engine.run(ask("Delete /tmp/x"))

    chatter = await host.engine.run(ask("never mind", previous_response_id=asked.response_id))
    mixed = await host.engine.run(
        ask(answer(approval_of(asked), "yes"), "and more", previous_response_id=asked.response_id)
    )

    assert chatter.status == mixed.status == "failed"
    assert chatter.error is not None
    assert mixed.error is not None
    assert (
        chatter.error.message
        == mixed.error.message
        == ("While the agent waits for tool approvals, the input may only hold function_call_output items.")
    )
    assert deleted == []
    assert len(client.calls) == 1


async def test_an_approval_in_a_conversation_is_answered_in_the_next_request(started: list[Host]) -> None:
    client = ScriptedChatClient([*delete_script("/tmp/x"), ["Anything else?"]])
    host = await start(started, delete_host_agent(client))
    conversation = host.engine.new_id("conversation", owner=ANONYMOUS_USER)
    await host.store.create_conversation(ConversationRecord(conversation, ANONYMOUS_USER, 0.0), [])

    asked = await host.engine.run(ask("Delete /tmp/x", conversation_id=conversation))
    answered = await host.engine.run(ask(answer(approval_of(asked), "yes"), conversation_id=conversation))
    after = await host.engine.run(ask("thanks", conversation_id=conversation))

    assert answered.text == "Done."
    assert deleted == ["/tmp/x"]
    # The approval was consumed: the next turn is an ordinary one.
    assert after.text == "Anything else?"
    assert client.calls[2].texts[-1] == ("user", "thanks")


async def test_a_client_tool_called_with_a_tool_needing_approval_is_answered_alongside(
    started: list[Host],
) -> None:
    client = ScriptedChatClient(
        [
            [
                Content.from_function_call(call_id="c1", name="delete_file", arguments='{"path": "/a"}'),
                Content.from_function_call(call_id="c2", name="lookup", arguments='{"q": "x"}'),
            ],
            ["Deleted /a; lookup said 42."],
        ]
    )
    host = await start(started, delete_host_agent(client))
    lookup = ToolSpec(
        "lookup", "Looks things up", {"type": "object", "properties": {"q": {"type": "string"}}}
    )

    asked = await host.engine.run(ask("go", tools=(lookup,)))
    calls = {item.name: item for item in asked.output if isinstance(item, FunctionCall)}
    assert sorted(calls) == [TOOL_APPROVAL_FUNCTION, "lookup"]
    assert calls["lookup"].call_id == "c2"

    answered = await host.engine.run(
        ask(
            FunctionResult("c2", "42"),
            answer(calls[TOOL_APPROVAL_FUNCTION], "yes"),
            tools=(lookup,),
            previous_response_id=asked.response_id,
        )
    )
    assert answered.text == "Deleted /a; lookup said 42."
    assert deleted == ["/a"]
    results = {c.call_id: c.result for c in client.calls[1].messages[-1].contents}
    assert results == {"c1": "deleted /a", "c2": "42"}


async def test_a_client_tool_may_not_take_the_approval_calls_name(started: list[Host]) -> None:
    client = ScriptedChatClient(delete_script("/tmp/x"))
    host = await start(started, delete_host_agent(client))

    refused = await host.engine.run(ask("hi", tools=(ToolSpec(TOOL_APPROVAL_FUNCTION),)))

    assert refused.status == "failed"
    assert refused.error is not None
    assert (
        refused.error.message == "The tool name 'approve_tool_call' is reserved for tool approval requests."
    )
    assert client.calls == []


@pytest.mark.parametrize(
    ("output", "decision"),
    [
        ('{"approved": true}', True),
        ('{"approved": false, "reason": "too risky"}', False),
        ("true", True),
        ("false", False),
        (" Yes ", True),
        ("NO", False),
        ('"yes"', True),
        ('{"approved": "yes"}', None),
        ('{"approve": true}', None),
        ("1", None),
        ("maybe", None),
        ("", None),
        ("[true]", None),
    ],
)
def test_approval_decision_reads_the_documented_answers_only(output: str, decision: bool | None) -> None:
    assert approval_decision(output) is decision


def test_approval_call_carries_the_request_id_the_tool_and_its_arguments() -> None:
    call = Content.from_function_call(call_id="c1", name="delete_file", arguments='{"path": "/x"}')
    call.id = "occ-1"
    request = Content.from_function_approval_request(id="occ-1", function_call=call)

    shown = approval_call(request)

    assert shown is not None
    assert (shown.call_id, shown.name) == ("occ-1", "approve_tool_call")
    assert json.loads(shown.arguments) == {
        "request_id": "occ-1",
        "tool_name": "delete_file",
        "arguments": {"path": "/x"},
    }
    not_json = Content.from_function_call(call_id="c2", name="run", arguments="rm -rf")
    not_json.id = "occ-2"
    odd = approval_call(Content.from_function_approval_request(id="occ-2", function_call=not_json))
    assert odd is not None
    assert json.loads(odd.arguments)["arguments"] == "rm -rf"


def test_the_mapper_holds_back_the_call_and_leaves_approvals_out_unless_asked() -> None:
    call = Content.from_function_call(call_id="c1", name="delete_file", arguments='{"path": "/x"}')
    call.id = "occ-1"
    request = Content.from_function_approval_request(id="occ-1", function_call=call)

    mapper = UpdateMapper(approvals=True)
    updates = [*mapper.feed([Content.from_text("ok")]), *mapper.feed([call]), *mapper.feed([request])]
    updates += mapper.finish()
    assert [type(update) for update in updates] == [TextDelta, FunctionCall]
    approval = updates[1]
    assert isinstance(approval, FunctionCall)
    assert approval.name == TOOL_APPROVAL_FUNCTION
    assert list(mapper.approval_requests) == ["occ-1"]

    # A workflow's agents ask through request_info instead: the content itself is left out.
    plain = UpdateMapper()
    assert [*plain.feed([request]), *plain.finish()] == []


def test_the_mapper_shows_a_held_back_call_with_its_result_once() -> None:
    held_back = FunctionCall("c1", "delete_file", '{"path": "/x"}')
    mapper = UpdateMapper(approvals=True, announce={"c1": held_back})
    result = Content.from_function_result(call_id="c1", result="deleted /x")
    updates: list[Any] = [*mapper.feed([result]), *mapper.feed([result]), *mapper.finish()]
    assert updates == [ToolStep("delete_file", '{"path": "/x"}', output="deleted /x")]


def test_an_approval_response_message_is_what_agent_framework_expects() -> None:
    # Guards the one Agent Framework call the adapter's answers rely on.
    call = Content.from_function_call(call_id="c1", name="delete_file", arguments="{}")
    call.id = "occ-1"
    request = Content.from_function_approval_request(id="occ-1", function_call=call)
    restored = Content.from_dict(json.loads(json.dumps(request.to_dict())))
    response = restored.to_function_approval_response(True)
    message = AFMessage("user", [response])
    assert (message.contents[0].type, message.contents[0].approved, message.contents[0].id) == (
        "function_approval_response",
        True,
        "occ-1",
    )
