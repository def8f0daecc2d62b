"""The fake upstream model server, driven by the official openai SDK (and checked against its types)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage

from hosting.testing import (
    FAKE_MODEL,
    FakeOpenAI,
    UpstreamError,
    UpstreamReply,
    UpstreamRequest,
    UpstreamToolCall,
    fake_openai_server,
)


def test_the_sdk_sends_through_httpx2_so_respx_cannot_see_it() -> None:
    # Why the fake is a loopback server: respx patches `httpx`, and the SDK's own client is not one.
    client = openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1")
    inner = client._client
    assert isinstance(inner, httpx2.Client)
    assert httpx.Client not in type(inner).__mro__


def test_chat_completion_whole_text_and_usage(fake_openai: Callable[..., FakeOpenAI]) -> None:
    fake = fake_openai(["Hello there"])
    completion = fake.client().chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.content == "Hello there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "gpt-test"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 2
    assert len(fake.requests) == 1
    request = fake.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.messages == [{"role": "user", "content": "hi"}]
    assert request.api_key == "test-key"


def test_chat_completion_tool_calls_whole(fake_openai: Callable[..., FakeOpenAI]) -> None:
    fake = fake_openai([UpstreamToolCall("calculator", {"expression": "2+2"}, call_id="call_a")])
    completion = fake.client().chat.completions.create(
        model="m", messages=[{"role": "user", "content": "2+2?"}]
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls or []
    assert len(calls) == 1
    call = calls[0]
    assert call.type == "function"
    assert call.id == "call_a"
    assert call.function.name == "calculator"
    assert json.loads(call.function.arguments) == {"expression": "2+2"}


def test_chat_completion_stream_reassembles_text_and_tool_calls(
    fake_openai: Callable[..., FakeOpenAI],
) -> None:
    reply = UpstreamReply(
        text="Let me check.",
        tool_calls=(
            UpstreamToolCall("clock", '{"tz": "UTC"}'),
            UpstreamToolCall("calculator", {"expression": "1+1"}),
        ),
        input_tokens=7,
        output_tokens=5,
    )
    fake = fake_openai([reply])
    stream = fake.client().chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "time?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks: list[ChatCompletionChunk] = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "Let me check."
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content_chunks) == 3  # word by word
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            entry = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            if delta.id:
                entry["id"] = delta.id
            if delta.function and delta.function.name:
                entry["name"] = delta.function.name
            if delta.function and delta.function.arguments:
                entry["arguments"] += delta.function.arguments
    assert [calls[i]["name"] for i in sorted(calls)] == ["clock", "calculator"]
    assert json.loads(calls[0]["arguments"]) == {"tz": "UTC"}
    assert json.loads(calls[1]["arguments"]) == {"expression": "1+1"}
    assert all(entry["id"].startswith("call_") for entry in calls.values())
    finishing = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishing == ["tool_calls"]
    usage = chunks[-1].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (7, 5)


def test_chat_stream_helper_accepts_the_stream(fake_openai: Callable[..., FakeOpenAI]) -> None:
    fake = fake_openai(["streamed words here"])
    with fake.client().chat.completions.stream(
        model="m", messages=[{"role": "user", "content": "x"}]
    ) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == "streamed words here"


def test_responses_whole(fake_openai: Callable[..., FakeOpenAI]) -> None:
    fake = fake_openai([UpstreamReply(text="Hi!", tool_calls=(UpstreamToolCall("clock", {}),))])
    response = fake.client().responses.create(model="m", input="hello", instructions="be nice")
    assert response.status == "completed"
    assert response.output_text == "Hi!"
    assert response.instructions == "be nice"
    message, call = response.output
    assert isinstance(message, ResponseOutputMessage)
    assert isinstance(call, ResponseFunctionToolCall)
    assert call.name == "clock"
    assert call.arguments == "{}"
    assert fake.requests[0].json["input"] == "hello"


def test_responses_stream_helper_gets_events_in_order(fake_openai: Callable[..., FakeOpenAI]) -> None:
    fake = fake_openai([UpstreamReply(text="one two three", tool_calls=(UpstreamToolCall("f", {"a": 1}),))])
    with fake.client().responses.stream(model="m", input="go") as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds.count("response.output_text.delta") == 3
    assert kinds.count("response.function_call_arguments.delta") == 2
    assert kinds[-1] == "response.completed"
    assert final.output_text == "one two three"
    call = final.output[1]
    assert isinstance(call, ResponseFunctionToolCall)
    assert json.loads(call.arguments) == {"a": 1}


def test_replies_are_consumed_in_order_then_exhausted() -> None:
    with fake_openai_server(["first", "second"]) as fake:
        client = fake.client()
        texts = [
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": str(n)}])
            .choices[0]
            .message.content
            for n in range(2)
        ]
        with pytest.raises(openai.InternalServerError) as caught:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "3"}])
    assert texts == ["first", "second"]
    assert "2 scripted replies" in str(caught.value)
    assert caught.value.code == "script_exhausted"


def test_repeat_last_and_reply_functions() -> None:
    def echo(request: UpstreamRequest) -> str:
        return "you said " + str(request.messages[-1]["content"])

    with fake_openai_server([echo], repeat_last=True) as fake:
        client = fake.client()
        answers = [
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": word}])
            .choices[0]
            .message.content
            for word in ("a", "b", "c")
        ]
    assert answers == ["you said a", "you said b", "you said c"]
    assert len(fake.model_requests) == 3


def test_scripted_errors_use_the_openai_error_shape(fake_openai: Callable[..., FakeOpenAI]) -> None:
    fake = fake_openai([UpstreamError(429, "slow down", code="rate_limit"), "recovered"])
    client = fake.client()
    with pytest.raises(openai.RateLimitError) as caught:
        client.responses.create(model="m", input="x")
    assert caught.value.status_code == 429
    assert caught.value.code == "rate_limit"
    assert client.responses.create(model="m", input="x").output_text == "recovered"


def test_api_key_is_checked_when_set() -> None:
    with fake_openai_server(["ok"], api_key="sekret") as fake:
        with pytest.raises(openai.AuthenticationError):
            fake.client(api_key="wrong").chat.completions.create(model="m", messages=[])
        answer = fake.client().chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert answer.choices[0].message.content == "ok"
    assert [request.api_key for request in fake.requests] == ["wrong", "sekret"]


def test_models_and_bad_requests(fake_openai: Callable[..., FakeOpenAI]) -> None:
    fake = fake_openai(["unused"])
    models = fake.client().models.list()
    assert [model.id for model in models.data] == [FAKE_MODEL]
    with httpx.Client(base_url=fake.base_url) as raw:
        not_json = raw.post(
            "/chat/completions", content=b"{nope", headers={"content-type": "application/json"}
        )
        no_model = raw.post("/responses", json={"input": "x"})
    assert not_json.status_code == 400
    assert no_model.status_code == 400
    assert no_model.json()["error"]["message"] == "The body must be a JSON object with a 'model'."
    assert fake.model_requests[-1].json == {"input": "x"}


def test_replies_must_be_a_sequence() -> None:
    with pytest.raises(TypeError, match="sequence"), fake_openai_server("hello"):
        pass
