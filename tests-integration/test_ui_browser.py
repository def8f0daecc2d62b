"""The web chat in a real browser: headless Chromium (the distribution's package) driven by Playwright.

Each test serves a host (the Responses channel and `ChatUI`) with a real uvicorn on a
loopback port and a `ScriptedAgent`, so the streams, tool steps, slow runs and hostile
answers are exactly what the test scripted. Every wait is bounded (`TIMEOUT_MS`); a page
that throws or breaks its own Content-Security-Policy fails the test.

`scripts/ensure-chromium.sh` installs Chromium when it is missing (``make test`` runs it);
``HOSTING_SKIP_BROWSER=1`` skips these tests on a machine without it.
``HOSTING_UI_SCREENSHOT=path.png`` saves a screenshot of the page with the inspector open.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, ViewportSize, expect, sync_playwright

from hosting.core import (
    ApiKeyAuthenticator,
    FunctionCall,
    FunctionResult,
    Host,
    MemoryStore,
    Message,
    ReasoningDelta,
    RejectedError,
    RunContext,
    ToolStep,
    Usage,
)
from hosting.core.channels import ChannelRequest
from hosting.responses import ResponsesChannel
from hosting.testing import Delay, EchoAgent, Fail, ScriptedAgent, serve
from hosting.ui import ChatUI

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
if str(SAMPLES) not in sys.path:
    sys.path.insert(0, str(SAMPLES))

import ui_agent  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
ARGUMENTS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 8000
DESKTOP = ViewportSize(width=1200, height=800)
PHONE = ViewportSize(width=375, height=740)

pytestmark = pytest.mark.skipif(
    os.environ.get("HOSTING_SKIP_BROWSER") == "1", reason="HOSTING_SKIP_BROWSER=1 skips the browser tests"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh (or HOSTING_SKIP_BROWSER=1)")
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGUMENTS, timeout=30_000
        )
        yield launched
        launched.close()


OpenPage = Callable[..., Page]


@pytest.fixture
def open_page(browser: Browser) -> Iterator[OpenPage]:
    """``open_page(url, viewport=DESKTOP)``: a page in a fresh browser context (its own tab session)."""
    contexts = []
    problems: list[str] = []

    def open_(url: str, *, viewport: ViewportSize = DESKTOP) -> Page:
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                problems.append(f"console: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )
        page.goto(url)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert problems == []


def make_host(agent: Any, *, ui: ChatUI | None = None, **options: Any) -> Host:
    options.setdefault("store", MemoryStore())
    return Host(agent, channels=[ResponsesChannel(), ui or ChatUI()], **options)


def ready(page: Page) -> Page:
    page.wait_for_selector("body[data-ready]")
    return page


def send(page: Page, text: str) -> None:
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_role("button", name="Send", exact=True).click()


def completed(page: Page, turn: int = -1) -> None:
    turns = page.locator("li.turn")
    expect(turns.nth(turn if turn >= 0 else turns.count() - 1).locator(".badge.completed")).to_be_visible()


UNLABELLED = """() => [...document.querySelectorAll("button, input, select, textarea, summary, dialog")]
    .filter((node) => node.getClientRects().length)
    .filter((node) => !(node.labels && node.labels.length) && !node.getAttribute("aria-label")
        && !node.getAttribute("aria-labelledby") && !node.textContent.trim())
    .map((node) => node.outerHTML.slice(0, 80))"""


def eventually(check: Callable[[], bool], *, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.02)


# -- chat ------------------------------------------------------------------------------------------


def test_a_streamed_answer_appears_piece_by_piece_with_markdown(open_page: OpenPage) -> None:
    agent = ScriptedAgent(["Hello, **bold** ", Delay(1.5), "world."])
    with serve(make_host(agent)) as url:
        page = ready(open_page(url))
        expect(page.get_by_role("combobox", name="Agent")).to_have_value("scripted")
        send(page, "Hi there")
        answer = page.locator("li.turn .answer")
        expect(answer).to_contain_text("Hello, bold")
        assert "world." not in answer.inner_text()  # the first piece is shown before the run ends
        expect(answer).to_have_text("Hello, bold world.")
        expect(answer.locator("strong")).to_have_text("bold")
        completed(page)
        expect(page.locator("li.msg.user")).to_have_text("You: Hi there")
        # Timestamps are whole seconds: a run of 1.5 s shows as 1 or 2 s, never as milliseconds.
        expect(page.locator("li.turn .badge.completed")).to_have_text(re.compile(r"^completed · [12] s"))
        # Screen readers are told once, when the answer is complete.
        expect(page.locator("#announce")).to_have_text("The run completed. Hello, bold world.")
    assert agent.last_run.input_text == "Hi there"


def test_enter_sends_and_shift_enter_starts_a_new_line(open_page: OpenPage) -> None:
    agent = ScriptedAgent(["ok"])
    with serve(make_host(agent)) as url:
        page = ready(open_page(url))
        box = page.get_by_label("Message", exact=True)
        box.click()
        box.type("line one")
        box.press("Shift+Enter")
        box.type("line two")
        expect(box).to_have_value("line one\nline two")
        assert agent.runs == []
        box.press("Enter")
        completed(page)
        expect(box).to_have_value("")
    assert agent.last_run.input_text == "line one\nline two"


def test_a_tool_step_expands_to_name_arguments_and_result_and_reasoning_is_folded(
    open_page: OpenPage,
) -> None:
    agent = ScriptedAgent(
        [
            ReasoningDelta("Look the weather up."),
            ToolStep("weather", '{"city": "Paris"}', output="18 degrees"),
            ToolStep("forecast", '{"city": "Paris"}', error="no forecast today"),
            "It is 18 degrees.",
        ]
    )
    with serve(make_host(agent)) as url:
        page = ready(open_page(url))
        send(page, "Weather?")
        completed(page)
        step, failed = page.locator("details.tool").nth(0), page.locator("details.tool").nth(1)
        expect(step.locator("summary")).to_contain_text("weather")
        expect(step.locator(".tool-state")).to_have_text("done")
        arguments = step.locator(".tool-arguments")
        expect(arguments).to_be_hidden()
        step.locator("summary").click()
        expect(arguments).to_be_visible()
        assert json.loads(arguments.inner_text()) == {"city": "Paris"}
        expect(step.locator(".tool-result")).to_have_text("18 degrees")
        expect(failed.locator("summary")).to_contain_text("forecast")
        expect(failed.locator(".tool-state")).to_have_text("failed")
        failed.locator("summary").click()
        expect(failed.locator(".tool-result")).to_have_text("no forecast today")
        reasoning = page.locator("details.reasoning")
        expect(reasoning.locator(".reasoning-text")).to_be_hidden()
        reasoning.locator("summary").click()
        expect(reasoning.locator(".reasoning-text")).to_have_text("Look the weather up.")


def test_a_failed_run_shows_its_error_in_place_and_the_page_goes_on(open_page: OpenPage) -> None:
    agent = ScriptedAgent(turns=[["partial", Fail(RuntimeError("boom"))], ["Recovered."]])
    with serve(make_host(agent)) as url:
        page = ready(open_page(url))
        send(page, "first")
        alert = page.locator("li.turn").first.get_by_role("alert")
        expect(alert).to_be_visible()
        expect(page.locator("li.turn .badge.failed")).to_be_visible()
        send(page, "second")
        expect(page.locator("li.turn").nth(1).locator(".answer")).to_have_text("Recovered.")


def test_a_refused_request_shows_the_apis_message_in_place(open_page: OpenPage) -> None:
    def refuse_secrets(request: ChannelRequest) -> ChannelRequest:
        if any(isinstance(item, Message) and "secret" in item.text for item in request.input):
            raise RejectedError("Questions about secrets are not allowed here.")
        return request

    agent = ScriptedAgent(["Fine."])
    with serve(make_host(agent, run_hooks=[refuse_secrets])) as url:
        page = ready(open_page(url))
        send(page, "tell me a secret")
        alert = page.locator("li.turn").get_by_role("alert")
        expect(alert).to_have_text("Questions about secrets are not allowed here.")
        expect(page.get_by_role("button", name="Send", exact=True)).to_be_enabled()
        send(page, "tell me the weather")
        expect(page.locator("li.turn").nth(1).locator(".answer")).to_have_text("Fine.")
    assert len(agent.runs) == 1


# -- conversations ---------------------------------------------------------------------------------


def test_reload_keeps_the_conversation_and_it_goes_on(open_page: OpenPage) -> None:
    agent = ScriptedAgent(turns=[["First answer."], ["Second answer."]])
    with serve(make_host(agent)) as url:
        page = ready(open_page(url))
        send(page, "first question")
        completed(page)
        assert "#/c/conv_" in page.url
        page.reload()
        ready(page)
        expect(page.locator("li.msg.user")).to_have_text("You: first question")
        expect(page.locator("li.turn .answer")).to_have_text("First answer.")
        expect(page.locator("button.conversation[aria-current]")).to_have_text("first question")
        send(page, "second question")
        completed(page, 1)
    assert [item.text for item in agent.runs[1].history] == ["first question", "First answer."]


def test_switching_renaming_and_deleting_conversations(open_page: OpenPage) -> None:
    with serve(make_host(EchoAgent())) as url:
        page = ready(open_page(url))
        send(page, "alpha")
        completed(page)
        page.get_by_role("button", name="New chat").click()
        expect(page.locator("li.turn")).to_have_count(0)
        send(page, "beta")
        completed(page)
        titles = page.locator("button.conversation")
        expect(titles).to_have_text(["beta", "alpha"])  # newest first

        titles.filter(has_text="alpha").click()
        expect(page.locator("li.msg.user")).to_have_text("You: alpha")
        expect(page.locator("button.conversation[aria-current]")).to_have_text("alpha")
        titles.filter(has_text="beta").click()
        expect(page.locator("li.msg.user")).to_have_text("You: beta")

        page.get_by_role("button", name="Rename beta").click()
        page.get_by_label("New title").fill("Greek letters")
        page.get_by_role("button", name="Save").click()
        expect(titles).to_have_text(["Greek letters", "alpha"])

        page.get_by_role("button", name="Delete alpha").click()
        page.get_by_role("button", name="Confirm deleting alpha").click()
        expect(titles).to_have_text(["Greek letters"])
        page.get_by_role("button", name="Delete Greek letters").click()
        page.get_by_role("button", name="Confirm deleting Greek letters").click()
        expect(titles).to_have_count(0)
        expect(page.locator("li.msg")).to_have_count(0)  # the open conversation was the one deleted
        page.reload()
        ready(page)
        expect(titles).to_have_count(0)
        assert httpx.get(f"{url}/v1/conversations").json()["data"] == []


def test_stop_cancels_a_run_in_flight(open_page: OpenPage) -> None:
    agent = ScriptedAgent(["Working on it", Delay(30), " never shown"])
    with serve(make_host(agent)) as url:
        page = ready(open_page(url))
        send(page, "slow please")
        expect(page.locator("li.turn .answer")).to_have_text("Working on it")
        page.get_by_role("button", name="Stop").click()
        expect(page.locator("li.turn .badge.cancelled")).to_be_visible()
        expect(page.locator("li.turn")).to_contain_text("Stopped.")
        expect(page.get_by_role("button", name="Stop")).to_be_hidden()
        eventually(lambda: agent.last_run.cancelled)
        assert "never shown" not in page.locator("li.turn").inner_text()


def test_a_background_run_is_followed_again_after_the_page_is_left(open_page: OpenPage) -> None:
    agent = ScriptedAgent(["part one,", Delay(3), " part two."])
    with serve(make_host(agent)) as url:
        page = ready(open_page(url))
        send(page, "long task")
        expect(page.locator("li.turn .answer")).to_have_text("part one,")
        page.goto("about:blank")  # leave while it runs
        followed: list[str] = []
        page.on(
            "request", lambda request: followed.append(request.url) if "stream=true" in request.url else None
        )
        page.goto(url + "/#/c/" + agent.last_run.conversation_id)  # and come back
        ready(page)
        expect(page.locator("li.msg.user")).to_have_text("You: long task")
        expect(page.locator("li.turn .answer")).to_have_text("part one,")
        assert not agent.last_run.done  # still running: the page shows it live
        expect(page.locator("li.turn .answer")).to_have_text("part one, part two.")
        completed(page)
    assert followed == [f"{url}/v1/responses/{agent.last_run.response_id}?stream=true"]
    assert len(agent.runs) == 1
    assert agent.last_run.finished


# -- the inspector ---------------------------------------------------------------------------------


def test_the_inspector_shows_the_numbered_event_stream_of_a_finished_run(open_page: OpenPage) -> None:
    agent = ScriptedAgent(
        [FunctionCall("call_1", "clock", "{}"), FunctionResult("call_1", "noon"), "It is noon.", Usage(7, 4)]
    )
    with serve(make_host(agent)) as url:
        page = ready(open_page(url))
        send(page, "Time?")
        completed(page)
        response_id = page.locator("li.turn").get_attribute("data-response-id")
        assert response_id is not None
        replayed = httpx.get(f"{url}/v1/responses/{response_id}", params={"stream": "true"}).text
        data = [
            line[6:] for line in replayed.splitlines() if line.startswith("data: ") and line != "data: [DONE]"
        ]
        types = [json.loads(entry)["type"] for entry in data]

        # A fresh tab: everything comes from the store.
        other = ready(open_page(url + "/#/c/" + agent.last_run.conversation_id))
        other.get_by_role("button", name=f"Inspect run {response_id}").click()
        inspector = other.get_by_role("complementary")
        expect(inspector.get_by_role("heading", name=f"Run {response_id}")).to_be_visible()
        events = inspector.get_by_role("list", name="Events").locator("li")
        expect(events).to_have_count(len(types))
        assert events.locator(".seq").all_inner_texts() == [f"#{number}" for number in range(len(types))]
        assert events.locator(".event-type").all_inner_texts() == types
        assert types[0] == "response.created"
        assert types[-1] == "response.completed"
        assert events.first.locator(".offset").inner_text() == "+0 ms"
        expect(inspector.locator(".facts")).to_contain_text("completed")
        expect(inspector.locator(".facts")).to_contain_text("7 input, 4 output, 11 total tokens")
        expect(inspector.get_by_role("list", name="Input items")).to_contain_text("user: Time?")
        expect(inspector.get_by_role("list", name="Output items")).to_contain_text("clock({})")
        events.nth(1).locator("summary").click()
        assert json.loads(events.nth(1).locator("pre").inner_text())["sequence_number"] == 1

        inspector.get_by_role("button", name="Raw JSON").click()
        raw = json.loads(inspector.get_by_label("Raw JSON").inner_text())
        assert raw["id"] == response_id
        assert raw["usage"]["total_tokens"] == 11
        inspector.get_by_role("button", name="Raw JSON").click()
        expect(inspector.get_by_label("Raw JSON")).to_be_hidden()
        other.keyboard.press("Escape")
        expect(inspector).to_be_hidden()

        # The tab that watched the run live knows when each event came.
        page.get_by_role("button", name=f"Inspect run {response_id}").click()
        offsets = page.get_by_role("list", name="Events").locator(".offset")
        expect(offsets).to_have_count(len(types))
        assert all(text.startswith("+") for text in offsets.all_inner_texts())
        if target := os.environ.get("HOSTING_UI_SCREENSHOT"):
            page.screenshot(path=target)
        page.get_by_role("button", name="Close inspector").click()
        expect(page.get_by_role("complementary")).to_be_hidden()


# -- approvals -------------------------------------------------------------------------------------

APPROVAL_REQUEST = json.dumps(
    {"request_id": "appr_1", "tool_name": "delete_file", "arguments": {"path": "/tmp/x"}}
)


def _approval_flow(context: RunContext) -> list[Any]:
    answers = [
        item for item in context.input if isinstance(item, FunctionResult) and item.call_id == "appr_1"
    ]
    if not answers:
        return ["I need your approval first.", FunctionCall("appr_1", "approve_tool_call", APPROVAL_REQUEST)]
    if json.loads(str(answers[0].output)).get("approved") is True:
        return [
            FunctionCall("call_del", "delete_file", '{"path": "/tmp/x"}'),
            FunctionResult("call_del", "deleted"),
            "Done: the file is gone.",
        ]
    return ["Understood, I left the file alone."]


@pytest.mark.parametrize(
    ("button", "answer", "state"),
    [
        ("Approve", "Done: the file is gone.", "Approved."),
        ("Deny", "Understood, I left the file alone.", "Denied."),
    ],
)
def test_an_approval_continues_the_run(open_page: OpenPage, button: str, answer: str, state: str) -> None:
    agent = ScriptedAgent([_approval_flow])
    with serve(make_host(agent)) as url:
        page = ready(open_page(url))
        send(page, "Delete /tmp/x")
        completed(page)
        card = page.get_by_role("group", name="Approval for delete_file")
        expect(card).to_contain_text('"path": "/tmp/x"')
        assert page.evaluate(UNLABELLED) == []
        card.get_by_role("button", name=button).click()
        expect(page.locator("li.turn").nth(1).locator(".answer")).to_have_text(answer)
        completed(page, 1)
        expect(card).to_contain_text(state)
        expect(card.get_by_role("button")).to_have_count(0)
        page.reload()
        ready(page)
        expect(page.get_by_role("group", name="Approval for delete_file")).to_contain_text(state)
        expect(page.locator("li.turn").nth(1).locator(".answer")).to_have_text(answer)
    sent = agent.runs[1].input[0]
    assert isinstance(sent, FunctionResult)
    assert json.loads(str(sent.output)) == {"approved": button == "Approve"}


# -- authentication --------------------------------------------------------------------------------


def test_the_page_asks_for_the_api_key_once_per_tab(open_page: OpenPage) -> None:
    agent = ScriptedAgent(["Hello, Alice."])
    authenticator = ApiKeyAuthenticator({"key-alice": "alice"})
    with serve(make_host(agent, authenticator=authenticator)) as url:
        page = open_page(url)
        dialog = page.get_by_role("dialog", name="API key")
        expect(dialog).to_be_visible()
        page.get_by_role("textbox", name="API key").fill("wrong-key")
        page.get_by_role("button", name="Continue").click()
        expect(dialog.get_by_role("alert")).to_contain_text("The key was refused")
        page.get_by_role("textbox", name="API key").fill("key-alice")
        page.get_by_role("button", name="Continue").click()
        ready(page)
        expect(dialog).to_be_hidden()
        send(page, "Who am I?")
        completed(page)
        assert page.evaluate("window.localStorage.length") == 0
        page.reload()
        ready(page)  # the tab keeps the key: no second prompt
        expect(page.get_by_role("dialog", name="API key")).to_be_hidden()
        expect(page.locator("button.conversation")).to_have_text(["Who am I?"])
        page.get_by_role("button", name="Forget API key").click()
        expect(page.get_by_role("dialog", name="API key")).to_be_visible()
        fresh = open_page(url)  # another tab session asks again
        expect(fresh.get_by_role("dialog", name="API key")).to_be_visible()
    assert agent.last_run.isolation.user == "alice"


# -- safety ----------------------------------------------------------------------------------------

HOSTILE = [
    '<img src=x onerror="window.__pwned = 1">',
    "[click me](javascript:window.__pwned=2)",
    "<script>window.__pwned = 3</script>",
    '<a href="javascript:window.__pwned=4">link</a>',
    "![picture](javascript:window.__pwned=5)",
    "<javascript:window.__pwned=6>",
    "[data](data:text/html,<script>window.__pwned=7</script>)",
    "[fine](https://example.com/page)",
]


def test_hostile_answers_render_as_text_and_never_run(open_page: OpenPage) -> None:
    answer = "\n\n".join(HOSTILE)
    agent = ScriptedAgent(
        [
            FunctionCall("call_x", "<img src=x onerror=window.__pwned=8>", '{"q": "<script>x</script>"}'),
            answer,
        ]
    )
    with serve(make_host(agent)) as url:
        page = ready(open_page(url))
        send(page, '<img src=y onerror="window.__pwned = 9">')
        completed(page)
        for view in (page, ready(open_page(page.url))):  # as streamed, and as stored
            rendered = view.locator("li.turn .answer")
            expect(rendered).to_contain_text(HOSTILE[0])
            text = rendered.inner_text()
            for line in HOSTILE[:-1]:
                assert line in text
            assert view.locator("li.turn .answer img, li.turn .answer script").count() == 0
            assert view.locator("img, script:not([src])").count() == 0
            hrefs = [link.get_attribute("href") for link in rendered.locator("a").all()]
            assert hrefs == ["https://example.com/page"]
            expect(view.locator("li.msg.user")).to_contain_text('<img src=y onerror="window.__pwned = 9">')
            expect(view.locator("details.tool summary")).to_contain_text(
                "<img src=x onerror=window.__pwned=8>"
            )
            for link in rendered.get_by_text("javascript:").all():
                link.click()
            assert view.evaluate("window.__pwned") is None


# -- a phone ---------------------------------------------------------------------------------------


FITS_THE_SCREEN = """() => {
    // Elements past the screen's right edge, or whose content is wider than they are (text cut
    // with an ellipsis and code in a <pre>, which scrolls on its own, are meant to be so).
    const width = window.innerWidth;
    return [...document.querySelectorAll("body, body *")]
        .filter((node) => node.getClientRects().length && !node.closest("pre, .visually-hidden"))
        .filter((node) => getComputedStyle(node).textOverflow !== "ellipsis")
        .filter((node) => node.getBoundingClientRect().right > width + 1 || node.scrollWidth > node.clientWidth + 1)
        .map((node) => node.tagName + "." + node.className);
}"""


def test_a_phone_sized_screen_works(open_page: OpenPage) -> None:
    agent = ScriptedAgent(
        ["A short answer that wraps on a narrow screen: ", "x" * 200, "\n\n```\n", "y" * 200, "\n```"]
    )
    title = "A rather long title for the page of a team's assistant"
    with serve(make_host(agent, ui=ChatUI(title=title))) as url:
        page = ready(open_page(url, viewport=PHONE))
        sidebar = page.get_by_role("navigation", name="Conversations")
        expect(sidebar).to_be_hidden()
        send(page, "Hello from a phone")
        completed(page)
        assert page.evaluate(FITS_THE_SCREEN) == []
        toggle = page.get_by_role("button", name="Conversations")
        toggle.click()
        expect(sidebar).to_be_visible()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        sidebar.get_by_role("button", name="New chat").click()
        expect(page.locator("li.msg")).to_have_count(0)
        toggle.click()
        sidebar.locator("button.conversation").first.click()
        expect(sidebar).to_be_hidden()
        expect(page.locator("li.turn .answer")).to_contain_text("A short answer")
        page.get_by_role("button", name="Inspect run").click()
        inspector = page.get_by_role("complementary")
        box = inspector.bounding_box()
        assert box is not None
        assert box["width"] == PHONE["width"]
        page.get_by_role("button", name="Close inspector").click()
        expect(page.get_by_label("Message", exact=True)).to_be_visible()
        assert page.evaluate(FITS_THE_SCREEN) == []


# -- the sample ------------------------------------------------------------------------------------


def test_the_sample_assistant_calls_its_calculator_and_remembers_in_the_page(open_page: OpenPage) -> None:
    host, mode = ui_agent.build_host({}, store=MemoryStore())
    assert mode.startswith("offline")
    with serve(host) as url:
        page = ready(open_page(url))
        expect(page).to_have_title("hosting: the assistant")
        send(page, "What is 17 * 23?")
        completed(page)
        expect(page.locator("details.tool summary")).to_contain_text("calculator")
        expect(page.locator("details.tool .tool-result")).to_have_text("391")
        expect(page.locator("li.turn .answer")).to_have_text("17 * 23 = 391")
        send(page, "My name is Ada.")
        completed(page, 1)
        send(page, "What is my name?")
        completed(page, 2)
        expect(page.locator("li.turn").nth(2).locator(".answer")).to_contain_text("Ada")


# -- more ------------------------------------------------------------------------------------------


def test_a_dropped_stream_is_resumed_after_the_last_event_seen(open_page: OpenPage) -> None:
    agent = ScriptedAgent(["one,", Delay(0.3), " two."])
    with serve(make_host(agent)) as url:
        page = ready(open_page(url))
        cut_after: list[int] = []

        def drop_mid_stream(route: Route) -> None:
            # The stream ends after the first text delta, as a dropped connection would end it.
            blocks = route.fetch().text().split("\n\n")
            first_delta = next(i for i, block in enumerate(blocks) if "response.output_text.delta" in block)
            kept = blocks[: first_delta + 1]
            cut_after.append(json.loads(kept[-1].split("data: ", 1)[1])["sequence_number"])
            route.fulfill(
                status=200, headers={"content-type": "text/event-stream"}, body="\n\n".join(kept) + "\n\n"
            )

        page.route("**/v1/responses", drop_mid_stream)
        resumed: list[str] = []
        page.on(
            "request",
            lambda request: resumed.append(request.url) if "starting_after=" in request.url else None,
        )
        send(page, "go")
        expect(page.locator("li.turn .answer")).to_have_text("one, two.")
        completed(page)
    assert cut_after
    assert len(resumed) == 1
    assert resumed[0].endswith(f"?stream=true&starting_after={cut_after[0]}")
    assert len(agent.runs) == 1


def test_the_agent_picked_is_the_one_that_answers(open_page: OpenPage) -> None:
    first, second = ScriptedAgent(["From the first."]), ScriptedAgent(["From the second."])
    with serve(make_host({"first": first, "second": second})) as url:
        page = ready(open_page(url))
        picker = page.get_by_label("Agent")
        expect(picker.locator("option")).to_have_text(["first", "second"])
        picker.select_option("second")
        send(page, "Who answers?")
        expect(page.locator("li.turn .answer")).to_have_text("From the second.")
    assert first.runs == []
    assert second.last_run.input_text == "Who answers?"


def test_a_long_conversation_list_is_paged(open_page: OpenPage) -> None:
    with serve(make_host(EchoAgent())) as url:
        for number in range(32):
            item = {"type": "message", "role": "user", "content": f"topic {number}"}
            assert httpx.post(f"{url}/v1/conversations", json={"items": [item]}).status_code == 200
        page = ready(open_page(url))
        titles = page.locator("button.conversation")
        expect(titles).to_have_count(30)
        expect(titles.first).to_have_text("topic 31")
        page.get_by_role("button", name="More conversations").click()
        expect(titles).to_have_count(32)
        expect(titles.last).to_have_text("topic 0")
        expect(page.get_by_role("button", name="More conversations")).to_be_hidden()


def test_the_page_works_from_the_keyboard_and_every_control_has_a_name(open_page: OpenPage) -> None:
    agent = ScriptedAgent([FunctionCall("call_1", "clock", "{}"), FunctionResult("call_1", "noon"), "Noon."])
    with serve(make_host(agent)) as url:
        page = ready(open_page(url))
        assert page.evaluate(UNLABELLED) == []
        page.get_by_label("Message", exact=True).focus()
        page.keyboard.type("What time is it?")
        page.keyboard.press("Enter")
        completed(page)
        assert page.evaluate(UNLABELLED) == []
        page.locator("details.tool summary").focus()
        page.keyboard.press("Enter")  # a tool step opens from the keyboard
        expect(page.locator("details.tool .tool-result")).to_have_text("noon")
        page.get_by_role("button", name="Inspect run").focus()
        page.keyboard.press("Enter")
        inspector = page.get_by_role("complementary")
        expect(inspector.get_by_role("list", name="Events").locator("li").first).to_be_visible()
        expect(page.get_by_role("button", name="Close inspector")).to_be_focused()
        assert page.evaluate(UNLABELLED) == []
        page.keyboard.press("Escape")
        expect(inspector).to_be_hidden()
        page.get_by_role("button", name="Rename What time is it?").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_label("New title")).to_be_focused()
        assert page.evaluate(UNLABELLED) == []
        page.keyboard.press("End")  # the old title is selected, ready to be replaced; keep it here
        page.keyboard.type(" (noon)")
        page.keyboard.press("Enter")
        expect(page.locator("button.conversation")).to_have_text(["What time is it? (noon)"])


def test_any_response_can_be_inspected_by_its_id(open_page: OpenPage) -> None:
    agent = ScriptedAgent(["Made by a client."])
    with serve(make_host(agent)) as url:
        made = httpx.post(f"{url}/v1/responses", json={"model": "scripted", "input": "from the SDK"}).json()
        page = ready(open_page(f"{url}/#/r/{made['id']}"))
        inspector = page.get_by_role("complementary")
        expect(inspector.get_by_role("heading", name=f"Run {made['id']}")).to_be_visible()
        expect(inspector.get_by_role("list", name="Input items")).to_contain_text("user: from the SDK")
        expect(inspector.get_by_role("list", name="Events").locator(".event-type").last).to_have_text(
            "response.completed"
        )
        page.get_by_role("button", name="Close inspector").click()
        assert page.url == f"{url}/#/"
        page.get_by_label("Inspect a response by id").fill("resp_unknown")
        page.get_by_role("button", name="Inspect", exact=True).click()
        expect(inspector.get_by_role("alert")).to_contain_text("Could not load the run")
        page.get_by_label("Inspect a response by id").fill(made["id"])
        page.get_by_label("Inspect a response by id").press("Enter")
        expect(inspector.get_by_role("heading", name=f"Run {made['id']}")).to_be_visible()
        expect(inspector.locator(".facts")).to_contain_text("completed")
