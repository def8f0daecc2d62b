"""The official openai SDK (async) against the Responses channel behind a real uvicorn on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import openai
import pytest
from openai import AsyncOpenAI

from hosting.core import Host
from hosting.testing import EchoAgent, serving, strict_response, strict_stream_event

AsyncSdk = Callable[..., AsyncOpenAI]
MakeHost = Callable[..., Host]


async def test_async_create_stream_retrieve_and_chain(async_sdk: AsyncSdk, make_host: MakeHost) -> None:
    async with serving(make_host()) as url:
        client = async_sdk(url)
        first = await client.responses.create(model="echo", input="alpha")
        strict_response(first.to_dict())
        assert first.output_text == "alpha"
        async with client.responses.stream(
            model="echo", input="beta gamma", previous_response_id=first.id
        ) as stream:
            kinds = [event.type async for event in stream]
            final = await stream.get_final_response()
        assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
        assert final.output_text == "alpha\nbeta gamma"
        assert (await client.responses.retrieve(final.id)).output_text == final.output_text
        items = [item async for item in client.responses.input_items.list(final.id, limit=1)]
        assert len(items) == 1
        with pytest.raises(openai.NotFoundError):
            await client.responses.retrieve("resp_missing")
        await client.close()


async def test_sixteen_concurrent_streams_do_not_cross(async_sdk: AsyncSdk, make_host: MakeHost) -> None:
    async with serving(make_host(EchoAgent(delay=0.002))) as url:
        client = async_sdk(url)

        async def one(number: int) -> tuple[str, str, set[str]]:
            words = " ".join(f"w{number}-{k}" for k in range(12))
            stream = await client.responses.create(model="echo", input=words, stream=True)
            text: list[str] = []
            ids: set[str] = set()
            final = ""
            async for event in stream:
                strict_stream_event(event.to_dict())
                if event.type == "response.output_text.delta":
                    text.append(event.delta)
                if event.type in ("response.created", "response.completed"):
                    ids.add(event.response.id)
                if event.type == "response.completed":
                    final = event.response.output_text
            assert "".join(text) == final
            return words, final, ids

        results = await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(16))), timeout=60)
        await client.close()
    for words, final, ids in results:
        assert final == words
        assert len(ids) == 1
    assert len({next(iter(ids)) for _, _, ids in results}) == 16
