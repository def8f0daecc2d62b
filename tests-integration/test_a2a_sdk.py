"""The A2A channel driven by the official a2a-sdk client over a real loopback uvicorn: card
discovery, send (blocking and returning at once), stream, get, cancel, subscribe again after a
dropped stream, list, parts in and out, and one conversation shared with the Responses channel."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from a2a.client import (
    A2ACardResolver,
    A2AClientError,
    AuthInterceptor,
    Client,
    ClientCallContext,
    ClientConfig,
    CredentialService,
    create_client,
)
from a2a.types import (
    AgentCard,
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    Task,
    TaskState,
)
from openai import AsyncOpenAI

from hosting.a2a import A2AChannel
from hosting.core import (
    ApiKeyAuthenticator,
    FunctionCall,
    FunctionResult,
    Host,
    ImagePart,
    MemoryStore,
    Reasoning,
    SQLiteStore,
    TextPart,
    ToolStep,
)
from hosting.core import Message as NeutralMessage
from hosting.responses import ResponsesChannel
from hosting.testing import Delay, EchoAgent, ScriptedAgent, serving

KEYS = {"key-alice": "alice", "key-bob": "bob"}
WITHIN = 10.0


def make_host(agent: Any, **options: Any) -> Host:
    options.setdefault("store", MemoryStore())
    options.setdefault("authenticator", ApiKeyAuthenticator(KEYS))
    return Host(agent, channels=[ResponsesChannel(), A2AChannel()], **options)


@dataclass
class Caller:
    http: httpx.AsyncClient
    client: Client
    card: AgentCard


@asynccontextmanager
async def caller(url: str, key: str = "key-alice", *, streaming: bool = True) -> AsyncIterator[Caller]:
    """An a2a-sdk client for `url`, found through the agent card, sending `key` as Bearer."""
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=WITHIN) as http:
        client = await create_client(url, ClientConfig(httpx_client=http, streaming=streaming))
        card = await client.get_card() if hasattr(client, "get_card") else client._card  # type: ignore[attr-defined]
        yield Caller(http, client, card)


def user(text: str | None = None, *, context_id: str = "", parts: Sequence[Part] = ()) -> SendMessageRequest:
    message = Message(message_id="m-1", role=Role.ROLE_USER, context_id=context_id)
    message.parts.extend([Part(text=text)] if text is not None else parts)
    return SendMessageRequest(message=message)


async def collect(stream: AsyncIterator[StreamResponse]) -> list[StreamResponse]:
    return [event async for event in stream]


def answer(task: Task) -> str:
    return "".join(part.text for artifact in task.artifacts for part in artifact.parts)


async def test_card_is_discovered_and_describes_the_endpoint_streaming_and_bearer() -> None:
    host = make_host(EchoAgent())
    async with serving(host) as url, caller(url) as alice:
        card = alice.card
        assert card.name == "echo"
        assert card.capabilities.streaming is True
        assert [(i.url, i.protocol_binding, i.protocol_version) for i in card.supported_interfaces] == [
            (f"{url}/a2a", "JSONRPC", "1.0")
        ]
        assert card.security_schemes["bearer"].http_auth_security_scheme.scheme == "Bearer"
        assert [list(r.schemes) for r in card.security_requirements] == [["bearer"]]
        assert [skill.id for skill in card.skills] == ["echo"]
        assert "text/plain" in card.default_input_modes


class KeyFor(CredentialService):
    """Hands the SDK's auth interceptor one key, for the scheme the card names."""

    def __init__(self, scheme: str, key: str) -> None:
        self.scheme, self.key = scheme, key
        self.asked: list[str] = []

    async def get_credentials(
        self, security_scheme_name: str, context: ClientCallContext | None
    ) -> str | None:
        self.asked.append(security_scheme_name)
        return self.key if security_scheme_name == self.scheme else None


async def test_a_client_discovers_the_card_without_credentials_then_calls_with_its_bearer_key() -> None:
    agent = ScriptedAgent(["hello"])
    host = make_host(agent)
    async with serving(host) as url, httpx.AsyncClient(timeout=WITHIN) as http:
        assert "authorization" not in http.headers
        # The client has no credentials while it resolves the card; the card tells it to send a
        # Bearer key, and the SDK's interceptor adds it to each call.
        card = await A2ACardResolver(http, url).get_agent_card()
        assert card.security_schemes["bearer"].http_auth_security_scheme.scheme == "Bearer"
        assert [list(requirement.schemes) for requirement in card.security_requirements] == [["bearer"]]
        keys = KeyFor("bearer", "key-alice")
        client = await create_client(
            card, ClientConfig(httpx_client=http, streaming=False), interceptors=[AuthInterceptor(keys)]
        )
        (event,) = await collect(client.send_message(user("hi")))
        assert event.task.status.state == TaskState.TASK_STATE_COMPLETED
        assert answer(event.task) == "hello"
        assert keys.asked and set(keys.asked) == {"bearer"}
        assert [run.isolation.user for run in agent.runs] == ["alice"]
        # Found by URL without credentials too, but without the key a call is refused: only the
        # cards are public.
        bare = await create_client(f"{url}/a2a/scripted", ClientConfig(httpx_client=http, streaming=False))
        with pytest.raises(A2AClientError, match=r"401|[Aa]uthentica"):
            await collect(bare.send_message(user("hi")))
        assert len(agent.runs) == 1


async def test_a_host_without_authenticator_declares_no_security() -> None:
    host = Host(EchoAgent(), channels=[A2AChannel()], store=MemoryStore())
    async with serving(host) as url, httpx.AsyncClient() as http:
        card = (await http.get(f"{url}/.well-known/agent-card.json")).json()
        assert "securitySchemes" not in card
        assert card["supportedInterfaces"][0]["url"] == f"{url}/a2a"


async def test_every_agent_has_its_card_and_endpoint_under_its_name() -> None:
    agents = {"first": ScriptedAgent(["one"], name="first"), "second": ScriptedAgent(["two"], name="second")}
    host = make_host(agents)
    async with serving(host) as url, caller(f"{url}/a2a/second") as second:
        assert second.card.name == "second"
        assert second.card.supported_interfaces[0].url == f"{url}/a2a/second"
        events = await collect(second.client.send_message(user("hi")))
        assert answer(await second.client.get_task(GetTaskRequest(id=events[0].task.id))) == "two"
        assert agents["second"].runs and not agents["first"].runs


async def test_send_blocking_returns_the_completed_task() -> None:
    agent = ScriptedAgent(["Hello", ", world"])
    async with serving(make_host(agent)) as url, caller(url, streaming=False) as alice:
        (event,) = await collect(alice.client.send_message(user("hi")))
        task = event.task
        assert task.status.state == TaskState.TASK_STATE_COMPLETED
        assert answer(task) == "Hello, world"
        assert task.id.startswith("resp_") and task.context_id.startswith("conv_")
        assert [(m.role, m.parts[0].text) for m in task.history] == [(Role.ROLE_USER, "hi")]
        assert agent.last_run.input_text == "hi"
        assert agent.last_run.conversation_id == task.context_id


async def test_stream_sends_the_task_then_deltas_then_the_final_status() -> None:
    agent = ScriptedAgent(["Hel", "lo"])
    async with serving(make_host(agent)) as url, caller(url) as alice:
        events = await collect(alice.client.send_message(user("hi")))
        kinds = [event.WhichOneof("payload") for event in events]
        assert kinds[0] == "task"
        assert events[0].task.status.state == TaskState.TASK_STATE_WORKING
        chunks = [e.artifact_update for e in events if e.HasField("artifact_update")]
        assert [c.artifact.parts[0].text for c in chunks] == ["Hel", "lo", ""]
        assert [c.append for c in chunks] == [False, True, True]
        assert [c.last_chunk for c in chunks] == [False, False, True]
        assert len({c.artifact.artifact_id for c in chunks}) == 1
        assert kinds[-1] == "status_update"
        assert events[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED
        task = await alice.client.get_task(GetTaskRequest(id=events[0].task.id))
        assert answer(task) == "Hello"
        assert task.artifacts[0].artifact_id == chunks[0].artifact.artifact_id


async def test_a_message_in_a_context_continues_that_conversation() -> None:
    async with serving(make_host(EchoAgent())) as url, caller(url) as alice:
        first = (await collect(alice.client.send_message(user("one"))))[0].task
        events = await collect(alice.client.send_message(user("two", context_id=first.context_id)))
        second = await alice.client.get_task(GetTaskRequest(id=events[0].task.id))
        assert second.context_id == first.context_id
        assert answer(second) == "one\ntwo"
        fresh = (await collect(alice.client.send_message(user("three"))))[0].task
        assert fresh.context_id != first.context_id


async def test_return_immediately_starts_a_background_task_to_poll() -> None:
    agent = ScriptedAgent([Delay(0.3), "done"])
    async with serving(make_host(agent)) as url, caller(url, streaming=False) as alice:
        request = user("hi")
        request.configuration.CopyFrom(SendMessageConfiguration(return_immediately=True))
        (event,) = await collect(alice.client.send_message(request))
        assert event.task.status.state in (TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING)
        task = event.task
        for _ in range(200):
            task = await alice.client.get_task(GetTaskRequest(id=event.task.id))
            if task.status.state == TaskState.TASK_STATE_COMPLETED:
                break
            await asyncio.sleep(0.05)
        assert task.status.state == TaskState.TASK_STATE_COMPLETED
        assert answer(task) == "done"


async def test_get_task_of_a_running_task_shows_its_output_so_far() -> None:
    agent = ScriptedAgent(["partial", Delay(5)])
    async with serving(make_host(agent)) as url, caller(url) as alice:
        stream = alice.client.send_message(user("hi"))
        first = await anext(stream)
        await anext(stream)  # the first delta was sent
        task = await alice.client.get_task(GetTaskRequest(id=first.task.id))
        assert task.status.state == TaskState.TASK_STATE_WORKING
        assert answer(task) == "partial"
        cancelled = await alice.client.cancel_task(CancelTaskRequest(id=first.task.id))
        assert cancelled.status.state == TaskState.TASK_STATE_CANCELED
        await stream.aclose()


async def test_cancel_stops_the_run_and_the_stream_ends_cancelled() -> None:
    agent = ScriptedAgent(["working", Delay(5), "never"])
    async with serving(make_host(agent)) as url, caller(url) as alice:
        stream = alice.client.send_message(user("hi"))
        first = await anext(stream)
        await agent.wait_for_runs(1)
        cancelled = await alice.client.cancel_task(CancelTaskRequest(id=first.task.id))
        assert cancelled.status.state == TaskState.TASK_STATE_CANCELED
        rest = [event async for event in stream]
        assert rest[-1].status_update.status.state == TaskState.TASK_STATE_CANCELED
        texts = [
            p.text for e in rest if e.HasField("artifact_update") for p in e.artifact_update.artifact.parts
        ]
        assert "never" not in "".join(texts)
        stored = await alice.client.get_task(GetTaskRequest(id=first.task.id))
        assert stored.status.state == TaskState.TASK_STATE_CANCELED
        for _ in range(100):
            if agent.last_run.cancelled:
                break
            await asyncio.sleep(0.02)
        assert agent.last_run.cancelled


async def test_subscribe_after_a_dropped_stream_gets_the_task_so_far_then_the_rest() -> None:
    gate = asyncio.Event()

    async def wait_for_the_subscriber(context: Any) -> None:
        await asyncio.wait_for(gate.wait(), WITHIN)

    agent = ScriptedAgent(["before", wait_for_the_subscriber, " after"])
    async with serving(make_host(agent)) as url:
        async with caller(url) as alice:
            stream = alice.client.send_message(user("hi"))
            first = await anext(stream)
            delta = await anext(stream)
            assert delta.artifact_update.artifact.parts[0].text == "before"
            await stream.aclose()  # the connection drops; the stored run goes on
        async with caller(url) as again:
            subscribed = again.client.subscribe(SubscribeToTaskRequest(id=first.task.id))
            snapshot = await anext(subscribed)
            gate.set()
            events = [snapshot, *[event async for event in subscribed]]
        assert events[0].task.id == first.task.id
        assert answer(events[0].task) == "before"
        later = "".join(
            e.artifact_update.artifact.parts[0].text for e in events if e.HasField("artifact_update")
        )
        assert later == " after"
        assert events[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED
        assert not agent.last_run.cancelled
        async with caller(url) as check:
            assert answer(await check.client.get_task(GetTaskRequest(id=first.task.id))) == "before after"


async def test_a_task_survives_a_restart_of_the_host(tmp_path: Path) -> None:
    async with serving(make_host(EchoAgent(), store=SQLiteStore(tmp_path))) as url, caller(url) as alice:
        task = (await collect(alice.client.send_message(user("keep me"))))[0].task
    async with serving(make_host(EchoAgent(), store=SQLiteStore(tmp_path))) as url, caller(url) as alice:
        stored = await alice.client.get_task(GetTaskRequest(id=task.id))
        assert stored.status.state == TaskState.TASK_STATE_COMPLETED
        assert answer(stored) == "keep me"
        assert stored.history[0].parts[0].text == "keep me"


async def test_list_tasks_pages_filters_by_context_and_status() -> None:
    async with serving(make_host(EchoAgent())) as url, caller(url) as alice:
        first = (await collect(alice.client.send_message(user("a"))))[0].task
        for text in ("b", "c"):
            await collect(alice.client.send_message(user(text, context_id=first.context_id)))
        other = (await collect(alice.client.send_message(user("elsewhere"))))[0].task

        page = await alice.client.list_tasks(ListTasksRequest(context_id=first.context_id, page_size=2))
        assert page.total_size == 3 and len(page.tasks) == 2 and page.next_page_token
        rest = await alice.client.list_tasks(
            ListTasksRequest(context_id=first.context_id, page_size=2, page_token=page.next_page_token)
        )
        assert len(rest.tasks) == 1 and not rest.next_page_token
        listed = [t.history[0].parts[0].text for t in [*page.tasks, *rest.tasks]]
        assert listed == ["c", "b", "a"]  # newest first

        everything = await alice.client.list_tasks(ListTasksRequest(include_artifacts=True))
        assert everything.total_size == 4
        assert other.id in [t.id for t in everything.tasks]
        assert all(t.artifacts for t in everything.tasks)
        without = await alice.client.list_tasks(ListTasksRequest())
        assert not any(t.artifacts for t in without.tasks)
        working = await alice.client.list_tasks(ListTasksRequest(status=TaskState.TASK_STATE_WORKING))
        assert working.total_size == 0


async def test_data_and_file_parts_reach_the_agent_and_files_come_back() -> None:
    png = b"\x89PNG\r\n\x1a\n-not-really"

    async def answer_with_image(context: Any) -> AsyncIterator[Any]:
        yield NeutralMessage("assistant", (TextPart("see"), ImagePart(url="data:image/png;base64,AAEC")))

    agents = {"echo": ScriptedAgent(["ok"], name="echo"), "painter": answer_with_image}
    async with serving(make_host(agents)) as url, caller(url) as alice:
        parts = [
            Part(text="look"),
            Part(raw=png, media_type="image/png", filename="a.png"),
            Part(url="https://example.org/doc.pdf", media_type="application/pdf", filename="doc.pdf"),
        ]
        data = Part()
        data.data.struct_value.update({"city": "Oslo", "days": 3})
        parts.append(data)
        await collect(alice.client.send_message(user(parts=parts)))
        (message,) = agents["echo"].last_run.input  # type: ignore[attr-defined]
        assert isinstance(message, NeutralMessage)
        text, image, document, json_part = message.parts
        assert text == TextPart("look")
        assert isinstance(image, ImagePart)
        assert image.url == "data:image/png;base64," + base64.b64encode(png).decode()
        assert document.url == "https://example.org/doc.pdf" and document.filename == "doc.pdf"  # type: ignore[union-attr]
        assert isinstance(json_part, TextPart)
        assert json.loads(json_part.text) == {"city": "Oslo", "days": 3}  # numbers stay integers

    async with serving(make_host(agents)) as url, caller(f"{url}/a2a/painter") as alice:
        events = await collect(alice.client.send_message(user("paint")))
        task = await alice.client.get_task(GetTaskRequest(id=events[0].task.id))
        text_out, image_out = task.artifacts[0].parts
        assert text_out.text == "see"
        assert (image_out.raw, image_out.media_type) == (b"\x00\x01\x02", "image/png")


async def test_reasoning_and_tool_steps_are_status_updates_and_history() -> None:
    agent = ScriptedAgent(
        [
            Reasoning("thinking it over"),
            FunctionCall("call_1", "clock", '{"tz": "UTC"}'),
            FunctionResult("call_1", "12:00"),
            ToolStep("calendar", '{"day": "today"}', output="no meetings"),
            "It is noon.",
        ]
    )
    async with serving(make_host(agent)) as url, caller(url) as alice:
        events = await collect(alice.client.send_message(user("time?")))
        steps = [
            e.status_update.status.message
            for e in events
            if e.HasField("status_update") and e.status_update.status.HasField("message")
        ]
        kinds = ["reasoning", "function_call", "function_result", "tool_step"]
        assert [m.metadata["kind"] for m in steps] == kinds
        assert steps[0].parts[0].text == "thinking it over"
        assert steps[1].parts[0].data.struct_value["name"] == "clock"
        tool_step = steps[3].parts[0].data.struct_value
        assert (tool_step["name"], tool_step["output"]) == ("calendar", "no meetings")
        task = await alice.client.get_task(GetTaskRequest(id=events[0].task.id))
        assert [m.metadata["kind"] for m in task.history[1:]] == kinds
        assert answer(task) == "It is noon."


async def test_a_context_is_the_conversation_the_responses_api_shows_and_back() -> None:
    async with serving(make_host(EchoAgent())) as url, caller(url) as alice:
        openai_alice = AsyncOpenAI(base_url=f"{url}/v1", api_key="key-alice", max_retries=0)
        openai_bob = AsyncOpenAI(base_url=f"{url}/v1", api_key="key-bob", max_retries=0)
        async with openai_alice, openai_bob:
            task = (await collect(alice.client.send_message(user("from a2a"))))[0].task
            items = await openai_alice.conversations.items.list(task.context_id, order="asc")
            texts = [(item.role, item.content[0].text) for item in items.data]  # type: ignore[union-attr]
            assert texts == [("user", "from a2a"), ("assistant", "from a2a")]

            response = await openai_alice.responses.create(
                model="echo", input="from responses", conversation=task.context_id
            )
            assert response.output_text == "from a2a\nfrom responses"

            events = await collect(alice.client.send_message(user("back on a2a", context_id=task.context_id)))
            third = await alice.client.get_task(GetTaskRequest(id=events[0].task.id))
            assert answer(third) == "from a2a\nfrom responses\nback on a2a"
            # The Responses turn is a task of the context too.
            listed = await alice.client.list_tasks(ListTasksRequest(context_id=task.context_id))
            assert {t.id for t in listed.tasks} == {task.id, response.id, third.id}

            with pytest.raises(Exception) as refused:
                await openai_bob.conversations.items.list(task.context_id)
            assert getattr(refused.value, "status_code", None) == 404
