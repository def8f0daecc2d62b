"""A fake OpenAI-compatible model server on 127.0.0.1, for agents that call a model themselves.

Why a real loopback server and not `respx`: the current `openai` SDK sends its
requests through `httpx2`, which `respx` (a mock of `httpx`) does not see; an
agent that builds its own `OpenAI()` client would reach the network. A server
on a free loopback port intercepts every client the same way, whatever its HTTP
library: point the agent at ``fake.base_url`` (``OPENAI_BASE_URL``) and script
what the "model" answers::

    with fake_openai_server(["Hello!", UpstreamToolCall("clock", {})]) as fake:
        client = OpenAI(base_url=fake.base_url, api_key="test")
        ...
    assert fake.requests[0].json["messages"][-1]["content"] == "hi"

Each request to ``/v1/chat/completions`` or ``/v1/responses`` takes the next
scripted reply (streamed when the request asks for it); ``/v1/models`` lists the
model. A request past the end of the script is answered with a 500 that says so.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ._server import serve
from ._upstream_wire import (
    UpstreamError,
    UpstreamReply,
    UpstreamToolCall,
    _Ids,
    chat_completion,
    chat_completion_stream,
    response_object,
    response_stream,
)

if TYPE_CHECKING:
    from openai import OpenAI

FAKE_MODEL = "fake-model"


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    """A request the fake server received.

    Attributes:
        method / path: as received (``POST``, ``/v1/chat/completions``).
        headers: lower-cased header names.
        json: the decoded JSON body (None for a body that is not JSON).
    """

    method: str
    path: str
    headers: Mapping[str, str]
    json: Any

    @property
    def api_key(self) -> str | None:
        """The bearer token the client sent."""
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" and token else None

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages of a Chat Completions request (empty for other requests)."""
        body = self.json if isinstance(self.json, dict) else {}
        messages = body.get("messages")
        return list(messages) if isinstance(messages, list) else []


ScriptedReply: TypeAlias = (
    str | UpstreamToolCall | UpstreamReply | UpstreamError | Callable[[UpstreamRequest], "ScriptedReply"]
)
"""A reply of the fake model: text, one function call, a whole `UpstreamReply`, an `UpstreamError`,
or a function of the request that returns one of those."""


def _as_reply(scripted: ScriptedReply, request: UpstreamRequest) -> UpstreamReply | UpstreamError:
    for _ in range(10):  # a function may return a function; bounded, so a loop cannot hang a test
        if isinstance(scripted, str):
            return UpstreamReply(text=scripted)
        if isinstance(scripted, UpstreamToolCall):
            return UpstreamReply(tool_calls=(scripted,))
        if isinstance(scripted, UpstreamReply | UpstreamError):
            return scripted
        scripted = scripted(request)
    raise TypeError("a scripted reply function kept returning functions")


def _prompt_words(body: Mapping[str, Any]) -> int:
    return len(json.dumps(body.get("messages") or body.get("input") or "").split())


@dataclass
class FakeOpenAI:
    """A running fake upstream: where it is, what it was asked, and what it has left to say.

    Attributes:
        base_url: ``http://127.0.0.1:PORT/v1``, for ``OpenAI(base_url=...)`` or ``OPENAI_BASE_URL``.
        requests: every request received, in order.
        replies: the scripted replies, consumed one per model request.
        model: the model name it reports.
    """

    replies: list[ScriptedReply]
    model: str = FAKE_MODEL
    repeat_last: bool = False
    api_key: str | None = None
    base_url: str = ""
    requests: list[UpstreamRequest] = field(default_factory=list)
    _served: int = 0
    _ids: _Ids = field(default_factory=_Ids)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _clients: list[OpenAI] = field(default_factory=list)

    @property
    def model_requests(self) -> list[UpstreamRequest]:
        """The requests that asked the model for an answer (not ``/v1/models``)."""
        return [request for request in self.requests if request.method == "POST"]

    def client(self, **options: Any) -> OpenAI:
        """An `OpenAI` client pointed at this server; it is closed when the server stops."""
        from openai import OpenAI

        options.setdefault("max_retries", 0)
        api_key = options.pop("api_key", self.api_key or "test-key")
        client = OpenAI(base_url=self.base_url, api_key=api_key, **options)
        self._clients.append(client)
        return client

    def close_clients(self) -> None:
        """Close the clients made by `client` (their pooled connections would otherwise leak)."""
        while self._clients:
            self._clients.pop().close()

    def _next_reply(self, request: UpstreamRequest) -> UpstreamReply | UpstreamError:
        with self._lock:
            if self._served >= len(self.replies):
                if not (self.repeat_last and self.replies):
                    return UpstreamError(
                        500,
                        f"The fake upstream has {len(self.replies)} scripted replies; this is request "
                        f"{self._served + 1}.",
                        code="script_exhausted",
                    )
                scripted = self.replies[-1]
            else:
                scripted = self.replies[self._served]
            self._served += 1
        return _as_reply(scripted, request)

    # -- the ASGI app ------------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/responses", self._responses, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    async def _record(self, request: Request) -> UpstreamRequest | Response:
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        recorded = UpstreamRequest(request.method, request.url.path, dict(request.headers), body)
        self.requests.append(recorded)
        if self.api_key is not None and recorded.api_key != self.api_key:
            return JSONResponse(
                UpstreamError(401, "Incorrect API key provided.", "invalid_api_key").body(), 401
            )
        if request.method == "POST" and not (isinstance(body, dict) and isinstance(body.get("model"), str)):
            error = UpstreamError(400, "The body must be a JSON object with a 'model'.", "invalid_request")
            return JSONResponse(error.body(), 400)
        return recorded

    async def _models(self, request: Request) -> Response:
        recorded = await self._record(request)
        if isinstance(recorded, Response):
            return recorded
        model = {"id": self.model, "object": "model", "created": 0, "owned_by": "hosting-testing"}
        return JSONResponse({"object": "list", "data": [model]})

    async def _turn(self, request: Request) -> Response | tuple[UpstreamReply, dict[str, Any]]:
        """Record a model request and take the next scripted reply (or answer with the error)."""
        recorded = await self._record(request)
        if isinstance(recorded, Response):
            return recorded
        reply = self._next_reply(recorded)
        if isinstance(reply, UpstreamError):
            return JSONResponse(reply.body(), reply.status_code)
        return reply, recorded.json

    async def _chat(self, request: Request) -> Response:
        turn = await self._turn(request)
        if isinstance(turn, Response):
            return turn
        reply, body = turn
        model, created, words = body["model"], int(time.time()), _prompt_words(body)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            frames = chat_completion_stream(
                reply,
                model=model,
                created=created,
                ids=self._ids,
                prompt_words=words,
                include_usage=include_usage,
            )
            return _event_stream(frames)
        return JSONResponse(
            chat_completion(reply, model=model, created=created, ids=self._ids, prompt_words=words)
        )

    async def _responses(self, request: Request) -> Response:
        turn = await self._turn(request)
        if isinstance(turn, Response):
            return turn
        reply, body = turn
        model, created, words = body["model"], int(time.time()), _prompt_words(body)
        if body.get("stream"):
            return _event_stream(
                response_stream(
                    reply, model=model, created=created, ids=self._ids, prompt_words=words, request=body
                )
            )
        return JSONResponse(
            response_object(
                reply, model=model, created=created, ids=self._ids, prompt_words=words, request=body
            )
        )


def _event_stream(frames: Iterator[str]) -> StreamingResponse:
    # Frames are made up front, so a script error is a clean 500 rather than a broken stream.
    return StreamingResponse(iter(list(frames)), media_type="text/event-stream")


@contextlib.contextmanager
def fake_openai_server(
    replies: Sequence[ScriptedReply] = (),
    *,
    repeat_last: bool = False,
    model: str = FAKE_MODEL,
    api_key: str | None = None,
) -> Iterator[FakeOpenAI]:
    """Run a fake OpenAI-compatible model server on 127.0.0.1 (a free port) for the block.

    Args:
        replies: what the model answers, one per request, in order.
        repeat_last: answer every request past the script with its last reply (else: a 500).
        model: the model name it reports in `/v1/models`.
        api_key: when set, requests must carry it as ``Authorization: Bearer`` (else: a 401).

    Yields:
        the running `FakeOpenAI`; its ``base_url`` ends in ``/v1``.
    """
    if isinstance(replies, str):
        raise TypeError("replies is a sequence; wrap a single text in a list")
    fake = FakeOpenAI(replies=list(replies), model=model, repeat_last=repeat_last, api_key=api_key)
    with serve(fake.app()) as base_url:
        fake.base_url = f"{base_url}/v1"
        try:
            yield fake
        finally:
            fake.close_clients()
