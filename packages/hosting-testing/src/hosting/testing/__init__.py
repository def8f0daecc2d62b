"""hosting.testing: test your agent as your users will reach it.

Public names are listed in `__all__`; each section below is owned by one module.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._agents import Delay, EchoAgent, Fail, RecordedRun, ScriptedAgent, Step, StepFunction
    from ._clients import DEFAULT_API_KEY, InProcessHTTPClient, async_openai_client, openai_client
    from ._conformance import StoreConformance, retention_options
    from ._harness import Hosted, channel_context
    from ._openai_types import (
        check_sequence,
        parse_event_stream,
        strict_item,
        strict_response,
        strict_stream_event,
        undeclared_fields,
    )
    from ._process import ServerProcess, server_process
    from ._server import serve, serving
    from ._upstream import FAKE_MODEL, FakeOpenAI, ScriptedReply, UpstreamRequest, fake_openai_server
    from ._upstream_wire import UpstreamError, UpstreamReply, UpstreamToolCall


# Names load on first use (PEP 562): the pytest plugin imports this package in every test run of a
# project that installs it, and the openai SDK, pydantic and uvicorn are slow to import.
_LAZY = {
    "Delay": "_agents",
    "EchoAgent": "_agents",
    "Fail": "_agents",
    "RecordedRun": "_agents",
    "ScriptedAgent": "_agents",
    "Step": "_agents",
    "StepFunction": "_agents",
    "DEFAULT_API_KEY": "_clients",
    "InProcessHTTPClient": "_clients",
    "async_openai_client": "_clients",
    "openai_client": "_clients",
    "StoreConformance": "_conformance",
    "retention_options": "_conformance",
    "Hosted": "_harness",
    "channel_context": "_harness",
    "check_sequence": "_openai_types",
    "parse_event_stream": "_openai_types",
    "strict_item": "_openai_types",
    "strict_response": "_openai_types",
    "strict_stream_event": "_openai_types",
    "undeclared_fields": "_openai_types",
    "ServerProcess": "_process",
    "server_process": "_process",
    "serve": "_server",
    "serving": "_server",
    "FAKE_MODEL": "_upstream",
    "FakeOpenAI": "_upstream",
    "ScriptedReply": "_upstream",
    "UpstreamRequest": "_upstream",
    "fake_openai_server": "_upstream",
    "UpstreamError": "_upstream_wire",
    "UpstreamReply": "_upstream_wire",
    "UpstreamToolCall": "_upstream_wire",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


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
    "Hosted",
    "InProcessHTTPClient",
    "RecordedRun",
    "ScriptedAgent",
    "ScriptedReply",
    "ServerProcess",
    "Step",
    "StepFunction",
    "StoreConformance",
    "UpstreamError",
    "UpstreamReply",
    "UpstreamRequest",
    "UpstreamToolCall",
    "__version__",
    "async_openai_client",
    "channel_context",
    "check_sequence",
    "fake_openai_server",
    "openai_client",
    "parse_event_stream",
    "retention_options",
    "serve",
    "server_process",
    "serving",
    "strict_item",
    "strict_response",
    "strict_stream_event",
    "undeclared_fields",
]
