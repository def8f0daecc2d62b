"""A Microsoft Agent Framework agent with a tool, served over the Responses API.

With ``OPENAI_API_KEY`` set, the agent runs on Agent Framework's own OpenAI chat
client (Chat Completions, so any OpenAI-compatible server works:
``OPENAI_BASE_URL`` picks it, ``OPENAI_MODEL`` the model); without it, on a
scripted local model that needs no network. Either way the agent calls its
weather tool, keeps its `AgentSession` per conversation in the embedded SQLite
store (``.hosting/``), and answers any official `openai` client.

    OPENAI_API_KEY=... python samples/agent_framework_agent.py --port 8000

Serving your own agent is one line: ``Host(AgentFrameworkAgent(agent), channels=[ResponsesChannel()])``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from typing import Annotated

from agent_framework import Agent, Content, Message, SupportsChatGetResponse, tool

from hosting.agent_framework import AgentFrameworkAgent, ScriptedChatClient
from hosting.core import Host
from hosting.core.stores import Store
from hosting.responses import ResponsesChannel
from sample_server import run_sample

DEFAULT_MODEL = "gpt-4o-mini"
INSTRUCTIONS = (
    "You are a weather assistant. Use the get_weather tool for the weather; answer in one sentence."
)


@tool
def get_weather(city: Annotated[str, "The city to report on"]) -> str:
    """The current weather in a city."""
    # A real tool would ask a weather service; a fixed table keeps the sample self-contained.
    forecasts = ("sunny, 22 °C", "cloudy, 17 °C", "light rain, 14 °C", "windy, 19 °C")
    return f"{city}: {forecasts[sum(map(ord, city.lower())) % len(forecasts)]}"


def offline_model(messages: Sequence[Message]) -> list[Content | str]:
    """A stand-in model: it asks the tool about the last capitalized word after the first
    (the city), then reports what the tool said."""
    last = messages[-1]
    if last.role == "tool":
        results = [str(content.result) for content in last.contents if content.type == "function_result"]
        return [f"Here is the weather: {'; '.join(results)}."]
    words = [word.strip("?!.,") for word in last.text.split()][1:]
    city = next((word for word in reversed(words) if word[:1].isupper()), words[-1] if words else "Paris")
    call = Content.from_function_call(
        call_id=f"call_{uuid.uuid4().hex[:12]}", name="get_weather", arguments={"city": city}
    )
    return [call]


def build_agent(environ: Mapping[str, str] = os.environ) -> tuple[Agent, str]:
    """The agent for this environment, and a line that says which model it runs on."""
    api_key = environ.get("OPENAI_API_KEY", "").strip()
    client: SupportsChatGetResponse
    if api_key:
        from agent_framework.openai import OpenAIChatCompletionClient

        model = environ.get("OPENAI_MODEL", "").strip() or DEFAULT_MODEL
        base_url = environ.get("OPENAI_BASE_URL", "").strip() or None
        client = OpenAIChatCompletionClient(model=model, api_key=api_key, base_url=base_url)
        mode = f"online: model {model} at {base_url or 'https://api.openai.com/v1'}"
    else:
        client = ScriptedChatClient(respond=offline_model)
        mode = "offline: a scripted local model (set OPENAI_API_KEY for a real one)"
    return Agent(client=client, name="weather", instructions=INSTRUCTIONS, tools=[get_weather]), mode


def build_host(environ: Mapping[str, str] = os.environ, *, store: Store | None = None) -> tuple[Host, str]:
    """The host of this sample and a line saying which mode it runs in."""
    agent, mode = build_agent(environ)
    return Host(AgentFrameworkAgent(agent), channels=[ResponsesChannel()], store=store), mode


def main(argv: Sequence[str] | None = None) -> None:
    host, mode = build_host()
    run_sample(
        host,
        title="hosting: a Microsoft Agent Framework agent",
        mode=mode,
        model="weather",
        argv=argv,
        inputs=("What is the weather in Paris?", "And in Rome?", "And in Oslo?"),
    )


if __name__ == "__main__":
    main()
