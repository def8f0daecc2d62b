"""Conversation history through the official SDK and a real server: only completed turns are
recorded, concurrent turns are recorded whole and once, ``store: false`` writes nothing, and bad
input changes nothing."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest

from hosting.core import ApiKeyAuthenticator, Host, Message, RunContext, SQLiteStore
from hosting.core.stores import Store
from hosting.responses import ResponsesChannel
from hosting.testing import Delay, EchoAgent, Fail, ScriptedAgent, serving

KEYS = {"key-alice": "alice"}


def make_host(agent: Any, store: Store, **options: Any) -> Host:
    return Host(
        agent, channels=[ResponsesChannel()], store=store, authenticator=ApiKeyAuthenticator(KEYS), **options
    )


def connect(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="key-alice", max_retries=0, timeout=20)


def texts(sdk: openai.OpenAI, conversation_id: str) -> list[str]:
    items = sdk.conversations.items.list(conversation_id, order="asc", limit=100)
    return [part.text for item in items.data for part in item.content]  # type: ignore[union-attr]


def user_texts(history: tuple[Any, ...]) -> list[str]:
    return [item.text for item in history if isinstance(item, Message) and item.role == "user"]


def wait_for_status(sdk: openai.OpenAI, response_id: str, status: str, *, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while (current := sdk.responses.retrieve(response_id).status) != status:
        assert time.monotonic() < deadline, f"still {current!r} after {within} s, expected {status!r}"
        time.sleep(0.02)


# -- a turn that does not complete leaves no trace in the conversation -----------------------------


def end_badly(sdk: openai.OpenAI, conversation_id: str, how: str) -> None:
    """Run the second (doomed) turn and see it end `how`."""
    if how == "failed":
        with pytest.raises(openai.InternalServerError):
            sdk.responses.create(model="scripted", input="doomed", conversation=conversation_id)
        return
    if how == "incomplete":
        response = sdk.responses.create(model="scripted", input="doomed", conversation=conversation_id)
        assert response.status == "incomplete"
        return
    # cancelled: the client drops the stream; with `always_cancel` that cancels the run.
    stream = sdk.responses.create(model="scripted", input="doomed", conversation=conversation_id, stream=True)
    response_id = ""
    for event in stream:
        if event.type == "response.created":
            response_id = event.response.id
        if event.type == "response.output_text.delta":
            break
    stream.close()
    wait_for_status(sdk, response_id, "cancelled")


@pytest.mark.parametrize("how", ["failed", "cancelled", "incomplete"])
def test_a_turn_that_does_not_complete_leaves_no_half_written_history(
    served: Callable[..., str], tmp_path: Path, how: str
) -> None:
    doomed: list[Any] = {
        "failed": ["half an answer", Fail(RuntimeError("the model fell over"))],
        "cancelled": ["half an answer", Delay(30)],
        "incomplete": ["half an answer", Delay(30)],
    }[how]
    agent = ScriptedAgent(turns=[["first answer"], doomed, ["third answer"]])
    options: dict[str, Any] = {"disconnect_policy": "always_cancel"} if how == "cancelled" else {}
    if how == "incomplete":
        options["run_timeout"] = 0.3
    url = served(make_host(agent, SQLiteStore(tmp_path), **options))
    with connect(url) as sdk:
        conversation = sdk.conversations.create()
        sdk.responses.create(model="scripted", input="first", conversation=conversation.id)
        end_badly(sdk, conversation.id, how)

        assert texts(sdk, conversation.id) == ["first", "first answer"]
        third = sdk.responses.create(model="scripted", input="third", conversation=conversation.id)
        assert third.output_text == "third answer"
        assert user_texts(agent.runs[2].history) == ["first"]  # the doomed input is not in the history
        assert texts(sdk, conversation.id) == ["first", "first answer", "third", "third answer"]
        # The run itself is stored, with how it ended, and can be read.
        doomed_run = sdk.responses.retrieve(agent.runs[1].response_id)
        assert doomed_run.status == how
        assert agent.runs[1].done and not agent.runs[1].finished


# -- concurrent turns ------------------------------------------------------------------------------


async def answer_to_question(context: RunContext) -> str:
    await asyncio.sleep(0.01)  # let the runs overlap
    return f"answer to {user_texts(context.input)[0]}"


@pytest.mark.parametrize("backend", ["sqlite", "memory"])
async def test_twenty_concurrent_turns_are_each_recorded_once_and_whole(tmp_path: Path, backend: str) -> None:
    from hosting.core import MemoryStore

    store: Store = SQLiteStore(tmp_path) if backend == "sqlite" else MemoryStore()
    host = make_host(ScriptedAgent([answer_to_question]), store)
    async with serving(host) as url:
        sdk = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="key-alice", max_retries=0, timeout=30)
        async with sdk:
            conversation = await sdk.conversations.create()
            responses = await asyncio.gather(
                *(
                    sdk.responses.create(model="scripted", input=f"q{n}", conversation=conversation.id)
                    for n in range(20)
                )
            )
            assert [r.output_text for r in responses] == [f"answer to q{n}" for n in range(20)]
            assert all(r.conversation is not None and r.conversation.id == conversation.id for r in responses)
            pages = sdk.conversations.items.list(conversation.id, order="asc", limit=7)
            items = [item async for item in pages]  # the SDK follows `after` page by page
    recorded = [part.text for item in items for part in item.content]  # type: ignore[union-attr]
    assert len(recorded) == 40
    questions = recorded[0::2]
    assert sorted(questions, key=lambda q: int(q[1:])) == [f"q{n}" for n in range(20)]
    assert recorded[1::2] == [f"answer to {question}" for question in questions]
    assert [item.role for item in items] == ["user", "assistant"] * 20  # type: ignore[union-attr]
    assert len({item.id for item in items}) == 40


async def test_concurrent_turns_run_one_at_a_time_each_on_the_history_before_it(tmp_path: Path) -> None:
    seen: list[int] = []

    async def counting(context: RunContext) -> str:
        seen.append(len(context.history))
        await asyncio.sleep(0.01)
        return f"answer to {user_texts(context.input)[0]}"

    host = make_host(ScriptedAgent([counting]), SQLiteStore(tmp_path))
    async with serving(host) as url:
        sdk = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="key-alice", max_retries=0, timeout=30)
        async with sdk:
            conversation = await sdk.conversations.create()
            await asyncio.gather(
                *(
                    sdk.responses.create(model="scripted", input=f"q{n}", conversation=conversation.id)
                    for n in range(12)
                )
            )
    # Each turn saw every turn before it whole: 0, 2, 4, ... items of history, never the same twice.
    assert sorted(seen) == list(range(0, 24, 2))


async def test_a_concurrent_turn_can_be_refused_with_409_instead(tmp_path: Path) -> None:
    agent = ScriptedAgent(turns=[["slow ", Delay(1.0), "answer"], ["second"]])
    host = make_host(agent, SQLiteStore(tmp_path), concurrent_turns="reject")
    async with serving(host) as url:
        sdk = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="key-alice", max_retries=0, timeout=30)
        async with sdk:
            conversation = await sdk.conversations.create()
            first = asyncio.create_task(
                sdk.responses.create(model="scripted", input="one", conversation=conversation.id)
            )
            for _ in range(500):  # the first turn has begun (at most 5 s)
                if agent.runs:
                    break
                await asyncio.sleep(0.01)
            key = {"Idempotency-Key": "turn-two"}
            with pytest.raises(openai.ConflictError) as refused:
                await sdk.responses.create(
                    model="scripted", input="two", conversation=conversation.id, extra_headers=key
                )
            assert refused.value.code == "conversation_busy"
            assert (await first).output_text == "slow answer"
            # Once the first turn is recorded, the refused one runs when retried, on its history:
            # with its Idempotency-Key too, since it never started.
            after = await sdk.responses.create(
                model="scripted", input="two", conversation=conversation.id, extra_headers=key
            )
            assert after.output_text == "second"
            items = await sdk.conversations.items.list(conversation.id, order="asc")
    assert [part.text for item in items.data for part in item.content] == [  # type: ignore[union-attr]
        "one",
        "slow answer",
        "two",
        "second",
    ]


# -- store: false ----------------------------------------------------------------------------------


def table_counts(path: Path) -> dict[str, int]:
    tables = ("responses", "run_log_chunks", "session_state", "conversation_items", "idempotency_keys")
    with sqlite3.connect(path) as connection:
        return {table: connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in tables}


def test_store_false_never_writes_the_response_or_its_items(
    served: Callable[..., str], tmp_path: Path
) -> None:
    store = SQLiteStore(tmp_path)
    url = served(make_host(EchoAgent(), store))
    with connect(url) as sdk:
        plain = sdk.responses.create(model="echo", input="not kept", store=False)
        assert plain.output_text == "not kept"
        with sdk.responses.stream(model="echo", input="not kept either", store=False) as stream:
            streamed = stream.get_final_response()
        assert streamed.output_text == "not kept either"
        for response_id in (plain.id, streamed.id):
            with pytest.raises(openai.NotFoundError):
                sdk.responses.retrieve(response_id)
            with pytest.raises(openai.NotFoundError):
                sdk.responses.input_items.list(response_id)
            with pytest.raises(openai.NotFoundError):
                sdk.responses.create(model="echo", input="continue", previous_response_id=response_id)
        assert table_counts(store.path) == {
            "responses": 0,
            "run_log_chunks": 0,
            "session_state": 0,
            "conversation_items": 0,
            "idempotency_keys": 0,
        }
        kept = sdk.responses.create(model="echo", input="kept")
        assert sdk.responses.retrieve(kept.id).output_text == "kept"
    assert table_counts(store.path)["responses"] == 1


# -- bad input -------------------------------------------------------------------------------------


def test_bad_input_gets_the_envelope_and_changes_nothing(served: Callable[..., str], tmp_path: Path) -> None:
    url = served(make_host(EchoAgent(), SQLiteStore(tmp_path)))
    with connect(url) as sdk:
        conversation = sdk.conversations.create(
            items=[{"role": "user", "content": "keep"}], metadata={"a": "b"}
        )
        first = sdk.responses.create(model="echo", input="hello")
        bad_calls: list[tuple[type[openai.APIStatusError], Callable[[], object]]] = [
            (
                openai.BadRequestError,
                lambda: sdk.conversations.create(items=[{"role": "user", "content": "x"}] * 21),
            ),
            (
                openai.BadRequestError,
                lambda: sdk.conversations.create(metadata={f"k{n}": "v" for n in range(17)}),
            ),
            (
                openai.BadRequestError,
                lambda: sdk.conversations.update(conversation.id, metadata={"k": "v" * 600}),
            ),
            (openai.BadRequestError, lambda: sdk.conversations.items.create(conversation.id, items=[])),
            (
                openai.BadRequestError,
                lambda: sdk.conversations.items.create(
                    conversation.id,
                    items=[{"role": "user", "content": "ok"}, {"type": "nonsense"}],  # type: ignore[misc, list-item]
                ),
            ),
            (openai.BadRequestError, lambda: sdk.conversations.items.list(conversation.id, limit=0)),
            (openai.BadRequestError, lambda: sdk.conversations.items.list(conversation.id, limit=101)),
            (
                openai.BadRequestError,
                lambda: sdk.responses.create(
                    model="echo", input="x", conversation=conversation.id, previous_response_id=first.id
                ),
            ),
            (openai.BadRequestError, lambda: sdk.responses.create(model="echo", input="x", conversation=42)),  # type: ignore[call-overload]
            (openai.NotFoundError, lambda: sdk.conversations.retrieve("conv_" + "0" * 48)),
            (openai.NotFoundError, lambda: sdk.conversations.retrieve("not a conversation id!")),
            (
                openai.NotFoundError,
                lambda: sdk.conversations.items.retrieve("msg_x", conversation_id=conversation.id),
            ),
            (
                openai.NotFoundError,
                lambda: sdk.responses.create(model="echo", input="x", conversation="conv_nope"),
            ),
        ]
        for expected, call in bad_calls:
            with pytest.raises(expected) as caught:
                call()
            body = caught.value.body
            assert isinstance(body, dict) and set(body) == {"message", "type", "param", "code"}
        assert sdk.conversations.retrieve(conversation.id).metadata == {"a": "b"}
        assert texts(sdk, conversation.id) == ["keep"]
        assert sdk.responses.retrieve(first.id).output_text == "hello"
