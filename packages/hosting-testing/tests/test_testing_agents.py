"""ScriptedAgent and EchoAgent, driven through the real run engine (no channel needed)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hosting.core import (
    FunctionCall,
    FunctionResult,
    IsolationKeys,
    Item,
    Message,
    Reasoning,
    ReasoningDelta,
    RunContext,
    TextDelta,
    ToolSpec,
    Usage,
    user_message,
)
from hosting.core.channels import (
    ChannelContext,
    ChannelRequest,
    HostedRunResult,
    OutputTextDelta,
    isolation_scope,
)
from hosting.testing import Delay, EchoAgent, Fail, Hosted, ScriptedAgent


def _request(text: str, **fields: Any) -> ChannelRequest:
    return ChannelRequest(channel="test", input=(user_message(text),), **fields)


async def test_scripted_agent_plays_text_usage_and_a_function_call(hosted: Hosted) -> None:
    agent = ScriptedAgent(
        [
            "Hel",
            "lo",
            Usage(input_tokens=3, output_tokens=2),
            FunctionCall("call_1", "clock", '{"tz": "UTC"}'),
        ]
    )
    result = await (await hosted(agent)).run(_request("hi"))

    assert result.status == "completed"
    assert result.text == "Hello"
    assert result.usage == Usage(input_tokens=3, output_tokens=2)
    kinds = [type(item) for item in result.output]
    assert kinds == [Message, FunctionCall]
    call = result.output[1]
    assert isinstance(call, FunctionCall)
    assert (call.call_id, call.name, call.arguments) == ("call_1", "clock", '{"tz": "UTC"}')
    recorded = agent.last_run
    assert recorded.finished
    assert not recorded.cancelled
    assert recorded.error is None
    assert recorded.updates == [
        TextDelta("Hel"),
        TextDelta("lo"),
        Usage(input_tokens=3, output_tokens=2),
        FunctionCall("call_1", "clock", '{"tz": "UTC"}'),
    ]


async def test_scripted_agent_records_what_the_host_passed_in(hosted: Hosted) -> None:
    agent = ScriptedAgent(["ok"])
    tool = ToolSpec("clock", "the time", {"type": "object", "properties": {}})
    with isolation_scope(IsolationKeys(user="alice", chat="c1")):
        result = await (await hosted(agent)).run(
            _request(
                "what time is it?",
                instructions="be brief",
                options={"temperature": 0.2},
                tools=(tool,),
                metadata={"k": "v"},
            )
        )

    recorded = agent.last_run
    assert recorded.response_id == result.response_id
    assert recorded.input_text == "what time is it?"
    assert recorded.history == ()
    assert [item.text for item in recorded.messages if isinstance(item, Message)] == ["what time is it?"]
    assert recorded.instructions == "be brief"
    assert recorded.options == {"temperature": 0.2}
    assert recorded.tools == (tool,)
    assert recorded.isolation == IsolationKeys(user="alice", chat="c1")
    assert recorded.metadata == {"k": "v"}
    assert recorded.channel == "test"
    assert recorded.agent_name == "scripted"


async def test_scripted_agent_turns_script_each_run_and_see_history_and_state(hosted: Hosted) -> None:
    def remember(context: RunContext) -> str:
        context.session_state["name"] = "Ada"
        return "noted"

    async def recall(context: RunContext) -> list[str]:
        return ["you are ", str(context.session_state.get("name"))]

    agent = ScriptedAgent(turns=[[remember], [recall]])
    engine = await hosted(agent)
    first = await engine.run(_request("my name is Ada"))
    second = await engine.run(_request("who am I?", previous_response_id=first.response_id))

    assert first.text == "noted"
    assert second.text == "you are Ada"
    assert len(agent.runs) == 2
    assert agent.runs[0].session_state == {}
    assert agent.runs[0].context.session_state == {"name": "Ada"}
    assert agent.runs[1].session_state == {"name": "Ada"}
    assert agent.runs[1].previous_response_id == first.response_id
    history_texts = [item.text for item in agent.runs[1].history if isinstance(item, Message)]
    assert history_texts == ["my name is Ada", "noted"]


async def test_recorded_session_state_is_a_copy_taken_at_start(hosted: Hosted) -> None:
    def mutate(context: RunContext) -> None:
        context.session_state.setdefault("seen", []).append(len(context.history))

    agent = ScriptedAgent([mutate, "ok"])
    engine = await hosted(agent)
    first = await engine.run(_request("a"))
    await engine.run(_request("b", previous_response_id=first.response_id))

    assert agent.runs[0].session_state == {}
    assert agent.runs[1].session_state == {"seen": [0]}
    assert agent.runs[1].context.session_state == {"seen": [0, 2]}


async def test_scripted_agent_fails_at_the_scripted_step(hosted: Hosted) -> None:
    agent = ScriptedAgent(["partial", Fail(RuntimeError("boom")), "never"])
    result = await (await hosted(agent)).run(_request("hi"))

    assert result.status == "failed"
    assert result.error is not None
    assert result.error.code == "server_error"
    recorded = agent.last_run
    assert isinstance(recorded.error, RuntimeError)
    assert str(recorded.error) == "boom"
    assert recorded.updates == [TextDelta("partial")]
    assert not recorded.finished
    assert recorded.done


async def test_fail_accepts_an_exception_class(hosted: Hosted) -> None:
    agent = ScriptedAgent([Fail(ValueError)])
    result = await (await hosted(agent)).run(_request("hi"))
    assert result.status == "failed"
    assert isinstance(agent.last_run.error, ValueError)


async def test_scripted_agent_records_a_cancelled_run(hosted: Hosted) -> None:
    waiting = asyncio.Event()
    agent = ScriptedAgent(["thinking", lambda context: waiting.set(), Delay(30), "too late"])
    engine = await hosted(agent)
    run = await engine.run_stream(_request("hi"))
    await asyncio.wait_for(waiting.wait(), timeout=5)
    record = await engine.cancel(run.id)

    assert record.status == "cancelled"
    assert agent.last_run.cancelled
    assert not agent.last_run.finished
    assert agent.last_run.updates == [TextDelta("thinking")]


async def test_scripted_agent_past_its_last_turn_fails_clearly(hosted: Hosted) -> None:
    agent = ScriptedAgent(turns=[["one"]])
    engine = await hosted(agent)
    assert (await engine.run(_request("a"))).text == "one"
    second = await engine.run(_request("b"))
    assert second.status == "failed"
    assert isinstance(agent.runs[1].error, RuntimeError)
    assert "1 scripted turns" in str(agent.runs[1].error)


async def test_scripted_agent_reasoning_and_whole_items(hosted: Hosted) -> None:
    agent = ScriptedAgent(
        [
            ReasoningDelta("think "),
            ReasoningDelta("hard"),
            FunctionResult("call_9", "42"),
            "done",
        ]
    )
    result = await (await hosted(agent)).run(_request("hi"))
    assert [type(item) for item in result.output] == [Reasoning, FunctionResult, Message]
    reasoning = result.output[0]
    assert isinstance(reasoning, Reasoning)
    assert reasoning.text == "think hard"
    assert result.text == "done"


async def test_wait_for_runs_times_out_when_nothing_runs() -> None:
    agent = ScriptedAgent(["x"])
    with pytest.raises(TimeoutError, match="0 of 1"):
        await agent.wait_for_runs(1, within=0.05)
    with pytest.raises(LookupError):
        _ = agent.last_run


def test_scripted_agent_rejects_ambiguous_scripts() -> None:
    with pytest.raises(ValueError, match="either"):
        ScriptedAgent(["a"], turns=[["b"]])
    with pytest.raises(TypeError, match="sequence of steps"):
        ScriptedAgent("hello")


async def test_an_unknown_step_fails_the_run_with_a_clear_error(hosted: Hosted) -> None:
    agent = ScriptedAgent([42])  # type: ignore[list-item]
    result = await (await hosted(agent)).run(_request("hi"))
    assert result.status == "failed"
    assert isinstance(agent.last_run.error, TypeError)
    assert "42 is not a script step" in str(agent.last_run.error)


async def test_empty_script_completes_with_no_output(hosted: Hosted) -> None:
    agent = ScriptedAgent()
    result = await (await hosted(agent)).run(_request("hi"))
    assert result.status == "completed"
    assert result.output == ()
    assert agent.last_run.finished


async def _echo(
    engine: ChannelContext, text: str, previous: HostedRunResult | None = None
) -> HostedRunResult:
    run = await engine.run_stream(
        _request(text, previous_response_id=previous.response_id if previous else None)
    )
    result = await run.wait()
    result_deltas = [event.delta for event in run.events if isinstance(event, OutputTextDelta)]
    assert "".join(result_deltas) == result.text
    return result


async def test_echo_agent_streams_word_by_word(hosted: Hosted) -> None:
    engine = await hosted(EchoAgent())
    run = await engine.run_stream(_request("one two  three\n"))
    result = await run.wait()
    deltas = [event.delta for event in run.events if isinstance(event, OutputTextDelta)]
    assert deltas == ["one", " two", "  three", "\n"]
    assert result.text == "one two  three\n"


async def test_echo_agent_repeats_every_user_message_across_turns(hosted: Hosted) -> None:
    engine = await hosted(EchoAgent())
    first = await _echo(engine, "hello")
    second = await _echo(engine, "again", first)
    third = await _echo(engine, "and again", second)
    assert first.text == "hello"
    assert second.text == "hello\nagain"
    assert third.text == "hello\nagain\nand again"


def test_echo_agent_reply_ignores_non_user_items() -> None:
    messages: list[Item] = [
        user_message("a"),
        Message("assistant", ()),
        FunctionCall("c", "f", "{}"),
        Message("system", ()),
        user_message("b"),
    ]
    assert EchoAgent.reply_to(messages) == "a\nb"
    assert EchoAgent(name="parrot").name == "parrot"


async def test_echo_agent_delay_paces_words_without_changing_them(hosted: Hosted) -> None:
    engine = await hosted(EchoAgent(delay=0.001))
    result = await _echo(engine, "a b c")
    assert result.text == "a b c"
