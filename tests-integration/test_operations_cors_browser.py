"""CORS in a real browser: the page of docs/operations.md, on another origin, streams an answer from the host;
the same page on an origin the host does not allow is refused by the browser."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from hosting.core import ApiKeyAuthenticator, Host, MemoryStore
from hosting.responses import ResponsesChannel
from hosting.testing import EchoAgent, serve

DOC = Path(__file__).resolve().parents[1] / "docs" / "operations.md"
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(
    os.environ.get("HOSTING_SKIP_BROWSER") == "1", reason="HOSTING_SKIP_BROWSER=1 skips the browser tests"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh (or HOSTING_SKIP_BROWSER=1)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu"],
            timeout=30_000,
        )
        yield launched
        launched.close()


def _page_of_the_docs(host_url: str) -> str:
    """The documented page, pointed at `host_url`, asking the echo agent; a refusal goes to its title."""
    page = DOC.read_text().split("A page on `http://localhost:5173` then streams an answer:\n\n```html\n", 1)[
        1
    ]
    page = page.split("```", 1)[0]
    assert "http://127.0.0.1:8000/v1/responses" in page
    page = page.replace("http://127.0.0.1:8000", host_url).replace('model: "assistant"', 'model: "echo"')
    # A module's top-level `await` that rejects is reported as an error event of the window.
    report = (
        '<script>window.addEventListener("error", '
        '(event) => { document.title = "refused: " + event.message; });</script>\n'
    )
    return report + page


class PageServer:
    """A one-page site; its HTML is set once the host's address is known."""

    def __init__(self) -> None:
        self.html = ""
        self.app = Starlette(routes=[Route("/", self.index)])

    async def index(self, request: Request) -> HTMLResponse:
        return HTMLResponse(self.html)


def test_a_page_on_an_allowed_origin_streams_and_another_is_refused(browser: Browser) -> None:
    allowed, other = PageServer(), PageServer()
    with serve(allowed.app) as allowed_origin, serve(other.app) as other_origin:
        host = Host(
            EchoAgent(),
            channels=[ResponsesChannel()],
            store=MemoryStore(),
            authenticator=ApiKeyAuthenticator({"sk-web": "web"}),
            cors_origins=[allowed_origin],
        )
        with serve(host) as host_url:
            allowed.html = other.html = _page_of_the_docs(host_url)
            context = browser.new_context()
            try:
                page = context.new_page()
                page.goto(allowed_origin)
                page.wait_for_function(
                    "document.querySelector('#answer').textContent === 'What is 17 * 23?'", timeout=10_000
                )
                assert not page.title().startswith("refused")
                refused = context.new_page()
                refused.goto(other_origin)
                refused.wait_for_function("document.title.startsWith('refused')", timeout=10_000)
                assert "Failed to fetch" in refused.title()
                assert refused.text_content("#answer") == ""
            finally:
                context.close()
