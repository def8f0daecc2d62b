"""A store that cannot write, with a real server process on a real filesystem that fills up. Whatever could not be stored is answered as a 5xx in the error shape, a follower
gets a terminal event, nothing already stored changes, and the server takes work again once the
filesystem does.

The filesystem is a small tmpfs mounted for the test (root only; elsewhere the test is skipped).
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from hosting.testing import server_process

APP = textwrap.dedent(
    """
    import asyncio

    from hosting.core import Host
    from hosting.responses import ResponsesChannel


    async def slow(context):
        seconds = float(context.input_text or "0")
        yield "started "
        await asyncio.sleep(seconds)
        yield "finished"


    host = Host(slow, channels=[ResponsesChannel()], shutdown_grace=1.0, runner_lease=1.0)
    """
)


def _mount(options: str, target: Path) -> bool:
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True
    )
    return result.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs of the test's own."""
    target = tmp_path / "disk"
    target.mkdir()
    if os.geteuid() != 0 or not _mount("size=16m", target):
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def fill(disk: Path) -> Path:
    """Fill `disk` to the last byte; return the file that holds the space."""
    filler = disk / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 4096, 1):  # big blocks, then the last pages, then the last bytes
            with contextlib.suppress(OSError):
                for _ in range(64 << 20):  # bounded: far more than a 16 MiB disk takes
                    os.write(descriptor, b"\0" * size)
    finally:
        os.close(descriptor)
    with pytest.raises(OSError) as full:
        (disk / "probe").write_bytes(b"\0" * 65536)
    assert full.value.errno == errno.ENOSPC
    (disk / "probe").unlink(missing_ok=True)
    return filler


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=20)


def assert_storage_error(error: openai.APIStatusError) -> None:
    assert error.status_code >= 500
    body = error.response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "storage_error", body


def test_on_a_full_disk_every_write_is_a_5xx_and_nothing_stored_changes(
    tmp_path: Path, small_disk: Path
) -> None:
    (tmp_path / "app.py").write_text(APP)
    env = {"HOSTING_DATA_DIR": str(small_disk / "data")}
    with server_process(tmp_path, env=env) as server, client(server.base_url) as sdk:
        kept = sdk.responses.create(model="slow", input="0")
        conversation = sdk.conversations.create(items=[{"role": "user", "content": "hello"}])
        turn = sdk.responses.create(model="slow", input="0", conversation=conversation.id)
        before = [item.id for item in sdk.conversations.items.list(conversation.id, limit=100).data]
        filler = fill(small_disk)

        with pytest.raises(openai.APIStatusError) as plain:
            sdk.responses.create(model="slow", input="0")
        assert_storage_error(plain.value)
        with pytest.raises(openai.APIStatusError) as in_conversation:
            sdk.responses.create(model="slow", input="0", conversation=conversation.id)
        assert_storage_error(in_conversation.value)
        with pytest.raises(openai.APIStatusError) as background:
            sdk.responses.create(model="slow", input="0", background=True)
        assert_storage_error(background.value)
        with pytest.raises(openai.APIStatusError) as streamed:
            list(sdk.responses.create(model="slow", input="0", stream=True))
        assert_storage_error(streamed.value)
        with pytest.raises(openai.InternalServerError):
            sdk.conversations.items.create(conversation.id, items=[{"role": "user", "content": "lost"}])
        with pytest.raises(openai.InternalServerError):
            sdk.conversations.create(items=[{"role": "user", "content": "lost"}])

        # What was stored before is there, unchanged.
        assert sdk.responses.retrieve(kept.id).output_text == "started finished"
        assert sdk.responses.retrieve(turn.id).status == "completed"
        after = [item.id for item in sdk.conversations.items.list(conversation.id, limit=100).data]
        assert after == before

        filler.unlink()  # room again: the server takes work at once
        again = sdk.responses.create(model="slow", input="0", conversation=conversation.id)
        assert again.output_text == "started finished"
        assert sdk.responses.retrieve(again.id).status == "completed"
        assert "database or disk is full" in server.output  # the operator is told the cause


def test_a_run_whose_end_cannot_be_stored_ends_failed_for_its_followers_and_in_the_store(
    tmp_path: Path, small_disk: Path
) -> None:
    (tmp_path / "app.py").write_text(APP)
    env = {"HOSTING_DATA_DIR": str(small_disk / "data")}
    with server_process(tmp_path, env=env) as server, client(server.base_url) as sdk:
        background = sdk.responses.create(model="slow", input="1.5", background=True)
        stream = sdk.responses.create(model="slow", input="1.5", stream=True)
        first = next(iter(stream))
        streamed_id = first.response.id  # type: ignore[attr-defined]
        filler = fill(small_disk)  # the runs end while the disk is full

        events = list(stream)
        assert events[-1].type == "response.failed"
        assert events[-1].response.error is not None  # type: ignore[attr-defined]
        assert events[-1].response.error.code == "server_error"  # type: ignore[attr-defined]
        followed = list(sdk.responses.retrieve(background.id, stream=True))
        assert followed[-1].type == "response.failed"

        filler.unlink()
        # The end is written once the store takes writes again: no run stays in progress.
        deadline = time.monotonic() + 10
        statuses: tuple[str | None, ...] = ()
        while time.monotonic() < deadline:
            statuses = tuple(sdk.responses.retrieve(rid).status for rid in (background.id, streamed_id))
            if statuses == ("failed", "failed"):
                break
            time.sleep(0.1)
        assert statuses == ("failed", "failed")
        replayed = list(sdk.responses.retrieve(streamed_id, stream=True))
        assert replayed[-1].type == "response.failed"
        assert [event.sequence_number for event in replayed] == list(range(len(replayed)))
