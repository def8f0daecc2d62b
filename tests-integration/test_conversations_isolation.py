"""The isolation matrix: user B cannot read, list, continue, delete or append to user A's responses
and conversations on any endpoint. Each attempt is a 404 (never a 403) that reads exactly like the
404 for an id nobody has, and A's data is unchanged afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest

from hosting.core import ApiKeyAuthenticator, Host, SQLiteStore
from hosting.responses import ResponsesChannel
from hosting.testing import EchoAgent

KEYS = {"key-alice": "alice", "key-bob": "bob"}


@dataclass
class World:
    alice: openai.OpenAI
    bob: openai.OpenAI
    response_id: str
    conversation_id: str
    item_id: str
    bob_conversation_id: str


def connect(url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=20)


@pytest.fixture
def world(served: Callable[..., str], tmp_path: Path) -> Iterator[World]:
    host = Host(
        EchoAgent(),
        channels=[ResponsesChannel()],
        store=SQLiteStore(tmp_path),
        authenticator=ApiKeyAuthenticator(KEYS),
    )
    url = served(host)
    with connect(url, "key-alice") as alice, connect(url, "key-bob") as bob:
        conversation = alice.conversations.create(
            items=[{"role": "user", "content": "alice's secret"}], metadata={"owner": "alice"}
        )
        alice.responses.create(model="echo", input="in the conversation", conversation=conversation.id)
        response = alice.responses.create(model="echo", input="alice's question")
        item_id = alice.conversations.items.list(conversation.id, order="asc").data[0].id
        assert item_id is not None
        bob_conversation = bob.conversations.create()
        yield World(alice, bob, response.id, conversation.id, item_id, bob_conversation.id)


def snapshot(world: World) -> dict[str, Any]:
    """Everything of Alice's that Bob's attempts could have changed, as Alice sees it."""
    alice = world.alice
    return {
        "response": alice.responses.retrieve(world.response_id).model_dump(),
        "input_items": [item.model_dump() for item in alice.responses.input_items.list(world.response_id)],
        "conversation": alice.conversations.retrieve(world.conversation_id).model_dump(),
        "items": [
            item.model_dump() for item in alice.conversations.items.list(world.conversation_id, limit=100)
        ],
    }


Attempt = Callable[[openai.OpenAI, World, bool], Any]
"""Bob's call: on Alice's ids (`real=True`) or on ids of the same shape that nobody has."""


def _ids(world: World, real: bool) -> tuple[str, str, str]:
    if real:
        return world.response_id, world.conversation_id, world.item_id
    return "resp_" + "0" * 48, "conv_" + "0" * 48, "msg_" + "0" * 48


def _turn(previous: str | None = None, conversation: Any = None) -> dict[str, Any]:
    fields: dict[str, Any] = {"model": "echo", "input": "bob was here"}
    if previous is not None:
        fields["previous_response_id"] = previous
    if conversation is not None:
        fields["conversation"] = conversation
    return fields


ATTEMPTS: dict[str, Attempt] = {
    "responses.retrieve": lambda sdk, w, real: sdk.responses.retrieve(_ids(w, real)[0]),
    "responses.retrieve stream": lambda sdk, w, real: list(
        sdk.responses.retrieve(_ids(w, real)[0], stream=True)
    ),
    "responses.delete": lambda sdk, w, real: sdk.responses.delete(_ids(w, real)[0]),
    "responses.input_items.list": lambda sdk, w, real: sdk.responses.input_items.list(_ids(w, real)[0]),
    "responses.create continuing a response": lambda sdk, w, real: sdk.responses.create(
        **_turn(previous=_ids(w, real)[0])
    ),
    "responses.create streaming, continuing a response": lambda sdk, w, real: list(
        sdk.responses.create(stream=True, **_turn(previous=_ids(w, real)[0]))
    ),
    "responses.create in a conversation": lambda sdk, w, real: sdk.responses.create(
        **_turn(conversation=_ids(w, real)[1])
    ),
    "responses.create in a conversation given as an object": lambda sdk, w, real: sdk.responses.create(
        **_turn(conversation={"id": _ids(w, real)[1]})
    ),
    "responses.create referencing an item": lambda sdk, w, real: sdk.responses.create(
        model="echo",
        input=[{"type": "item_reference", "id": _ids(w, real)[2]}],
        conversation=w.bob_conversation_id,
    ),
    "conversations.retrieve": lambda sdk, w, real: sdk.conversations.retrieve(_ids(w, real)[1]),
    "conversations.update": lambda sdk, w, real: sdk.conversations.update(
        _ids(w, real)[1], metadata={"owner": "bob"}
    ),
    "conversations.delete": lambda sdk, w, real: sdk.conversations.delete(_ids(w, real)[1]),
    "conversations.items.list": lambda sdk, w, real: sdk.conversations.items.list(_ids(w, real)[1]),
    "conversations.items.create": lambda sdk, w, real: sdk.conversations.items.create(
        _ids(w, real)[1], items=[{"role": "user", "content": "injected by bob"}]
    ),
    "conversations.items.retrieve": lambda sdk, w, real: sdk.conversations.items.retrieve(
        _ids(w, real)[2], conversation_id=_ids(w, real)[1]
    ),
    "conversations.items.delete": lambda sdk, w, real: sdk.conversations.items.delete(
        _ids(w, real)[2], conversation_id=_ids(w, real)[1]
    ),
}


def _not_found(attempt: Attempt, world: World, real: bool) -> dict[str, Any]:
    with pytest.raises(openai.NotFoundError) as caught:
        attempt(world.bob, world, real)
    assert caught.value.status_code == 404
    body = caught.value.body
    assert isinstance(body, dict)
    return body


@pytest.mark.parametrize("operation", sorted(ATTEMPTS))
def test_another_user_gets_the_404_of_an_unknown_id(world: World, operation: str) -> None:
    before = snapshot(world)
    attempt = ATTEMPTS[operation]

    on_alices = _not_found(attempt, world, True)
    on_nobodys = _not_found(attempt, world, False)

    # The same answer as for an id nobody has, once the id itself is taken out of the message.
    alices_ids, nobodys_ids = _ids(world, True), _ids(world, False)
    message = on_alices["message"]
    for real, fake in zip(alices_ids, nobodys_ids, strict=True):
        message = message.replace(real, fake)
    assert {**on_alices, "message": message} == on_nobodys
    assert snapshot(world) == before


def test_alice_still_has_everything_and_bob_has_only_his_own(world: World) -> None:
    assert world.alice.responses.retrieve(world.response_id).output_text == "alice's question"
    items = world.alice.conversations.items.list(world.conversation_id, order="asc")
    assert [item.type for item in items.data] == ["message", "message", "message"]
    assert world.bob.conversations.retrieve(world.bob_conversation_id).id == world.bob_conversation_id
    with pytest.raises(openai.NotFoundError):
        world.alice.conversations.retrieve(world.bob_conversation_id)
