"""Run control across the life of a real server process: kill -9 and SIGTERM during runs."""

from __future__ import annotations

import signal
import textwrap
import time
from pathlib import Path

import openai

from hosting.testing import server_process

APP = textwrap.dedent(
    """
    import asyncio

    from hosting.core import Host
    from hosting.responses import ResponsesChannel


    async def slow(context):
        seconds = float(context.input_text)
        yield "started "
        await asyncio.sleep(seconds)
        yield "finished"


    # The default store (SQLite under HOSTING_DATA_DIR), a short grace period at shutdown, and a
    # short lease, so the runs of a killed server are ended soon by the next one.
    host = Host(slow, channels=[ResponsesChannel()], shutdown_grace=1.0, runner_lease=1.0)
    """
)


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=20)


def wait_for_status(
    sdk: openai.OpenAI, response_id: str, status: str, within: float = 10.0
) -> openai.types.responses.Response:
    deadline = time.monotonic() + within
    while True:
        response = sdk.responses.retrieve(response_id)
        if response.status == status or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def test_a_background_run_killed_with_the_server_reads_failed_after_restart(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    env = {"HOSTING_DATA_DIR": str(tmp_path / "data")}

    with server_process(tmp_path, env=env, stop=signal.SIGTERM) as server, client(server.base_url) as sdk:
        done = sdk.responses.create(model="slow", input="0")
        running = sdk.responses.create(model="slow", input="60", background=True)
        assert wait_for_status(sdk, running.id, "in_progress").status == "in_progress"
        assert server.stop(signal.SIGKILL) == -signal.SIGKILL  # a crash: no shutdown at all

    with server_process(tmp_path, env=env) as server, client(server.base_url) as sdk:
        # Ended once the killed server's lease has run out.
        interrupted = wait_for_status(sdk, running.id, "failed")
        assert interrupted.status == "failed"
        assert interrupted.error is not None
        assert "interrupted" in interrupted.error.message.lower()
        # Everything else is intact: the finished response, and the server takes new work.
        assert sdk.responses.retrieve(done.id).output_text == "started finished"
        assert sdk.responses.create(model="slow", input="0").output_text == "started finished"


def test_sigterm_lets_short_runs_finish_and_ends_long_ones_incomplete(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    env = {"HOSTING_DATA_DIR": str(tmp_path / "data")}

    with server_process(tmp_path, env=env) as server, client(server.base_url) as sdk:
        short = sdk.responses.create(model="slow", input="0.3", background=True)
        long = sdk.responses.create(model="slow", input="60", background=True)
        wait_for_status(sdk, long.id, "in_progress")
        started = time.monotonic()
        assert server.stop(signal.SIGTERM) == -signal.SIGTERM  # uvicorn ends by the signal it got
        elapsed = time.monotonic() - started
    # The grace period (1 s) bounds the wait, not the 60 s run, and nothing is cut with an error.
    assert 0.9 < elapsed < 2.5, elapsed
    assert "Traceback" not in server.output
    assert "ERROR" not in server.output

    with server_process(tmp_path, env=env) as server, client(server.base_url) as sdk:
        assert sdk.responses.retrieve(short.id).status == "completed"
        ended = sdk.responses.retrieve(long.id)
        assert ended.status == "incomplete"
        assert ended.incomplete_details is not None
        assert getattr(ended.incomplete_details, "cause", None) == "shutdown"
        assert ended.output_text == "started "


def test_a_stream_resumed_after_kill_9_ends_with_a_terminal_event_after_what_was_seen(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    env = {"HOSTING_DATA_DIR": str(tmp_path / "data")}

    with server_process(tmp_path, env=env, stop=signal.SIGTERM) as server, client(server.base_url) as sdk:
        seen: list[object] = []
        stream = sdk.responses.create(model="slow", input="60", stream=True)
        for event in stream:
            seen.append(event)
            if event.type == "response.output_text.delta":
                break
        time.sleep(0.5)  # the events seen are stored as the run goes, not only at its end
        assert server.stop(signal.SIGKILL) == -signal.SIGKILL
    response_id = seen[0].response.id  # type: ignore[attr-defined]
    last = seen[-1].sequence_number  # type: ignore[attr-defined]

    with server_process(tmp_path, env=env) as server, client(server.base_url) as sdk:
        failed = wait_for_status(sdk, response_id, "failed")
        assert failed.status == "failed"
        assert failed.output_text == "started "  # the output the client had already received
        resumed = list(sdk.responses.retrieve(response_id, stream=True, starting_after=last))
        assert resumed, "the resumed stream is empty"
        assert [event.sequence_number for event in resumed] == list(range(last + 1, last + 1 + len(resumed)))
        assert resumed[-1].type == "response.failed"
        # From the start, the same numbers the client saw before the crash, then the end.
        replayed = list(sdk.responses.retrieve(response_id, stream=True))
        assert [event.type for event in replayed[: len(seen)]] == [event.type for event in seen]  # type: ignore[attr-defined]
        assert replayed[-1].type == "response.failed"
