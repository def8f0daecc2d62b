"""Run control through the Responses API, with the official SDK against a real uvicorn:
background runs, resumable streams, cancel, idempotency keys."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from hosting.core import Host, RunContext
from hosting.testing import Delay, EchoAgent, ScriptedAgent, parse_event_stream, serving, strict_response

Sdk = Callable[..., OpenAI]
AsyncSdk = Callable[..., AsyncOpenAI]
MakeHost = Callable[..., Host]

WORDS = " ".join(f"word{n}" for n in range(40))


def response_id_of(event: Any) -> str:
    """The response id of a lifecycle event (``response.created``, ...)."""
    return str(event.response.id)


def poll(client: OpenAI, response_id: str, within: float = 10.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        response = client.responses.retrieve(response_id)
        if response.status not in ("queued", "in_progress"):
            return response
        if time.monotonic() > deadline:
            raise TimeoutError(f"{response_id} still {response.status}")
        time.sleep(0.02)


def test_background_create_returns_at_once_and_get_polls(sdk: Sdk, make_host: MakeHost) -> None:
    agent = ScriptedAgent(["slow", Delay(0.3), " answer"])
    client = sdk(make_host(agent))
    started = client.responses.create(model="scripted", input="x", background=True)
    strict_response(started.to_dict())
    assert started.status == "queued"
    assert started.background is True
    assert started.output == []
    done = poll(client, started.id)
    assert done.status == "completed"
    assert done.output_text == "slow answer"
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model="scripted", input="x", background=True, store=False)
    assert refused.value.param == "background"


def test_a_finished_stream_replays_exactly_and_resumes_after_n(sdk: Sdk, make_host: MakeHost) -> None:
    host = make_host(EchoAgent())
    client = sdk(host)
    original = list(client.responses.create(model="echo", input=WORDS, stream=True))
    response_id = response_id_of(original[0])
    replayed = list(client.responses.retrieve(response_id, stream=True))
    assert [event.to_dict() for event in replayed] == [event.to_dict() for event in original]
    after = list(client.responses.retrieve(response_id, stream=True, starting_after=10))
    assert [event.sequence_number for event in after] == list(range(11, len(original)))
    assert [event.to_dict() for event in after] == [event.to_dict() for event in original[11:]]
    with client.responses.stream(response_id=response_id) as stream:
        assert stream.get_final_response().output_text == WORDS
    with client.responses.stream(response_id=response_id, starting_after=5) as stream:
        assert next(event.sequence_number for event in stream) == 6
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.retrieve(response_id, stream=True, starting_after=-3)
    assert bad.value.param == "starting_after"
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve("resp_unknown", stream=True)


async def test_disconnect_mid_stream_then_resume_loses_and_repeats_nothing(make_host: MakeHost) -> None:
    host = make_host(EchoAgent(delay=0.01))
    async with serving(host) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        headers = {"authorization": "Bearer key-alice"}
        body = {"model": "echo", "input": WORDS, "stream": True, "background": True}
        first: list[str] = []
        async with http.stream("POST", "/v1/responses", json=body, headers=headers) as response:
            buffer = ""
            async for chunk in response.aiter_text():
                buffer += chunk
                if buffer.count("response.output_text.delta\n") >= 5:
                    break
        frames = [frame for frame in buffer.split("\n\n")[:-1] if frame.startswith("event:")]
        first = [frame + "\n\n" for frame in frames]
        seen = parse_event_stream("".join(first) + "data: [DONE]\n\n")
        last = seen[-1]["sequence_number"]
        response_id = seen[0]["response"]["id"]
        resumed = await http.get(
            f"/v1/responses/{response_id}", params={"stream": "true", "starting_after": last}, headers=headers
        )
        rest = parse_event_stream(resumed.text)
    numbers = [event["sequence_number"] for event in seen + rest]
    assert numbers == list(range(len(numbers)))
    text = "".join(e["delta"] for e in seen + rest if e["type"] == "response.output_text.delta")
    assert text == WORDS
    assert rest[-1]["type"] == "response.completed"
    assert rest[-1]["response"]["output"][0]["content"][0]["text"] == WORDS


async def test_cancel_stops_a_long_background_run(async_sdk: AsyncSdk, make_host: MakeHost) -> None:
    observed: list[str] = []

    async def long_task(context: RunContext) -> AsyncIterator[str]:
        try:
            yield "working"
            await asyncio.sleep(60)
            yield "never"
        except asyncio.CancelledError:
            observed.append("cancelled")
            raise

    async with serving(make_host(long_task)) as url:
        client = async_sdk(url)
        started = await client.responses.create(model="long_task", input="x", background=True)
        deadline = time.monotonic() + 5
        while (live := await client.responses.retrieve(started.id)).status == "queued":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        strict_response(live.to_dict())
        assert live.status == "in_progress"
        begun = time.monotonic()
        cancelled = await client.responses.cancel(started.id)
        assert time.monotonic() - begun < 1.0
        strict_response(cancelled.to_dict())
        assert cancelled.status == "cancelled"
        assert observed == ["cancelled"]
        assert cancelled.output_text == "working"
        assert (await client.responses.retrieve(started.id)).status == "cancelled"
        again = await client.responses.cancel(started.id)
        assert again.status == "cancelled" and again.completed_at == cancelled.completed_at
        with pytest.raises(openai.NotFoundError):
            await client.responses.cancel("resp_unknown")
        await client.close()


def test_cancelling_a_response_that_is_not_background_is_a_400(sdk: Sdk, make_host: MakeHost) -> None:
    client = sdk(make_host())
    finished = client.responses.create(model="echo", input="x")
    with pytest.raises(openai.BadRequestError):
        client.responses.cancel(finished.id)
    assert client.responses.retrieve(finished.id).status == "completed"


def test_an_idempotency_key_runs_the_agent_once(sdk: Sdk, make_host: MakeHost) -> None:
    agent = ScriptedAgent(["only once"])
    client = sdk(make_host(agent))
    key = {"Idempotency-Key": "order-42"}
    first = client.responses.create(model="scripted", input="pay", extra_headers=key)
    second = client.responses.create(model="scripted", input="pay", extra_headers=key)
    assert first.id == second.id
    assert second.output_text == "only once"
    assert len(agent.runs) == 1
    streamed = list(client.responses.create(model="scripted", input="pay", stream=True, extra_headers=key))
    assert response_id_of(streamed[0]) == first.id
    assert len(agent.runs) == 1
    with pytest.raises(openai.ConflictError):
        client.responses.create(model="scripted", input="something else", extra_headers=key)
    assert len(agent.runs) == 1
    # Keys are per user: the same key from another user is another request.
    with OpenAI(base_url=str(client.base_url), api_key="key-bob", max_retries=0) as bob:
        assert bob.responses.create(model="scripted", input="pay", extra_headers=key).id != first.id
    assert len(agent.runs) == 2
