"""hosting.responses: the OpenAI Responses API as a channel.

from hosting.core import Host
from hosting.responses import ResponsesChannel

host = Host(my_agent, channels=[ResponsesChannel()])   # then: uvicorn module:host
# OpenAI(base_url="http://127.0.0.1:8000/v1", api_key=...) just works
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._channel import ResponsesChannel
from ._encode import encode_events
from ._options import ALLOWED_OPTIONS
from ._render import StreamRenderer
from ._response_body import render_response
from ._sse import EventStreamResponse

try:
    __version__ = version("hosting-responses")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0.0.0"

__all__ = [
    "ALLOWED_OPTIONS",
    "EventStreamResponse",
    "ResponsesChannel",
    "StreamRenderer",
    "__version__",
    "encode_events",
    "render_response",
]
