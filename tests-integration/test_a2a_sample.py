"""samples/a2a_agent.py as a user runs it: its A2A client converses with its assistant, and the
conversation it started is the one the Responses API continues."""

from __future__ import annotations

import sys
from pathlib import Path

from openai import AsyncOpenAI

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
if str(SAMPLES) not in sys.path:
    sys.path.insert(0, str(SAMPLES))

import a2a_agent  # noqa: E402
from hosting.core import MemoryStore  # noqa: E402
from hosting.testing import serving  # noqa: E402


async def test_the_sample_answers_over_a2a_and_shares_the_conversation_with_responses() -> None:
    host, mode = a2a_agent.build_host({}, store=MemoryStore())
    assert mode.startswith("offline")
    async with serving(host) as url:
        answers = await a2a_agent.converse(url, ["What is 17 * 23?", "My name is Ada.", "What is my name?"])
        assert answers[0] == "17 * 23 = 391"
        assert answers[2] == "Your name is Ada."
        async with AsyncOpenAI(base_url=f"{url}/v1", api_key="local", max_retries=0) as client:
            conversations = await client.get("/conversations", cast_to=dict)
            (conversation,) = conversations["data"]
            continued = await client.responses.create(
                model="assistant", input="What is my name?", conversation=conversation["id"]
            )
    assert continued.output_text == "Your name is Ada."
