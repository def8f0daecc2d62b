"""hosting.testing: test your agent as your users will reach it.

Public names are listed in `__all__`; each section below is owned by one module.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._agents import Delay, EchoAgent, Fail, RecordedRun, ScriptedAgent, Step, StepFunction
from ._clients import DEFAULT_API_KEY, InProcessHTTPClient, async_openai_client, openai_client
from ._conformance import StoreConformance, retention_options
from ._openai_types import (
    check_sequence,
    parse_event_stream,
    strict_item,
    strict_response,
    strict_stream_event,
    undeclared_fields,
)
from ._server import serve, serving
from ._upstream import FAKE_MODEL, FakeOpenAI, ScriptedReply, UpstreamRequest, fake_openai_server
from ._upstream_wire import UpstreamError, UpstreamReply, UpstreamToolCall

try:
    __version__ = version("hosting-testing")
except PackageNotFoundError:  # pragma: no cover
    __version__ = "0.0.0"

__all__ = [
    "DEFAULT_API_KEY",
    "FAKE_MODEL",
    "Delay",
    "EchoAgent",
    "Fail",
    "FakeOpenAI",
    "InProcessHTTPClient",
    "RecordedRun",
    "ScriptedAgent",
    "ScriptedReply",
    "Step",
    "StepFunction",
    "StoreConformance",
    "UpstreamError",
    "UpstreamReply",
    "UpstreamRequest",
    "UpstreamToolCall",
    "__version__",
    "async_openai_client",
    "check_sequence",
    "fake_openai_server",
    "openai_client",
    "parse_event_stream",
    "retention_options",
    "serve",
    "serving",
    "strict_item",
    "strict_response",
    "strict_stream_event",
    "undeclared_fields",
]
