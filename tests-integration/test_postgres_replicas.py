"""Two replicas of one host on one PostgreSQL database behind a real nginx, driven by the
official openai SDK: chains and conversations continued on either replica, background runs,
idempotency keys, live follow, cancel and a replica killed with SIGKILL.

The services come from ``scripts/postgres.sh`` and ``scripts/nginx.sh`` (installed from the
distribution's packages when missing) and are stopped at the end of the module;
``HOSTING_TEST_DATABASE_URL`` points the tests at a server of your own instead.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest

from hosting.testing import ServerProcess, server_process

ROOT = Path(__file__).resolve().parents[1]

APP = textwrap.dedent(
    """
    import asyncio
    import os

    from hosting.core import Host, Message
    from hosting.postgres import store_from_environ
    from hosting.responses import ResponsesChannel

    REPLICA = os.environ["REPLICA"]


    async def agent(context):
        text = context.input_text
        if text.startswith("slow "):
            # "slow N": N parts, a fifth of a second apart, each naming the replica that ran it.
            for part in range(int(text.split()[1])):
                if part:
                    await asyncio.sleep(0.2)
                yield f"{REPLICA}{part} "
            return
        said = [item.text for item in context.messages if isinstance(item, Message) and item.role == "user"]
        yield REPLICA + ": " + " | ".join(said)


    host = Host(
        agent,
        channels=[ResponsesChannel()],
        store=store_from_environ(),
        runner_lease=1.0,
        shutdown_grace=1.0,
    )
    """
)


def _script(name: str, *arguments: str) -> dict[str, str]:
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / name), *arguments],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"scripts/{name} {' '.join(arguments)} failed:\n{result.stderr}")
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    own = os.environ.get("HOSTING_TEST_DATABASE_URL")
    if own:
        yield own
        return
    started = _script("postgres.sh", "start")
    try:
        yield started["POSTGRES_URL"]
    finally:
        _script("postgres.sh", "stop", started["POSTGRES_DIR"])


@dataclass
class Cluster:
    """Two replicas (`a`, `b`) and the load balancer in front of them (`url`)."""

    url: str
    a: ServerProcess
    b: ServerProcess
    directory: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def cluster(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    directory = tmp_path_factory.mktemp("replicas")
    (directory / "app.py").write_text(APP)
    env = {"HOSTING_DATABASE_URL": database_url, "HOSTING_DATABASE_SCHEMA": f"r_{secrets.token_hex(6)}"}
    with (
        server_process(directory, env={**env, "REPLICA": "A"}) as a,
        server_process(directory, env={**env, "REPLICA": "B"}) as b,
    ):
        balancer = _script(
            "nginx.sh", "start", a.base_url.removeprefix("http://"), b.base_url.removeprefix("http://")
        )
        try:
            yield Cluster(balancer["NGINX_URL"], a, b, directory, env)
        finally:
            _script("nginx.sh", "stop", balancer["NGINX_DIR"])


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="key-alice", max_retries=0, timeout=30)


def wait_for_status(
    sdk: openai.OpenAI, response_id: str, statuses: tuple[str, ...], within: float = 15.0
) -> openai.types.responses.Response:
    deadline = time.monotonic() + within
    while True:
        response = sdk.responses.retrieve(response_id)
        if response.status in statuses or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


# -- through the load balancer ---------------------------------------------------------------------


def test_the_load_balancer_spreads_a_chain_over_both_replicas_and_its_history_holds(cluster: Cluster) -> None:
    with client(cluster.url) as sdk:
        previous: str | None = None
        upstreams: set[str] = set()
        said: list[str] = []
        answers: list[openai.types.responses.Response] = []
        for turn in range(6):
            said.append(f"q{turn}")
            raw = sdk.responses.with_raw_response.create(
                model="any", input=said[-1], previous_response_id=previous, store=True
            )
            upstreams.add(raw.headers["x-hosting-upstream"])
            response = raw.parse()
            assert response.output_text.split(": ", 1)[1] == " | ".join(said)
            answers.append(response)
            previous = response.id
        assert upstreams == {
            cluster.a.base_url.removeprefix("http://"),
            cluster.b.base_url.removeprefix("http://"),
        }
        served_by = {answer.output_text.split(":")[0] for answer in answers}
        assert served_by == {"A", "B"}
    # Every response stored is the same, whichever replica is asked (and nginx is not needed).
    with client(cluster.a.base_url) as on_a, client(cluster.b.base_url) as on_b:
        for answer in answers:
            assert on_a.responses.retrieve(answer.id).model_dump() == answer.model_dump()
            assert on_b.responses.retrieve(answer.id).model_dump() == answer.model_dump()


def test_a_stream_through_the_load_balancer_arrives_as_it_is_produced(cluster: Cluster) -> None:
    with client(cluster.url) as sdk:
        arrivals: list[tuple[float, str]] = []
        started = time.monotonic()
        for event in sdk.responses.create(model="any", input="slow 6", stream=True):
            arrivals.append((time.monotonic() - started, event.type))
        deltas = [at for at, kind in arrivals if kind == "response.output_text.delta"]
        assert len(deltas) == 6
        assert arrivals[-1][1] == "response.completed"
        # Unbuffered: the first delta came about a second before the last (0.2 s apart each).
        assert deltas[-1] - deltas[0] > 0.7


# -- one replica, then the other -------------------------------------------------------------------


def test_a_chain_continued_alternately_on_both_replicas_keeps_its_history(cluster: Cluster) -> None:
    with client(cluster.a.base_url) as on_a, client(cluster.b.base_url) as on_b:
        previous: str | None = None
        said: list[str] = []
        for turn, (sdk, name) in enumerate([(on_a, "A"), (on_b, "B")] * 3):
            said.append(f"turn {turn}")
            response = sdk.responses.create(model="any", input=said[-1], previous_response_id=previous)
            assert response.output_text == f"{name}: " + " | ".join(said)
            previous = response.id


def test_a_conversation_continued_alternately_on_both_replicas_keeps_its_history(cluster: Cluster) -> None:
    with client(cluster.a.base_url) as on_a, client(cluster.b.base_url) as on_b:
        conversation = on_a.conversations.create()
        said: list[str] = []
        for turn, (sdk, name) in enumerate([(on_b, "B"), (on_a, "A")] * 3):
            said.append(f"message {turn}")
            response = sdk.responses.create(model="any", input=said[-1], conversation=conversation.id)
            assert response.output_text == f"{name}: " + " | ".join(said)
        items = list(on_b.conversations.items.list(conversation.id, order="asc"))
        texts = [part.text for item in items for part in item.content]  # type: ignore[union-attr]
        assert len(texts) == 12
        assert texts[0::2] == said
        assert [text.split(": ")[0] for text in texts[1::2]] == ["B", "A"] * 3
        assert items == list(on_a.conversations.items.list(conversation.id, order="asc"))


def test_concurrent_turns_of_one_conversation_on_both_replicas_take_turns(cluster: Cluster) -> None:
    with client(cluster.a.base_url) as on_a, client(cluster.b.base_url) as on_b:
        conversation = on_a.conversations.create()
        first = on_a.responses.create(
            model="any", input="slow 5", conversation=conversation.id, background=True
        )
        wait_for_status(on_a, first.id, ("in_progress",))
        started = time.monotonic()
        # Sent while A's turn runs: B's turn waits for it (the default policy), then sees it.
        second = on_b.responses.create(model="any", input="after", conversation=conversation.id)
        assert time.monotonic() - started > 0.3
        assert on_b.responses.retrieve(first.id).status == "completed"
        assert second.output_text == "B: slow 5 | after"
        items = list(on_a.conversations.items.list(conversation.id, order="asc"))
        texts = [part.text for item in items for part in item.content]  # type: ignore[union-attr]
        assert texts == ["slow 5", "A0 A1 A2 A3 A4 ", "after", "B: slow 5 | after"]


def test_a_background_run_created_on_one_replica_is_retrieved_on_the_other(cluster: Cluster) -> None:
    with client(cluster.a.base_url) as on_a, client(cluster.b.base_url) as on_b:
        created = on_a.responses.create(model="any", input="slow 4", background=True)
        assert created.status in ("queued", "in_progress")
        seen_running = on_b.responses.retrieve(created.id)
        assert seen_running.status in ("queued", "in_progress")
        done = wait_for_status(on_b, created.id, ("completed", "failed", "cancelled", "incomplete"))
        assert done.status == "completed"
        assert done.output_text == "A0 A1 A2 A3 "  # run by A, read on B
        assert on_a.responses.retrieve(created.id).model_dump() == done.model_dump()


def test_an_idempotency_key_retried_on_the_other_replica_attaches_to_the_first_run(cluster: Cluster) -> None:
    key = {"Idempotency-Key": f"order-{secrets.token_hex(4)}"}
    with client(cluster.a.base_url) as on_a, client(cluster.b.base_url) as on_b:
        first = on_a.responses.create(model="any", input="slow 3", background=True, extra_headers=key)
        retried = on_b.responses.create(model="any", input="slow 3", background=True, extra_headers=key)
        assert retried.id == first.id
        done = wait_for_status(on_b, first.id, ("completed",))
        assert done.output_text == "A0 A1 A2 "  # A ran it, once; B only attached
        again = on_b.responses.create(model="any", input="slow 3", background=True, extra_headers=key)
        assert again.id == first.id
        with pytest.raises(openai.ConflictError):
            on_b.responses.create(model="any", input="another body", extra_headers=key)
        # A foreground request retried on the other replica gets the first one's answer.
        other = {"Idempotency-Key": f"order-{secrets.token_hex(4)}"}
        answered = on_b.responses.create(model="any", input="once", extra_headers=other)
        assert answered.output_text == "B: once"
        repeated = on_a.responses.create(model="any", input="once", extra_headers=other)
        assert repeated.id == answered.id and repeated.output_text == "B: once"


def test_a_stream_started_on_one_replica_is_followed_live_on_the_other(cluster: Cluster) -> None:
    with client(cluster.a.base_url) as on_a, client(cluster.b.base_url) as on_b:
        stream = on_a.responses.create(model="any", input="slow 10", stream=True)
        first_events = []
        for event in stream:
            first_events.append(event)
            if event.type == "response.output_text.delta":
                break
        response_id = first_events[0].response.id  # type: ignore[union-attr]
        last = first_events[-1].sequence_number

        followed: list[tuple[float, object]] = []
        original: list[object] = list(first_events)

        def drain_original() -> None:
            original.extend(stream)

        reader = threading.Thread(target=drain_original)
        reader.start()
        for event in on_b.responses.retrieve(response_id, stream=True, starting_after=last):
            followed.append((time.monotonic(), event))
        reader.join(timeout=30)
        ended = time.monotonic()

        events = [event for _, event in followed]
        numbers = [event.sequence_number for event in events]  # type: ignore[attr-defined]
        # Every event after the one given, once, in order, without a gap, to the end.
        assert numbers == list(range(last + 1, last + 1 + len(numbers)))
        assert events[-1].type == "response.completed"  # type: ignore[attr-defined]
        assert [e.type for e in events] == [e.type for e in original[last + 1 :]]  # type: ignore[attr-defined]
        deltas = [e.delta for e in events if e.type == "response.output_text.delta"]  # type: ignore[attr-defined]
        assert "".join(deltas) == "".join(f"A{part} " for part in range(1, 10))
        # Live: the follower had its first delta about two seconds before the run's end.
        first_delta = next(at for at, e in followed if e.type == "response.output_text.delta")  # type: ignore[attr-defined]
        assert ended - first_delta > 1.0


def _cancel_with_a_follower(
    cluster: Cluster, follow_on: str
) -> tuple[list[object], openai.types.responses.Response]:
    """Start a long run on A, follow it on `follow_on`, cancel it through B; return what the
    follower saw and the stored response."""
    with client(cluster.a.base_url) as on_a, client(cluster.b.base_url) as on_b:
        watcher = on_a if follow_on == "A" else on_b
        created = on_a.responses.create(model="any", input="slow 200", background=True)
        wait_for_status(on_a, created.id, ("in_progress",))
        time.sleep(0.5)
        follower_events: list[object] = []
        follower = threading.Thread(
            target=lambda: follower_events.extend(watcher.responses.retrieve(created.id, stream=True))
        )
        follower.start()
        time.sleep(0.3)
        started = time.monotonic()
        cancelled = on_b.responses.cancel(created.id)
        assert cancelled.status == "cancelled"
        follower.join(timeout=10)
        assert not follower.is_alive()
        assert time.monotonic() - started < 3.0
        # The replica running it stops it at its next heartbeat (a third of the lease).
        final = wait_for_status(on_a, created.id, ("cancelled",), within=2.0)
        assert final.status == "cancelled"
        # The run stopped on A: what is stored no longer changes.
        time.sleep(0.6)
        assert on_b.responses.retrieve(created.id).model_dump() == final.model_dump()
        return follower_events, final


def _ends_cancelled(events: list[object]) -> None:
    """The stream ended with the terminal event of a cancel (the SDK has no ``response.cancelled``
    event: ``response.incomplete`` whose response says ``cancelled``), numbered without a gap."""
    assert events, "the follower saw nothing"
    last = events[-1]
    assert last.type == "response.incomplete"  # type: ignore[attr-defined]
    assert last.response.status == "cancelled"  # type: ignore[attr-defined]
    numbers = [event.sequence_number for event in events]  # type: ignore[attr-defined]
    assert numbers == list(range(len(numbers)))


def test_a_cancel_sent_to_the_other_replica_stops_the_run_and_a_follower_there_sees_the_end(
    cluster: Cluster,
) -> None:
    events, _ = _cancel_with_a_follower(cluster, follow_on="B")
    _ends_cancelled(events)


def test_a_cancel_sent_to_the_other_replica_ends_the_streams_of_followers_on_the_running_replica(
    cluster: Cluster,
) -> None:
    events, _ = _cancel_with_a_follower(cluster, follow_on="A")
    _ends_cancelled(events)


def test_a_replica_killed_mid_run_has_its_run_failed_by_the_survivor(cluster: Cluster) -> None:
    replica_c = {**cluster.env, "REPLICA": "C"}
    with (
        server_process(cluster.directory, env=replica_c, stop=signal.SIGKILL) as doomed,
        client(doomed.base_url) as on_c,
    ):
        seen = []
        stream = on_c.responses.create(model="any", input="slow 200", stream=True)
        for event in stream:
            seen.append(event)
            if event.type == "response.output_text.delta":
                break
        time.sleep(0.4)  # the events seen are stored as the run goes
        response_id = seen[0].response.id  # type: ignore[union-attr]
        last = seen[-1].sequence_number
        assert doomed.stop(signal.SIGKILL) == -signal.SIGKILL
        killed = time.monotonic()
    with client(cluster.b.base_url) as on_b:
        failed = wait_for_status(on_b, response_id, ("failed",), within=10)
        assert failed.status == "failed"
        assert time.monotonic() - killed < 5.0  # the lease (1 s) and a heartbeat or two
        assert failed.output_text.startswith("C0 ")  # what C had stored before it died
        resumed = list(on_b.responses.retrieve(response_id, stream=True, starting_after=last))
        assert resumed, "the resumed stream is empty"
        assert [event.sequence_number for event in resumed] == list(range(last + 1, last + 1 + len(resumed)))
        assert resumed[-1].type == "response.failed"
