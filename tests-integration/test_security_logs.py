"""Logs at INFO carry a request id (also in the ``x-request-id`` response header) and never the
content of messages: not the input, not the instructions, not the agent's output, not what a
conversation holds, also when the agent fails or the input is refused."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest

from hosting.core import Host
from hosting.testing import Fail, ScriptedAgent

SECRET = "SECRET-PLAN-42"


def fails_on_request(run: object) -> object:
    text = getattr(run, "input_text", "")
    if "fail" in text:
        return [f"partial {SECRET}", Fail(RuntimeError("the agent broke"))]
    return f"answer about {SECRET}"


def test_an_info_level_run_logs_no_message_text_and_every_record_has_a_request_id(
    make_host: Callable[..., Host], served: Callable[..., str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    url = served(make_host(ScriptedAgent([fails_on_request], name="echo")))
    request_ids: set[str] = set()
    with openai.OpenAI(base_url=f"{url}/v1", api_key="key-alice", max_retries=0, timeout=20) as client:
        created = client.responses.with_raw_response.create(
            model="echo", input=f"tell me {SECRET}", instructions=f"keep {SECRET} safe"
        )
        request_ids.add(created.headers["x-request-id"])
        response = created.parse()
        assert SECRET in response.output_text
        with client.responses.stream(model="echo", input=f"stream {SECRET}") as stream:
            assert SECRET in stream.get_final_response().output_text
        conversation = client.conversations.create(items=[{"role": "user", "content": f"remember {SECRET}"}])
        client.conversations.items.create(conversation.id, items=[{"role": "user", "content": SECRET}])
        client.responses.create(model="echo", input=f"more {SECRET}", conversation=conversation.id)
        assert SECRET in str(client.responses.input_items.list(response.id).data)
        with pytest.raises(openai.InternalServerError) as failed:
            client.responses.create(model="echo", input=f"please fail {SECRET}")
        request_ids.add(failed.value.response.headers["x-request-id"])
        bad_role: Any = [{"role": "nobody", "content": SECRET}]
        with pytest.raises(openai.BadRequestError):
            client.responses.create(model="echo", input=bad_role)
    with httpx.Client(base_url=url, timeout=10) as http:
        refused = http.post("/v1/responses", content=f'{{"input": "{SECRET}'.encode())  # no key, bad JSON
        assert refused.status_code == 401

    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    records = list(caplog.records)
    assert records, "the failing run must have been logged"
    for record in records:
        assert SECRET not in formatter.format(record), record.name
    hosting = [record for record in records if record.name.startswith("hosting.")]
    failure = [record for record in hosting if record.levelno >= logging.ERROR]
    assert failure and failure[0].exc_info is not None  # the agent's failure is logged, with its traceback
    assert {getattr(record, "request_id", None) for record in failure} <= request_ids
    for record in hosting:
        assert isinstance(getattr(record, "request_id", None), str)
