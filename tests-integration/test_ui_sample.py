"""samples/ui_agent.py run as a user would: a process on a free port; the page and the API behind it."""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "ui_agent.py"
START_TIMEOUT = 30.0


@contextlib.contextmanager
def running(env: Mapping[str, str], cwd: Path) -> Iterator[tuple[str, str]]:
    """The sample on a free port: its page URL (from the banner) and the banner."""
    command = [sys.executable, str(SAMPLE), "--host", "127.0.0.1", "--port", "0", "--log-level", "warning"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(env), cwd=cwd
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        if process.stdout is not None:
            for line in process.stdout:
                lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    output: list[str] = []
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not any(line.startswith("or run:") for line in output):
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError(f"the sample did not start:\n{''.join(output)}")
            with contextlib.suppress(queue.Empty):
                output.append(lines.get(timeout=0.2))
        title = next(line for line in output if "web chat at" in line)
        yield title.rsplit(" ", 1)[1].strip(), "".join(output)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()


def _environment(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("OPENAI_", "HOSTING_"))}
    env.update(extra)
    return env


def test_the_banner_gives_the_page_and_the_page_reaches_the_api(tmp_path: Path) -> None:
    with running(_environment(), tmp_path) as (page_url, banner):
        assert page_url.startswith("http://127.0.0.1:")
        assert page_url.endswith("/")
        assert f"base_url: {page_url}v1" in banner
        page = httpx.get(page_url)
        assert page.status_code == 200
        assert "<title>hosting: the assistant</title>" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        models = httpx.get(f"{page_url}v1/models").json()
        assert [model["id"] for model in models["data"]] == ["assistant"]
    assert (tmp_path / ".hosting").is_dir()  # the embedded SQLite store, where the sample ran


def test_with_api_keys_the_page_is_served_but_the_api_needs_a_key(tmp_path: Path) -> None:
    with running(_environment(HOSTING_API_KEYS="key-ada:ada"), tmp_path) as (page_url, banner):
        assert "API keys from HOSTING_API_KEYS" in banner
        assert httpx.get(page_url).status_code == 200
        assert httpx.get(f"{page_url}ui-assets/app.js").status_code == 200
        assert httpx.get(f"{page_url}v1/models").status_code == 401
        answer = httpx.get(f"{page_url}v1/models", headers={"authorization": "Bearer key-ada"})
        assert answer.status_code == 200
