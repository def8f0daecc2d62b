"""The default agent's model errors: an unreachable server and one that answered an error are told apart,
to the operator (a log record with the cause, no secret) and to the client (its message)."""

from __future__ import annotations

import logging
import socket
import sys
from pathlib import Path

import pytest
from openai import AsyncOpenAI

from hosting.core import user_message
from hosting.core.channels import ChannelRequest
from hosting.testing import UpstreamError, channel_context, fake_openai_server

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
if str(SAMPLES) not in sys.path:
    sys.path.insert(0, str(SAMPLES))

from assistant import OpenAIAssistant  # noqa: E402


async def _ask(base_url: str, caplog: pytest.LogCaptureFixture) -> tuple[str, list[logging.LogRecord]]:
    async with (
        AsyncOpenAI(base_url=base_url, api_key="sk-secret-key", max_retries=0, timeout=5) as client,
        channel_context(OpenAIAssistant(client, model="tiny")) as context,
    ):
        with caplog.at_level(logging.INFO, logger="samples.assistant"):
            run = await context.run_stream(ChannelRequest(channel="test", input=(user_message("hi"),)))
            result = await run.wait()
    assert result.status == "failed"
    assert result.error is not None
    records = [record for record in caplog.records if record.name == "samples.assistant"]
    return result.error.message, records


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens there any more: a connection is refused


async def test_a_refused_api_key_is_a_401_for_the_client_and_a_hint_for_the_operator(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with fake_openai_server([UpstreamError(401, "Incorrect API key provided: sk-secret-key")]) as fake:
        message, records = await _ask(fake.base_url, caplog)
    assert message == "The model server answered with an error (401)."
    (record,) = records
    assert record.levelno == logging.ERROR
    text = record.getMessage()
    assert "answered 401" in text
    assert "OPENAI_API_KEY" in text
    assert fake.base_url.rstrip("/") in text
    assert "sk-secret" not in text


async def test_a_refused_connection_says_the_server_could_not_be_reached(
    caplog: pytest.LogCaptureFixture,
) -> None:
    base_url = f"http://127.0.0.1:{_closed_port()}/v1"
    message, records = await _ask(base_url, caplog)
    assert message == "The model server could not be reached."
    (record,) = records
    assert record.levelno == logging.ERROR
    text = record.getMessage()
    assert "could not be reached" in text
    assert base_url in text
    assert "ConnectError" in text  # the cause, for the operator
    assert "sk-secret" not in text


async def test_a_missing_model_points_at_openai_model(caplog: pytest.LogCaptureFixture) -> None:
    with fake_openai_server([UpstreamError(404, "The model 'tiny' does not exist")]) as fake:
        message, records = await _ask(fake.base_url, caplog)
    assert message == "The model server answered with an error (404)."
    assert "OPENAI_MODEL" in records[0].getMessage()
