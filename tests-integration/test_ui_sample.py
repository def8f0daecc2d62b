"""samples/ui_agent.py run as a user would: a process on a free port; the page and the API behind it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import httpx

Sample = Callable[..., contextlib.AbstractContextManager[str]]


def _page_url(banner: str) -> str:
    """The web chat's URL, from the banner's ``web chat at`` line."""
    title = next(line for line in banner.splitlines() if "web chat at" in line)
    return title.rsplit(" ", 1)[1].strip()


def _environment(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("OPENAI_", "HOSTING_"))}
    env.update(extra)
    return env


def test_the_banner_gives_the_page_and_the_page_reaches_the_api(
    tmp_path: Path, sample_process: Sample
) -> None:
    with sample_process("ui_agent.py", env=_environment(), cwd=tmp_path) as banner:
        page_url = _page_url(banner)
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


def test_with_api_keys_the_page_is_served_but_the_api_needs_a_key(
    tmp_path: Path, sample_process: Sample
) -> None:
    with sample_process(
        "ui_agent.py", env=_environment(HOSTING_API_KEYS="key-ada:ada"), cwd=tmp_path
    ) as banner:
        page_url = _page_url(banner)
        assert "API keys from HOSTING_API_KEYS" in banner
        assert httpx.get(page_url).status_code == 200
        assert httpx.get(f"{page_url}ui-assets/app.js").status_code == 200
        assert httpx.get(f"{page_url}v1/models").status_code == 401
        answer = httpx.get(f"{page_url}v1/models", headers={"authorization": "Bearer key-ada"})
        assert answer.status_code == 200
