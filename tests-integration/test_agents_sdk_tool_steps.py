"""The OpenAI Agents SDK, pointed at the host, with no tools of its own: the agent's tool steps do not
look like calls it must make, and its replay of them as input is accepted.

A real uvicorn on loopback; the SDK's `OpenAIResponsesModel` speaks the Responses API to it.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from agents import Agent, OpenAIResponsesModel, Runner, set_tracing_disabled
from openai import AsyncOpenAI

from hosting.core import Host, ToolStep, Usage
from hosting.testing import ScriptedAgent, Step, serving

MakeHost = Callable[..., Host]

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
if str(SAMPLES) not in sys.path:
    sys.path.insert(0, str(SAMPLES))

from assistant import OfflineAssistant  # noqa: E402

STEPS: list[Step] = [
    ToolStep("calculator", '{"expression": "17 * 23"}', output="391"),
    "17 * 23 = 391",
    Usage(input_tokens=10, output_tokens=4),
]


@pytest.fixture(autouse=True)
def _no_tracing() -> None:
    # The SDK's traces would be sent to OpenAI's servers, which a test never reaches.
    set_tracing_disabled(True)


@pytest.fixture
async def client(make_host: MakeHost) -> AsyncIterator[tuple[AsyncOpenAI, ScriptedAgent]]:
    scripted = ScriptedAgent(STEPS, name="assistant")
    async with serving(make_host(scripted)) as url:
        openai = AsyncOpenAI(base_url=f"{url}/v1", api_key="key-alice", max_retries=0, timeout=30)
        try:
            yield openai, scripted
        finally:
            await openai.close()


def _agent(openai: AsyncOpenAI) -> Agent:
    return Agent(
        name="assistant",
        instructions="Be brief.",
        model=OpenAIResponsesModel(model="assistant", openai_client=openai),
    )


async def test_an_agent_with_no_tools_gets_the_answer_after_a_tool_step(
    client: tuple[AsyncOpenAI, ScriptedAgent],
) -> None:
    openai, scripted = client
    result = await Runner.run(_agent(openai), "What is 17 * 23?")
    # Before tool steps were their own item, this failed: ModelBehaviorError: Tool calculator not found.
    assert result.final_output == "17 * 23 = 391"
    kinds = [item.type for item in result.new_items]
    assert kinds == ["tool_call_item", "message_output_item"]
    assert result.new_items[0].raw_item.type == "mcp_call"  # type: ignore[union-attr]
    assert len(scripted.runs) == 1  # the SDK did not come back to run a tool
    assert result.context_wrapper.usage.total_tokens == 14


async def test_the_next_turn_replays_the_tool_step_and_is_accepted(
    client: tuple[AsyncOpenAI, ScriptedAgent],
) -> None:
    openai, scripted = client
    first = await Runner.run(_agent(openai), "What is 17 * 23?")
    again = [*first.to_input_list(), {"role": "user", "content": "And again?"}]
    second = await Runner.run(_agent(openai), again)  # type: ignore[arg-type]
    assert second.final_output == "17 * 23 = 391"
    replayed = [item for item in scripted.last_run.input if isinstance(item, ToolStep)]
    assert [(step.name, step.output) for step in replayed] == [("calculator", "391")]


async def test_streamed_run_gets_the_answer(client: tuple[AsyncOpenAI, ScriptedAgent]) -> None:
    openai, _ = client
    result = Runner.run_streamed(_agent(openai), "What is 17 * 23?")
    seen = [event.type async for event in result.stream_events()]
    assert "raw_response_event" in seen
    assert result.final_output == "17 * 23 = 391"


async def test_the_default_assistant_s_calculator_does_not_break_an_agents_sdk_client(
    make_host: MakeHost,
) -> None:
    # The case clients reported: the default agent's calculator step, a client with no tools.
    async with serving(make_host(OfflineAssistant(word_delay=0))) as url:
        openai = AsyncOpenAI(base_url=f"{url}/v1", api_key="key-alice", max_retries=0, timeout=30)
        try:
            result = await Runner.run(_agent(openai), "What is 17 * 23?")
            again = await Runner.run(
                _agent(openai), [*result.to_input_list(), {"role": "user", "content": "What is 2 + 2?"}]
            )
        finally:
            await openai.close()
    assert result.final_output == "17 * 23 = 391"
    # The whole history replayed as input (the mcp_call item among it) is accepted, and answered.
    assert [item["type"] for item in result.to_input_list() if "type" in item] == ["mcp_call", "message"]
    assert isinstance(again.final_output, str) and " = " in again.final_output
