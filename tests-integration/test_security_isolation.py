"""Two users on every endpoint, completing the matrix of ``test_conversations_isolation.py`` (which
covers stored responses and conversations): live runs (retrieve, resume, cancel), idempotency keys,
and the global routes (models, the OpenAPI document). A last test checks that the two files together
cover every operation of the channel's OpenAPI document, so a new route cannot go untested."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from hosting.core import Host
from hosting.testing import Delay, ScriptedAgent

UNKNOWN = "resp_" + "0" * 48


def slow_or_echo(run: Any) -> Any:
    return [Delay(30), "late"] if run.metadata.get("slow") else run.input_text


@dataclass
class Pair:
    url: str
    alice: openai.OpenAI
    bob: openai.OpenAI
    agent: ScriptedAgent


@pytest.fixture
def pair(make_host: Callable[..., Host], served: Callable[..., str]) -> Iterator[Pair]:
    agent = ScriptedAgent([slow_or_echo], name="echo")
    url = served(make_host(agent))

    def connect(key: str) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=20)

    with connect("key-alice") as alice, connect("key-bob") as bob:
        yield Pair(url, alice, bob, agent)


def not_found(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(openai.NotFoundError) as caught:
        call()
    body = caught.value.body
    assert isinstance(body, dict)
    return body


def same_404(call: Callable[[str], Any], real: str) -> None:
    """Bob's call on Alice's id reads exactly like the same call on an id nobody has."""
    on_alices = not_found(lambda: call(real))
    on_nobodys = not_found(lambda: call(UNKNOWN))
    assert {**on_alices, "message": on_alices["message"].replace(real, UNKNOWN)} == on_nobodys


# -- live runs -------------------------------------------------------------------------------------


def test_another_user_cannot_see_follow_or_cancel_a_live_run(pair: Pair) -> None:
    live = pair.alice.responses.create(model="echo", input="alice's", background=True, metadata={"slow": "1"})
    assert pair.alice.responses.retrieve(live.id).status in ("queued", "in_progress")

    same_404(lambda rid: pair.bob.responses.retrieve(rid), live.id)
    same_404(lambda rid: pair.bob.responses.cancel(rid), live.id)
    same_404(lambda rid: list(pair.bob.responses.retrieve(rid, stream=True, starting_after=0)), live.id)
    same_404(lambda rid: pair.bob.responses.input_items.list(rid), live.id)
    same_404(lambda rid: pair.bob.responses.delete(rid), live.id)

    # Bob's attempts changed nothing: Alice's run is still going, and still hers to cancel.
    assert pair.alice.responses.retrieve(live.id).status in ("queued", "in_progress")
    assert pair.alice.responses.cancel(live.id).status == "cancelled"


def test_idempotency_keys_are_per_user(pair: Pair) -> None:
    def same_body(client: openai.OpenAI) -> str:
        return client.responses.create(
            model="echo", input="same body", extra_headers={"Idempotency-Key": "shared-key"}
        ).id

    alices = same_body(pair.alice)
    assert same_body(pair.alice) == alices  # Alice's retry attaches to her first run
    bobs = same_body(pair.bob)
    assert bobs != alices  # never Alice's response
    other = pair.bob.responses.create(
        model="echo", input="another body", extra_headers={"Idempotency-Key": "another-key"}
    )
    with pytest.raises(openai.ConflictError):  # Bob's own key, reused with another body
        pair.bob.responses.create(
            model="echo", input="changed", extra_headers={"Idempotency-Key": "another-key"}
        )
    # Alice can use the key Bob used, with any body: it is a different key of hers.
    assert pair.alice.responses.create(
        model="echo", input="changed", extra_headers={"Idempotency-Key": "another-key"}
    ).id not in (other.id, alices)
    same_404(lambda rid: pair.bob.responses.retrieve(rid), alices)


def test_another_users_conversations_are_never_listed(pair: Pair) -> None:
    alices = pair.alice.conversations.create(
        items=[{"type": "message", "role": "user", "content": "alice's"}]
    )
    bobs = pair.bob.conversations.create()
    assert [entry["id"] for entry in pair.bob.get("/conversations", cast_to=dict)["data"]] == [bobs.id]
    assert pair.bob.get(f"/conversations?after={alices.id}", cast_to=dict)["data"] == []
    assert [entry["id"] for entry in pair.alice.get("/conversations", cast_to=dict)["data"]] == [alices.id]


# -- global routes ---------------------------------------------------------------------------------


def test_models_and_the_document_are_the_same_for_everyone(pair: Pair) -> None:
    assert [model.id for model in pair.alice.models.list()] == [model.id for model in pair.bob.models.list()]
    assert pair.bob.models.retrieve("echo").id == "echo"
    documents = []
    for key in ("key-alice", "key-bob"):
        with httpx.Client(base_url=pair.url, timeout=10) as http:
            answer = http.get("/v1/openapi.json", headers={"authorization": f"Bearer {key}"})
            assert answer.status_code == 200
            documents.append(answer.json())
    assert documents[0] == documents[1]


# -- the matrix covers every operation -------------------------------------------------------------

# Each operation of the document -> the attempts (by name) that try it as the other user.
COVERED_ELSEWHERE: dict[tuple[str, str], tuple[str, ...]] = {
    ("POST", "/responses"): (
        "responses.create continuing a response",
        "responses.create streaming, continuing a response",
        "responses.create in a conversation",
        "responses.create referencing an item",
    ),
    ("GET", "/responses/{response_id}"): ("responses.retrieve", "responses.retrieve stream"),
    ("DELETE", "/responses/{response_id}"): ("responses.delete",),
    ("GET", "/responses/{response_id}/input_items"): ("responses.input_items.list",),
    ("GET", "/conversations/{conversation_id}"): ("conversations.retrieve",),
    ("POST", "/conversations/{conversation_id}"): ("conversations.update",),
    ("DELETE", "/conversations/{conversation_id}"): ("conversations.delete",),
    ("GET", "/conversations/{conversation_id}/items"): ("conversations.items.list",),
    ("POST", "/conversations/{conversation_id}/items"): ("conversations.items.create",),
    ("GET", "/conversations/{conversation_id}/items/{item_id}"): ("conversations.items.retrieve",),
    ("DELETE", "/conversations/{conversation_id}/items/{item_id}"): ("conversations.items.delete",),
}
COVERED_HERE = {
    ("POST", "/responses/{response_id}/cancel"): test_another_user_cannot_see_follow_or_cancel_a_live_run,
    ("POST", "/responses"): test_idempotency_keys_are_per_user,
    ("GET", "/conversations"): test_another_users_conversations_are_never_listed,
}
# Nothing of a user's is behind these: creating is always one's own, and the rest is the same for all.
GLOBAL = {
    ("POST", "/conversations"),
    ("GET", "/models"),
    ("GET", "/models/{model}"),
    ("GET", "/openapi.json"),
}


def _other_matrix() -> set[str]:
    """The names of the attempts in ``test_conversations_isolation.py`` (read, not imported)."""
    tree = ast.parse(Path(__file__).with_name("test_conversations_isolation.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign) and isinstance(node.value, ast.Dict):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(target, ast.Name) and target.id == "ATTEMPTS" for target in targets):
                return {str(key.value) for key in node.value.keys if isinstance(key, ast.Constant)}
    raise AssertionError("test_conversations_isolation.py has no ATTEMPTS")


def test_the_two_matrices_cover_every_operation_of_the_document(pair: Pair) -> None:
    with httpx.Client(base_url=pair.url, timeout=10) as http:
        document = http.get("/v1/openapi.json", headers={"authorization": "Bearer key-alice"}).json()
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    covered = set(COVERED_ELSEWHERE) | set(COVERED_HERE) | GLOBAL
    assert covered == operations, (
        f"untested: {sorted(operations - covered)}; gone: {sorted(covered - operations)}"
    )
    attempts = _other_matrix()
    named = {name for names in COVERED_ELSEWHERE.values() for name in names}
    assert named <= set(attempts), f"attempts missing from the other matrix: {sorted(named - set(attempts))}"
