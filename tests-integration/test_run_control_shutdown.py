"""SIGTERM and Ctrl-C with clients still connected, in real server processes.

The host learns of the signal when it arrives: runs in flight get the grace period, then end
``incomplete`` (cause ``shutdown``); an open stream gets ``response.incomplete`` and ``[DONE]``; a
plain request gets its answer; and the process is gone within the grace period and a second, with
nothing logged as an error. The same under plain ``uvicorn``, ``hosting serve``, ``Host.serve()``
and the default sample (``make serve``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import openai
import pytest

from hosting.core import Host, MemoryStore, RunContext
from hosting.responses import ResponsesChannel
from hosting.testing import server_process, serving

GRACE = 1.0
SAMPLES = Path(__file__).resolve().parents[1] / "samples"
HOSTING = Path(sys.executable).parent / "hosting"
START_TIMEOUT = 30.0

APP = textwrap.dedent(
    f"""
    import asyncio
    import logging

    from hosting.core import Host
    from hosting.responses import ResponsesChannel

    # Every record with its level, so the test can tell an error from the rest.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")


    async def slow(context):
        seconds = float(context.input_text)
        yield "started "
        await asyncio.sleep(seconds)
        yield "finished"


    host = Host(slow, channels=[ResponsesChannel()], shutdown_grace={GRACE})

    if __name__ == "__main__":
        host.serve(port=0)
    """
)

_LISTENING = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=30)


@dataclass
class Launched:
    """A server process started by a test: how to stop it and what it printed."""

    base_url: str
    stop: Callable[[signal.Signals], int]
    output: Callable[[], str]


@contextlib.contextmanager
def launch(
    command: list[str], cwd: Path, env: Mapping[str, str], listening: re.Pattern[str]
) -> Iterator[Launched]:
    """Run `command`; yield once a line of its output matches `listening` (group 1: the base URL)."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    arrived: queue.Queue[str] = queue.Queue()
    lines: list[str] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            arrived.put(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()

    def stop(sig: signal.Signals) -> int:
        if process.poll() is None:
            process.send_signal(sig)
        return process.wait(timeout=30)

    try:
        deadline = time.monotonic() + START_TIMEOUT
        base_url = None
        while base_url is None:
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError("the server did not start:\n" + "".join(lines))
            with contextlib.suppress(queue.Empty):
                match = listening.search(arrived.get(timeout=0.1))
                if match:
                    base_url = match.group(1)

        def output() -> str:
            """Everything it printed (all of it once it has exited)."""
            if process.poll() is not None:
                reader.join(timeout=5)
            return "".join(lines)

        yield Launched(base_url, stop, output)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()


@dataclass
class Clients:
    """Requests in flight when the signal comes, each in a thread of its own."""

    events: dict[str, list[openai.types.responses.ResponseStreamEvent]] = field(default_factory=dict)
    answers: dict[str, openai.types.responses.Response] = field(default_factory=dict)
    failures: list[BaseException] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)

    def stream(self, sdk: openai.OpenAI, name: str, text: str) -> None:
        seen = self.events.setdefault(name, [])

        def follow() -> None:
            try:
                for event in sdk.responses.create(model="slow", input=text, stream=True):
                    seen.append(event)
            except BaseException as error:  # the test reports it; a thread would swallow it
                self.failures.append(error)

        self._start(follow)

    def wait_for(self, sdk: openai.OpenAI, name: str, text: str) -> None:
        def ask() -> None:
            try:
                self.answers[name] = sdk.responses.create(model="slow", input=text)
            except BaseException as error:
                self.failures.append(error)

        self._start(ask)

    def _start(self, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        self.threads.append(thread)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=10)
        assert not any(thread.is_alive() for thread in self.threads)
        assert not self.failures, self.failures


def wait_until(condition: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def cause(response: openai.types.responses.Response) -> object:
    details = response.incomplete_details
    return getattr(details, "cause", None) if details is not None else None


def assert_quiet(output: str) -> None:
    assert "Traceback" not in output, output
    assert "ERROR" not in output, output
    assert "CRITICAL" not in output, output
    assert "Exception" not in output, output


def assert_ended_by_shutdown(response: openai.types.responses.Response) -> None:
    assert response.status == "incomplete"
    assert cause(response) == "shutdown"
    assert response.output_text == "started "


# -- the host as its own server: plain uvicorn, hosting serve, Host.serve() --------------------------

SERVERS = {
    # uvicorn raises the signal again once it has stopped gracefully: the process ends by it.
    "uvicorn": ([sys.executable, "-m", "uvicorn", "app:host", "--host", "127.0.0.1", "--port", "0"], -15),
    "hosting serve": ([str(HOSTING), "serve", "app:host", "--host", "127.0.0.1", "--port", "0"], 0),
    "Host.serve": ([sys.executable, "app.py"], -15),
}


@pytest.mark.parametrize("server", list(SERVERS))
def test_sigterm_ends_streams_plain_and_background_runs_incomplete_within_the_grace_period(
    tmp_path: Path, server: str
) -> None:
    (tmp_path / "app.py").write_text(APP)
    env = {"HOSTING_DATA_DIR": str(tmp_path / "data")}
    command, exit_code = SERVERS[server]
    clients = Clients()
    with launch(command, tmp_path, env, _LISTENING) as launched, client(launched.base_url) as sdk:
        background = sdk.responses.create(model="slow", input="60", background=True)
        clients.stream(sdk, "long", "60")
        clients.stream(sdk, "short", "0.5")  # ends within the grace period: completed
        clients.wait_for(sdk, "plain", "60")
        wait_until(lambda: len(clients.events["long"]) >= 5 and len(clients.events["short"]) >= 5)
        time.sleep(0.3)  # the plain request's run has begun too
        started = time.monotonic()
        code = launched.stop(signal.SIGTERM)
        elapsed = time.monotonic() - started
        clients.join()
        output = launched.output()

    assert code == exit_code, output
    assert GRACE - 0.1 < elapsed < GRACE + 1.5, elapsed
    assert_quiet(output)
    assert "Application shutdown complete." in output

    long = clients.events["long"]
    assert [event.type for event in long[-2:]] == ["response.output_item.done", "response.incomplete"]
    final = long[-1].response  # type: ignore[union-attr]
    assert_ended_by_shutdown(final)
    assert [event.sequence_number for event in long] == list(range(len(long)))
    short = clients.events["short"]
    assert short[-1].type == "response.completed"
    assert short[-1].response.output_text == "started finished"
    plain = clients.answers["plain"]
    assert_ended_by_shutdown(plain)

    # All of it as stored: read back from the next server on the same data.
    with server_process(tmp_path, env=env) as again, client(again.base_url) as sdk:
        for response_id in (final.id, plain.id, background.id):
            assert_ended_by_shutdown(sdk.responses.retrieve(response_id))
        assert sdk.responses.retrieve(short[-1].response.id).status == "completed"
        # The stream stored for the stream's client replays with the same end.
        replayed = list(sdk.responses.retrieve(final.id, stream=True))
        assert [event.type for event in replayed] == [event.type for event in long]


def test_a_server_with_nothing_in_flight_stops_at_once(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    env = {"HOSTING_DATA_DIR": str(tmp_path / "data")}
    with server_process(tmp_path, env=env) as server, client(server.base_url) as sdk:
        assert sdk.responses.create(model="slow", input="0").status == "completed"
        started = time.monotonic()
        server.stop(signal.SIGTERM)
        elapsed = time.monotonic() - started
    assert elapsed < 1.0
    assert_quiet(server.output)


async def slow(context: RunContext) -> AsyncIterator[str]:
    yield "started "
    await asyncio.sleep(float(context.input_text))
    yield "finished"


async def test_while_it_drains_the_host_refuses_new_runs_in_the_channels_error_shape() -> None:
    host = Host(slow, channels=[ResponsesChannel()], store=MemoryStore(), shutdown_grace=0.5)
    async with serving(host) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        done = (await http.post("/v1/responses", json={"model": "slow", "input": "0"})).json()
        running = (
            await http.post("/v1/responses", json={"model": "slow", "input": "30", "background": True})
        ).json()
        host.begin_drain()  # what SIGTERM does first
        refused = await http.post("/v1/responses", json={"model": "slow", "input": "0"})
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "shutting_down"
        assert (await http.get("/readyz")).status_code == 503
        assert (await http.get("/healthz")).status_code == 200
        # Reads still work while it drains.
        assert (await http.get(f"/v1/responses/{done['id']}")).json()["status"] == "completed"
        await asyncio.wait_for(host.drain(), 5)
        ended = (await http.get(f"/v1/responses/{running['id']}")).json()
        assert ended["status"] == "incomplete"
        assert ended["incomplete_details"] == {"reason": None, "cause": "shutdown"}
        assert ended["output"][0]["content"][0]["text"] == "started "


# -- the default sample, as `make serve` runs it ----------------------------------------------------

SAMPLE_GRACE = 10.0  # the default `Host(shutdown_grace=...)`, which the sample keeps
_BANNER = re.compile(r"base_url:\s+(http://127\.0\.0\.1:\d+)/v1")


@contextlib.contextmanager
def default_sample(tmp_path: Path) -> Iterator[tuple[Launched, openai.OpenAI]]:
    command = [sys.executable, str(SAMPLES / "default_agent.py"), "--host", "127.0.0.1", "--port", "0"]
    env = {name: value for name, value in os.environ.items() if not name.startswith("OPENAI_")}
    env["HOSTING_DATA_DIR"] = str(tmp_path / "data")
    with launch(command, tmp_path, env, _BANNER) as launched, client(launched.base_url) as sdk:
        yield launched, sdk


def sample_stream(sdk: openai.OpenAI, words: int) -> Clients:
    """A stream of the offline assistant, which echoes the input word by word (50 a second)."""
    clients = Clients()
    text = " ".join(f"w{number}" for number in range(words))
    seen = clients.events.setdefault("answer", [])

    def follow() -> None:
        try:
            for event in sdk.responses.create(model="assistant", input=text, stream=True):
                seen.append(event)
        except BaseException as error:
            clients.failures.append(error)

    clients._start(follow)
    wait_until(lambda: any(event.type == "response.output_text.delta" for event in seen))
    return clients


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_default_sample_finishes_a_stream_open_at_ctrl_c_or_sigterm_and_exits_0(
    tmp_path: Path, stop: signal.Signals
) -> None:
    with default_sample(tmp_path) as (launched, sdk):
        clients = sample_stream(sdk, words=60)  # about 1 s: within the grace period (10 s)
        started = time.monotonic()
        code = launched.stop(stop)
        elapsed = time.monotonic() - started
        clients.join()
        output = launched.output()
    assert code == 0, output
    assert elapsed < SAMPLE_GRACE + 1.5  # in practice as long as the stream (a busy machine slows it)
    events = clients.events["answer"]
    assert events[-1].type == "response.completed"
    answer = events[-1].response.output_text
    assert answer.startswith("You said: 'w0 w1 w2 ")
    assert "w58 w59'. This is turn 1 of our conversation." in answer
    assert answer.endswith(_HELP_END)
    assert_quiet(output)
    assert "KeyboardInterrupt" not in output
    assert "Application shutdown complete." in output


_HELP_END = "Set OPENAI_API_KEY (and optionally OPENAI_BASE_URL, OPENAI_MODEL) to talk to a real model."


def test_the_default_sample_ends_a_stream_longer_than_its_grace_period_incomplete(tmp_path: Path) -> None:
    with default_sample(tmp_path) as (launched, sdk):
        clients = sample_stream(sdk, words=1500)  # about 30 s: longer than the grace period (10 s)
        started = time.monotonic()
        code = launched.stop(signal.SIGINT)
        elapsed = time.monotonic() - started
        clients.join()
        output = launched.output()
    assert code == 0, output
    assert SAMPLE_GRACE - 0.1 < elapsed < SAMPLE_GRACE + 1.5, elapsed
    events = clients.events["answer"]
    assert events[-1].type == "response.incomplete"
    final = events[-1].response
    assert cause(final) == "shutdown"
    assert final.output_text.startswith("You said: 'w0 w1 w2")
    assert_quiet(output)
    assert "KeyboardInterrupt" not in output
