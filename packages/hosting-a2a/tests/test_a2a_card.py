"""The agent card: what it says of the agent, and the options that change it (served in process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
from a2a.types import AgentSkill

from hosting.a2a import A2AChannel
from hosting.core import ApiKeyAuthenticator, Host, MemoryStore, RunContext, agent


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


async def test_every_card_is_public_and_declares_bearer_when_the_host_authenticates() -> None:
    host = Host(
        {"weather": weather, "other": weather},
        channels=[A2AChannel()],
        store=MemoryStore(),
        authenticator=ApiKeyAuthenticator({"key-alice": "alice"}),
    )
    transport = httpx.ASGITransport(app=host)
    async with httpx.AsyncClient(transport=transport, base_url="http://agents.example") as client:
        for path, name in (
            ("/.well-known/agent-card.json", "weather"),
            ("/a2a/.well-known/agent-card.json", "weather"),
            ("/a2a/weather/.well-known/agent-card.json", "weather"),
            ("/a2a/other/.well-known/agent-card.json", "other"),
        ):
            for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "Bearer key-alice"}):
                served = await client.get(path, headers=headers)
                assert served.status_code == 200, (path, headers)
                card = served.json()
                assert card["name"] == name
                # The same card for everybody: the scheme comes from the host, not from the caller.
                assert card["securitySchemes"]["bearer"]["httpAuthSecurityScheme"]["scheme"] == "Bearer"
                assert card["securityRequirements"] == [{"schemes": {"bearer": {}}}]
        # Only the cards: the endpoints, and any other path below them, need the key.
        body = {"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "x"}}
        for path in ("/a2a", "/a2a/other", "/a2a/other/.well-known/agent-card.json/x", "/a2a/.well-known/x"):
            refused = await client.post(path, json=body)
            assert refused.status_code == 401, path
            assert refused.json()["error"]["code"] == -32600
        assert (await client.get("/a2a/nobody/.well-known/agent-card.json")).status_code == 401


async def test_bearer_auth_states_the_scheme_whatever_the_host_does() -> None:
    authenticated = Host(
        weather,
        channels=[A2AChannel(bearer_auth=False)],
        store=MemoryStore(),
        trust_isolation_headers=True,  # a gateway authenticates, in its own way
    )
    transport = httpx.ASGITransport(app=authenticated)
    async with httpx.AsyncClient(transport=transport, base_url="http://agents.example") as client:
        served = await client.get("/.well-known/agent-card.json")
        assert served.status_code == 200 and "securitySchemes" not in served.json()
    assert "securitySchemes" in await card(A2AChannel(bearer_auth=True))
    assert "securitySchemes" not in await card(A2AChannel(bearer_auth=None))
