"""The agent card: what it says of the agent, and the options that change it (served in process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
from a2a.types import AgentSkill

from hosting.a2a import A2AChannel
from hosting.core import Host, MemoryStore, RunContext, agent


@agent(name="weather")
async def weather(context: RunContext) -> AsyncIterator[str]:
    """Forecasts for any city.

    More lines that the card leaves out.
    """
    yield "sunny"


async def card(channel: A2AChannel, path: str = "/.well-known/agent-card.json") -> dict[str, Any]:
    host = Host({"weather": weather, "other": weather}, channels=[channel], store=MemoryStore())
    await host.startup()
    try:
        transport = httpx.ASGITransport(app=host)
        async with httpx.AsyncClient(transport=transport, base_url="http://agents.example") as client:
            response = await client.get(path)
            assert response.status_code == 200
            return dict(response.json())
    finally:
        await host.shutdown()


async def test_the_default_card_describes_the_agent_from_its_docstring() -> None:
    served = await card(A2AChannel())
    assert served["name"] == "weather"
    assert served["description"] == "Forecasts for any city."
    assert served["skills"] == [
        {"id": "weather", "name": "weather", "description": "Forecasts for any city.", "tags": ["chat"]}
    ]
    assert served["supportedInterfaces"][0]["url"] == "http://agents.example/a2a"
    assert served["capabilities"]["streaming"] is True
    assert "securitySchemes" not in served  # no authenticator


async def test_options_change_the_card() -> None:
    skill = AgentSkill(id="forecast", name="Forecast", description="Tomorrow's weather.", tags=["weather"])
    channel = A2AChannel(
        prefix="/agents",
        version="2.1.0",
        description={"other": "Another one."},
        skills={"other": [skill]},
        input_modes=["text/plain"],
        bearer_auth=True,
        public_url="https://public.example/base/",
    )
    served = await card(channel, "/agents/other/.well-known/agent-card.json")
    assert (served["name"], served["description"], served["version"]) == ("other", "Another one.", "2.1.0")
    assert [s["id"] for s in served["skills"]] == ["forecast"]
    assert served["defaultInputModes"] == ["text/plain"]
    assert served["supportedInterfaces"][0]["url"] == "https://public.example/base/agents/other"
    assert served["securitySchemes"]["bearer"]["httpAuthSecurityScheme"]["scheme"] == "Bearer"
    default = await card(channel, "/agents/.well-known/agent-card.json")
    assert default["name"] == "weather"
