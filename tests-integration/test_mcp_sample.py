"""samples/mcp_agent.py as a user runs it: its MCP client converses with its assistant (the answers
streamed as progress), and the conversation it started is the one the Responses API continues."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from openai import AsyncOpenAI

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
if str(SAMPLES) not in sys.path:
    sys.path.insert(0, str(SAMPLES))

import mcp_agent  # noqa: E402
from hosting.core import MemoryStore  # noqa: E402
from hosting.testing import serving  # noqa: E402


async def test_the_sample_answers_over_mcp_and_shares_the_conversation_with_responses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    host, mode = mcp_agent.build_host({}, store=MemoryStore())
    assert mode.startswith("offline")
    async with serving(host) as url:
        answers, conversation = await mcp_agent.converse(
            url, ["What is 17 * 23?", "My name is Ada.", "What is my name?"]
        )
        assert answers[0] == "17 * 23 = 391"
        assert answers[2] == "Your name is Ada."
        assert conversation is not None
        async with AsyncOpenAI(base_url=f"{url}/v1", api_key="local", max_retries=0) as client:
            continued = await client.responses.create(
                model="assistant", input="What is my name?", conversation=conversation
            )
    assert continued.output_text == "Your name is Ada."
    printed = capsys.readouterr().out
    assert "tools: assistant" in printed
    # The deltas printed as they came add up to each answer.
    assert "> What is 17 * 23?\n17 * 23 = 391\n" in printed
    assert "> What is my name?\nYour name is Ada.\n" in printed
