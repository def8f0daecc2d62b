"""The OpenAPI document at ``{prefix}/openapi.json`` is true to the channel: every route and nothing
else, the host's limits, valid schemas whose examples the channel accepts, and real answers (successes
and every kind of error) that validate against what the document declares for their status."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from hosting.core import ApiKeyAuthenticator, Host, Limits, MemoryStore
from hosting.responses import ResponsesChannel
from hosting.testing import Delay, EchoAgent, Fail, InProcessHTTPClient, ScriptedAgent, parse_event_stream

ALICE = {"authorization": "Bearer key-alice"}
METHODS = ("GET", "POST", "DELETE", "PUT", "PATCH")


def make_host(agent: Any = None, **options: Any) -> Host:
    return Host(
        agent or EchoAgent(),
        channels=[ResponsesChannel()],
        store=MemoryStore(),
        authenticator=ApiKeyAuthenticator({"key-alice": "alice"}),
        **options,
    )


@contextlib.contextmanager
def client_for(app: Any) -> Iterator[InProcessHTTPClient]:
    client = InProcessHTTPClient(app)
    client.headers.update(ALICE)
    try:
        yield client
    finally:
        client.close()


def fetch_document(http: InProcessHTTPClient, url: str = "/v1/openapi.json") -> dict[str, Any]:
    response = http.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = response.json()
    return document


class Answer(Protocol):
    """An HTTP response, from httpx or from the in-process client."""

    status_code: int

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class Checker:
    """Validates real answers against what the document declares for their operation and status."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource("urn:openapi", resource)
        self.seen: set[tuple[str, str, int]] = set()

    def validator(self, pointer: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": f"urn:openapi#{pointer}"}, registry=self.registry)

    def check(self, method: str, template: str, response: Answer) -> None:
        operation = self.document["paths"][template][method.lower()]
        status = str(response.status_code)
        assert status in operation["responses"], f"{method} {template} answered {status}: {response.text}"
        declared = operation["responses"][status]
        base = f"/paths/{_escape(template)}/{method.lower()}/responses/{status}"
        if "$ref" in declared:
            name = declared["$ref"].rsplit("/", 1)[1]
            base, declared = f"/components/responses/{name}", self.document["components"]["responses"][name]
        for header in declared.get("headers", {}):
            if header == "x-request-id" or (header == "Retry-After" and status == "429"):
                assert response.headers.get(header), f"{method} {template} {status} lacks {header}"
        media = response.headers["content-type"].split(";")[0].strip()
        assert media in declared["content"], f"{method} {template} {status} answered {media}"
        if media == "text/event-stream":
            events = parse_event_stream(response.text)
            assert events
            for event in events:
                self.validator("/components/schemas/StreamEvent").validate(event)
        else:
            self.validator(f"{base}/content/{_escape(media)}/schema").validate(response.json())
        self.seen.add((method, template, response.status_code))


# -- serving ---------------------------------------------------------------------------------------


def test_the_document_is_openapi_3_1_and_needs_the_same_key_as_the_channel() -> None:
    with client_for(make_host()) as http:
        refused = http.get("/v1/openapi.json", headers={"authorization": "Bearer wrong"})
        assert refused.status_code == 401
        assert refused.json()["error"]["type"] == "authentication_error"
        document = fetch_document(http)
        again = fetch_document(http)
    assert document == again
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "/v1"}]
    assert set(document["components"]["securitySchemes"]) == {"bearerAuth", "apiKeyHeader"}
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_the_server_url_follows_the_mount_point_and_the_prefix() -> None:
    host = Host(
        EchoAgent(),
        channels=[ResponsesChannel(prefix="/api")],
        store=MemoryStore(),
        authenticator=ApiKeyAuthenticator({"key-alice": "alice"}),
    )
    parent = Starlette(routes=[Route("/", lambda request: None), Mount("/agents", app=host)])
    with client_for(parent) as http:
        document = fetch_document(http, "/agents/api/openapi.json")
        # The document's server is the SDK's base_url: calls to it reach the channel.
        created = http.post(f"{document['servers'][0]['url']}/responses", json={"input": "hi"})
    assert document["servers"] == [{"url": "/agents/api"}]
    assert created.status_code == 200
    assert created.json()["output"][0]["content"][0]["text"] == "hi"


def _concrete(template: str) -> str:
    return template.replace("{", "").replace("}", "")


def test_every_route_is_documented_and_every_documented_operation_is_served() -> None:
    channel = ResponsesChannel()
    host = Host(EchoAgent(), channels=[channel], store=MemoryStore())
    with client_for(host) as http:
        document = fetch_document(http)
        documented = {
            (method.upper(), template) for template, item in document["paths"].items() for method in item
        }
        served = set()
        for route in channel.routes():
            template = getattr(route, "path", "").removeprefix(channel.prefix)
            for method in METHODS:
                answer = http.request(method, f"/v1{_concrete(template)}", json={})
                if answer.status_code != 405:
                    served.add((method, template))
    assert {template for _, template in served} == set(document["paths"])
    assert served == documented


# -- the host's limits -----------------------------------------------------------------------------


def test_the_request_schemas_carry_the_hosts_limits_and_the_channel_enforces_them() -> None:
    limits = Limits(
        max_input_items=3,
        max_text_chars=40,
        max_metadata_keys=2,
        max_metadata_key_chars=8,
        max_metadata_value_chars=9,
    )
    with client_for(make_host(limits=limits)) as http:
        schemas = fetch_document(http)["components"]["schemas"]
        create = schemas["CreateResponse"]["properties"]
        assert create["input"]["anyOf"][0]["maxLength"] == 40
        assert create["input"]["anyOf"][1]["maxItems"] == 3
        assert create["instructions"]["maxLength"] == 40
        metadata = schemas["Metadata"]
        assert (metadata["maxProperties"], metadata["propertyNames"]["maxLength"]) == (2, 8)
        assert metadata["additionalProperties"]["maxLength"] == 9

        validator = Checker(fetch_document(http)).validator("/components/schemas/CreateResponse")
        accepted = {"input": [{"role": "user", "content": "x" * 40}] * 3, "metadata": {"k" * 8: "v" * 9}}
        for body in (
            accepted,
            {"input": [{"role": "user", "content": "x"}] * 4},
            {"input": "x" * 41},
            {"input": "x", "instructions": "x" * 41},
            {"input": "x", "metadata": {"a": "1", "b": "2", "c": "3"}},
            {"input": "x", "metadata": {"k" * 9: "v"}},
            {"input": "x", "metadata": {"k": "v" * 10}},
        ):
            answer = http.post("/v1/responses", json=body)
            valid = validator.is_valid(body)
            # What the document accepts, the channel accepts, and what it refuses is a 400.
            assert answer.status_code == (200 if valid else 400), (body, answer.text)
        assert validator.is_valid(accepted)


# -- examples and real answers ---------------------------------------------------------------------


def test_the_documented_examples_are_valid_and_answered() -> None:
    with client_for(make_host()) as http:
        checker = Checker(fetch_document(http))
        schema = checker.document["components"]["schemas"]["CreateResponse"]
        assert len(schema["examples"]) >= 2
        for example in schema["examples"]:
            checker.validator("/components/schemas/CreateResponse").validate(example)
            answer = http.post("/v1/responses", json=example)
            assert answer.status_code == 200, answer.text
            checker.check("POST", "/responses", answer)


def test_real_answers_of_every_operation_validate_against_the_document() -> None:
    agent = ScriptedAgent(
        [lambda run: [Delay(30), "late"] if run.metadata.get("slow") else (run.input_text or "ok")],
        name="echo",
    )
    host = make_host(agent, limits=Limits(max_body_bytes=4096, max_concurrent_runs_per_user=2))
    with client_for(host) as http:
        checker = Checker(fetch_document(http))

        def call(method: str, template: str, path: str, **options: Any) -> Answer:
            answer = http.request(method, f"/v1{path}", **options)
            checker.check(method, template, answer)
            return answer

        # responses
        created = call(
            "POST", "/responses", "/responses", json={"input": "hello", "metadata": {"a": "b"}}
        ).json()
        rid = created["id"]
        call("POST", "/responses", "/responses", json={"input": "again", "stream": True})
        call("POST", "/responses", "/responses", json={"input": 5})
        call("POST", "/responses", "/responses", json={"input": "x", "previous_response_id": "resp_nope"})
        call("POST", "/responses", "/responses", content=b'{"input": "' + b"x" * 5000 + b'"}')
        call("POST", "/responses", "/responses", json={"input": "x"}, headers={"authorization": "Bearer no"})
        call("POST", "/responses", "/responses", json={"input": "k"}, headers={"idempotency-key": "k1"})
        call("POST", "/responses", "/responses", json={"input": "other"}, headers={"idempotency-key": "k1"})
        slow = [
            call(
                "POST",
                "/responses",
                "/responses",
                json={"input": "s", "background": True, "metadata": {"slow": "1"}},
            )
            for _ in range(2)
        ]
        too_many = call("POST", "/responses", "/responses", json={"input": "x"})
        assert too_many.status_code == 429 and too_many.headers["retry-after"] == "1"
        for background in slow:
            call("POST", "/responses/{response_id}/cancel", f"/responses/{background.json()['id']}/cancel")
        call("GET", "/responses/{response_id}", f"/responses/{rid}")
        call("GET", "/responses/{response_id}", f"/responses/{rid}", params={"stream": "true"})
        call("GET", "/responses/{response_id}", f"/responses/{rid}", params={"starting_after": "2"})
        call("GET", "/responses/{response_id}", "/responses/resp_nope")
        call("GET", "/responses/{response_id}/input_items", f"/responses/{rid}/input_items")
        call(
            "GET",
            "/responses/{response_id}/input_items",
            f"/responses/{rid}/input_items",
            params={"limit": "0"},
        )
        call("GET", "/responses/{response_id}/input_items", "/responses/resp_nope/input_items")
        call("POST", "/responses/{response_id}/cancel", f"/responses/{rid}/cancel")
        call("POST", "/responses/{response_id}/cancel", "/responses/resp_nope/cancel")
        call("DELETE", "/responses/{response_id}", f"/responses/{rid}")
        call("DELETE", "/responses/{response_id}", f"/responses/{rid}")
        # models and the document itself
        call("GET", "/models", "/models")
        call("GET", "/models/{model}", "/models/echo")
        call("GET", "/models/{model}", "/models/nope")
        call("GET", "/openapi.json", "/openapi.json")
        # conversations
        base = "/conversations/{conversation_id}"
        conversation = call(
            "POST", "/conversations", "/conversations", json={"items": [{"role": "user", "content": "hi"}]}
        ).json()
        cid = conversation["id"]
        call("POST", "/conversations", "/conversations", json={"items": "nope"})
        call("GET", "/conversations", "/conversations")
        call("GET", "/conversations", "/conversations", params={"limit": "0"})
        call("GET", base, f"/conversations/{cid}")
        call("GET", base, "/conversations/conv_nope")
        call("POST", base, f"/conversations/{cid}", json={"metadata": {"k": "v"}})
        call("POST", base, f"/conversations/{cid}", json={})
        call("POST", base, "/conversations/conv_nope", json={"metadata": {}})
        items = call("GET", f"{base}/items", f"/conversations/{cid}/items").json()
        call("GET", f"{base}/items", f"/conversations/{cid}/items", params={"order": "up"})
        call("GET", f"{base}/items", "/conversations/conv_nope/items")
        appended = call(
            "POST",
            f"{base}/items",
            f"/conversations/{cid}/items",
            json={"items": [{"role": "user", "content": "x"}]},
        ).json()
        call("POST", f"{base}/items", f"/conversations/{cid}/items", json={"items": []})
        call(
            "POST",
            f"{base}/items",
            "/conversations/conv_nope/items",
            json={"items": [{"role": "user", "content": "x"}]},
        )
        item = f"{base}/items/{{item_id}}"
        call("GET", item, f"/conversations/{cid}/items/{items['data'][0]['id']}")
        call("GET", item, f"/conversations/{cid}/items/msg_nope")
        call("DELETE", item, f"/conversations/{cid}/items/{appended['data'][0]['id']}")
        call("DELETE", item, f"/conversations/{cid}/items/msg_nope")
        call("DELETE", base, f"/conversations/{cid}")
        call("DELETE", base, f"/conversations/{cid}")

    every = {
        (method.upper(), template) for template, item in checker.document["paths"].items() for method in item
    }
    assert {(method, template) for method, template, _ in checker.seen} == every
    statuses = {status for _, _, status in checker.seen}
    assert {200, 400, 401, 404, 409, 413, 429} <= statuses


def test_an_agent_failure_and_its_stream_validate_against_the_document() -> None:
    agent = ScriptedAgent(["partial", Fail(RuntimeError("internal detail"))])
    with client_for(make_host(agent)) as http:
        checker = Checker(fetch_document(http))
        failed = http.post("/v1/responses", json={"input": "x"})
        streamed = http.post("/v1/responses", json={"input": "x", "stream": True})
    checker.check("POST", "/responses", failed)
    checker.check("POST", "/responses", streamed)
    assert failed.status_code == 500 and "internal detail" not in failed.text
    assert parse_event_stream(streamed.text)[-1]["type"] == "response.failed"


def test_the_checker_refuses_answers_the_document_does_not_declare() -> None:
    with client_for(make_host()) as http:
        checker = Checker(fetch_document(http))
    request = httpx.Request("GET", "http://t/v1/models")
    headers = {"content-type": "application/json", "x-request-id": "req_1"}
    wrong_shape = httpx.Response(
        200, content=json.dumps({"object": "list"}).encode(), headers=headers, request=request
    )
    with pytest.raises(Exception, match="data"):
        checker.check("GET", "/models", wrong_shape)
    undeclared = httpx.Response(409, content=b"{}", headers=headers, request=request)
    with pytest.raises(AssertionError, match="409"):
        checker.check("GET", "/models", undeclared)
    leaky = {"error": {"message": "x", "type": "t", "param": None, "code": None, "trace": "Traceback"}}
    with pytest.raises(Exception, match="trace"):
        checker.check(
            "GET", "/models/{model}", httpx.Response(404, json=leaky, headers=headers, request=request)
        )
