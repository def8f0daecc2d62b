"""samples/agent_framework_agent.py: offline on its scripted model, online on a fake OpenAI-compatible server."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from openai.types.responses.response_output_item import McpCall

from hosting.agent_framework import AgentFrameworkAgent
from hosting.core import MemoryStore
from hosting.testing import FakeOpenAI, UpstreamToolCall, async_openai_client, openai_client

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
if str(SAMPLES) not in sys.path:
    sys.path.insert(0, str(SAMPLES))

import agent_framework_agent as sample  # noqa: E402


def test_offline_the_agent_calls_its_tool_and_remembers_the_conversation() -> None:
    host, mode = sample.build_host({}, store=MemoryStore())
    assert mode.startswith("offline")

    with openai_client(host) as sdk:
        with sdk.responses.stream(model="weather", input="What is the weather in Paris?") as stream:
            deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
            first = stream.get_final_response()
        second = sdk.responses.create(model="weather", input="And in Rome?", previous_response_id=first.id)

    step = first.output[0]
    assert isinstance(step, McpCall)  # the agent's own tool: a step, not a call for the client
    assert (step.name, json.loads(step.arguments)) == ("get_weather", {"city": "Paris"})
    assert step.output is not None and step.output.startswith("Paris: ")
    assert first.output_text.startswith("Here is the weather: Paris: ")
    assert "".join(deltas) == first.output_text
    assert second.output_text.startswith("Here is the weather: Rome: ")


async def test_online_the_agent_runs_on_agent_frameworks_openai_client(
    fake_openai: Callable[..., FakeOpenAI],
) -> None:
    fake = fake_openai(
        [UpstreamToolCall("get_weather", {"city": "Paris"}, call_id="call_p"), "Windy in Paris."]
    )
    environ = {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": fake.base_url, "OPENAI_MODEL": "fake-model"}
    host, mode = sample.build_host(environ, store=MemoryStore())
    assert mode == f"online: model fake-model at {fake.base_url}"
    adapter = host.engine.agents["weather"]
    assert isinstance(adapter, AgentFrameworkAgent)
    model_client = adapter.target.client

    sdk = async_openai_client(host)
    try:
        response = await sdk.responses.create(model="weather", input="What is the weather in Paris?")
    finally:
        await sdk.close()
        await host.shutdown()
        # The sample never closes its model client (the process ends with it); a test must.
        await model_client.client.close()

    assert [item.type for item in response.output] == ["mcp_call", "message"]
    assert response.output_text == "Windy in Paris."
    # The usage Agent Framework's client read from the model server, both model calls added up.
    assert response.usage is not None and response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    first, second = fake.model_requests
    assert first.json["model"] == "fake-model"
    assert first.messages[0] == {"role": "system", "content": sample.INSTRUCTIONS}
    assert [tool["function"]["name"] for tool in first.json["tools"]] == ["get_weather"]
    tool_message = second.messages[-1]
    assert tool_message["role"] == "tool"
    assert tool_message["tool_call_id"] == "call_p"
    assert tool_message["content"].startswith("Paris: ")
