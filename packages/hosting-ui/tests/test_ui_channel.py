"""ChatUI in process: the page and its files, their headers, authentication, mounting, the data route."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from hosting.core import ApiKeyAuthenticator, Host, MemoryStore
from hosting.responses import ResponsesChannel
from hosting.testing import EchoAgent, Fail, InProcessHTTPClient, ScriptedAgent
from hosting.ui import CONTENT_SECURITY_POLICY, ChatUI

ALICE = {"authorization": "Bearer key-alice"}
BOB = {"authorization": "Bearer key-bob"}
SCRIPTS = ("app.js", "api.js", "chat.js", "conversations.js", "dom.js", "inspector.js", "markdown.js")


def make_host(*, ui: ChatUI | None = None, auth: bool = True, agent: Any = None) -> Host:
    return Host(
        agent or EchoAgent(),
        channels=[ResponsesChannel(), ui or ChatUI()],
        store=MemoryStore(),
        authenticator=ApiKeyAuthenticator({"key-alice": "alice", "key-bob": "bob"}) if auth else None,
    )


@contextlib.contextmanager
def client_for(host: Host | Starlette) -> Iterator[InProcessHTTPClient]:
    client = InProcessHTTPClient(host)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def http() -> Iterator[InProcessHTTPClient]:
    with client_for(make_host()) as client:
        yield client


def _meta(page: str, name: str) -> str:
    match = re.search(rf'<meta name="{name}" content="([^"]*)">', page)
    assert match is not None, f"no meta {name}"
    return match.group(1)


# -- the page and its files ------------------------------------------------------------------------


def test_the_page_is_served_at_the_root_with_a_strict_content_security_policy(
    http: InProcessHTTPClient,
) -> None:
    page = http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    policy = page.headers["content-security-policy"]
    assert policy == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "default-src 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert _meta(page.text, "hosting-ui-api") == "/v1"
    assert _meta(page.text, "hosting-ui-base") == "/"
    assert '<script type="module" src="/ui-assets/app.js"></script>' in page.text


def test_the_page_has_no_inline_script_no_inline_style_and_nothing_from_another_host(
    http: InProcessHTTPClient,
) -> None:
    page = http.get("/").text
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert "style=" not in page
    assert "<style" not in page
    for url in re.findall(r'(?:src|href)="([^"]*)"', page):
        assert url.startswith("/") or url == "data:,", url
    for name in SCRIPTS:
        source = http.get(f"/ui-assets/{name}").text
        assert "innerHTML" not in source, name
        assert "insertAdjacentHTML" not in source, name
        assert "eval(" not in source, name
        assert not re.search(r"""["'`]https?://""", source), name


def test_the_controls_have_labels(http: InProcessHTTPClient) -> None:
    page = http.get("/").text
    assert '<label class="visually-hidden" for="message">Message</label>' in page
    assert '<textarea id="message"' in page
    assert '<button id="send" class="primary" type="submit">Send</button>' in page
    assert '<label class="model-label" for="model">Agent</label>' in page
    assert '<label for="api-key">API key</label>' in page


@pytest.mark.parametrize(
    ("name", "media_type"),
    [(name, "text/javascript; charset=utf-8") for name in SCRIPTS]
    + [("style.css", "text/css; charset=utf-8")],
)
def test_every_file_is_served_with_its_type_and_the_policy(
    http: InProcessHTTPClient, name: str, media_type: str
) -> None:
    answer = http.get(f"/ui-assets/{name}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == media_type
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert len(answer.content) > 100
    again = http.get(f"/ui-assets/{name}", headers={"if-none-match": answer.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


def test_an_unknown_file_or_a_wrong_method_gets_the_neutral_error(http: InProcessHTTPClient) -> None:
    missing = http.get("/ui-assets/secrets.py", headers=ALICE)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "unknown_path"
    for path in ("/ui-assets/../_channel.py", "/ui-assets/index.html", "/ui-assets/%2e%2e%2f__init__.py"):
        assert http.get(path, headers=ALICE).status_code == 404, path
    wrong = http.post("/", headers=ALICE)
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET, HEAD"
    assert wrong.json() == {
        "error": {"code": "method_not_allowed", "message": wrong.json()["error"]["message"]}
    }
    assert http.head("/ui-assets/app.js").status_code == 200


# -- authentication --------------------------------------------------------------------------------


def test_with_an_authenticator_the_page_and_its_files_need_no_key_but_the_data_does(
    http: InProcessHTTPClient,
) -> None:
    assert http.get("/").status_code == 200
    assert http.get("/ui-assets/app.js").status_code == 200
    assert http.get("/ui-assets/style.css").headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    # Anything else under the page's prefix is refused like any request without a key.
    for path in (
        "/ui-assets/nothing.js",
        "/ui-assets/index.html",
        "/ui-assets/",
        "/ui-assets",
        "/ui-assets/app.js/x",
        "/ui-api/conversations/conv_x/responses",
        "/elsewhere",
        "/v1/models",
    ):
        refused = http.get(path)
        assert refused.status_code == 401, path
        assert refused.headers["connection"] == "close"
        assert refused.json()["error"]["code"], path
    assert http.get("/v1/conversations").json()["error"]["type"] == "authentication_error"
    # The page's path is public for every method, but it serves nothing but the page.
    wrong_method = http.post("/")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    assert http.get("/", headers={"authorization": "Bearer wrong"}).status_code == 200


def test_exactly_the_page_and_each_file_it_ships_are_public() -> None:
    shipped = sorted(
        entry.name
        for entry in resources.files("hosting.ui").joinpath("static").iterdir()
        if entry.name != "index.html"
    )
    assert shipped == sorted([*SCRIPTS, "style.css"])
    for prefix in ("", "/chat"):
        with client_for(make_host(ui=ChatUI(prefix))) as http:
            pages = [f"{prefix}/", *([prefix] if prefix else [])]
            for path in [*pages, *(f"{prefix}/ui-assets/{name}" for name in shipped)]:
                served = http.get(path)
                assert served.status_code == 200, path
                assert served.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
                assert http.head(path).status_code == 200, path
            # The same files under another prefix are not public, nor is the data route.
            other = "/chat" if not prefix else ""
            assert http.get(f"{other}/ui-assets/app.js").status_code == 401
            assert http.get(f"{prefix}/ui-api/conversations/conv_x/responses").status_code == 401


def test_without_an_authenticator_everything_just_works() -> None:
    with client_for(make_host(auth=False)) as http:
        assert http.get("/").status_code == 200
        assert http.get("/v1/models").json()["data"][0]["id"] == "echo"


# -- mounting --------------------------------------------------------------------------------------


def test_a_prefix_moves_the_page_and_its_files() -> None:
    with client_for(make_host(ui=ChatUI("/chat", title="Team <bot>"))) as http:
        page = http.get("/chat/")
        assert page.status_code == 200
        assert http.get("/chat").status_code == 200
        assert _meta(page.text, "hosting-ui-base") == "/chat/"
        assert "<title>Team &lt;bot&gt;</title>" in page.text
        assert http.get("/chat/ui-assets/app.js").status_code == 200
        assert http.get("/ui-assets/app.js").status_code == 401
        assert http.get("/", headers=ALICE).status_code == 404


def test_inside_a_parent_app_every_url_starts_at_the_mount_point() -> None:
    host = Host(
        EchoAgent(), channels=[ResponsesChannel("/api"), ChatUI(api_prefix="/api")], store=MemoryStore()
    )
    parent = Starlette(routes=[Mount("/agents", app=host)], lifespan=host.lifespan)
    with client_for(parent) as http:
        page = http.get("/agents/").text
        assert _meta(page, "hosting-ui-api") == "/agents/api"
        assert _meta(page, "hosting-ui-base") == "/agents/"
        assert '<link rel="stylesheet" href="/agents/ui-assets/style.css">' in page
        assert http.get("/agents/ui-assets/app.js").status_code == 200
        assert http.get("/agents/api/models").status_code == 200


@pytest.mark.parametrize("prefix", ["chat", "/chat/", "/"])
def test_a_bad_prefix_is_refused_at_once(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix must start with '/'"):
        ChatUI(prefix)
    with pytest.raises(ValueError, match="api_prefix must start with '/'"):
        ChatUI(api_prefix=prefix)


# -- GET /ui-api/conversations/{id}/responses ------------------------------------------------------


def _conversation(http: InProcessHTTPClient, headers: dict[str, str] = ALICE) -> str:
    created = http.post("/v1/conversations", json={}, headers=headers)
    assert created.status_code == 200
    conversation_id: str = created.json()["id"]
    return conversation_id


def test_a_conversations_responses_are_listed_oldest_first_with_their_item_ids(
    http: InProcessHTTPClient,
) -> None:
    conversation = _conversation(http)
    ids = []
    for text in ("one", "two", "three"):
        answer = http.post(
            "/v1/responses",
            json={"model": "echo", "input": text, "conversation": conversation},
            headers=ALICE,
        )
        assert answer.status_code == 200
        ids.append(answer.json()["id"])
    listed = http.get(f"/ui-api/conversations/{conversation}/responses", headers=ALICE)
    assert listed.status_code == 200
    body = listed.json()
    assert [entry["id"] for entry in body["data"]] == ids
    assert body["has_more"] is False
    first = body["data"][0]
    assert first["status"] == "completed"
    assert first["model"] == "echo"
    assert first["error"] is None
    items = http.get(f"/v1/conversations/{conversation}/items", params={"order": "asc"}, headers=ALICE).json()
    assert first["input_item_ids"] == [items["data"][0]["id"]]
    assert first["output_item_ids"] == [items["data"][1]["id"]]
    page = http.get(
        f"/ui-api/conversations/{conversation}/responses?limit=2&after={ids[0]}", headers=ALICE
    ).json()
    assert [entry["id"] for entry in page["data"]] == ids[1:]
    assert page["last_id"] == ids[2]


def test_a_failed_run_is_listed_with_its_error() -> None:
    agent = ScriptedAgent(["partial", Fail(RuntimeError("boom"))])
    with client_for(make_host(agent=agent)) as http:
        conversation = _conversation(http)
        http.post(
            "/v1/responses",
            json={"model": "scripted", "input": "x", "conversation": conversation},
            headers=ALICE,
        )
        entry = http.get(f"/ui-api/conversations/{conversation}/responses", headers=ALICE).json()["data"][0]
        assert entry["status"] == "failed"
        assert entry["error"]["code"] == "server_error"
        assert entry["completed_at"] is not None


def test_another_users_conversation_is_not_found(http: InProcessHTTPClient) -> None:
    conversation = _conversation(http)
    answer = http.get(f"/ui-api/conversations/{conversation}/responses", headers=BOB)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    assert http.get(f"/ui-api/conversations/{conversation}/responses").status_code == 401


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("limit=0", 400, "invalid_value"),
        ("limit=101", 400, "invalid_value"),
        ("limit=x", 400, "invalid_type"),
    ],
)
def test_bad_queries_are_refused_in_the_neutral_shape(
    http: InProcessHTTPClient, query: str, status: int, code: str
) -> None:
    conversation = _conversation(http)
    answer = http.get(f"/ui-api/conversations/{conversation}/responses?{query}", headers=ALICE)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    assert http.get(f"/ui-api/conversations/{conversation}/responses", headers=ALICE).json()["data"] == []


def test_an_unknown_or_malformed_conversation_is_not_found(http: InProcessHTTPClient) -> None:
    for conversation in ("conv_doesnotexist", "not-an-id", "x" * 300):
        answer = http.get(f"/ui-api/conversations/{conversation}/responses", headers=ALICE)
        assert answer.status_code == 404, conversation
        assert "error" in answer.json()
    assert http.post("/ui-api/conversations/conv_x/responses", headers=ALICE).status_code == 405
