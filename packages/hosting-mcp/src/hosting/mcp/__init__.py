"""hosting.mcp: the hosted agents as MCP tools, over Streamable HTTP.

from hosting.core import Host
from hosting.mcp import MCPChannel

host = Host(my_agent, channels=[MCPChannel()])   # then: uvicorn module:host
# an MCP client at http://127.0.0.1:8000/mcp lists one tool per agent
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._channel import MCPChannel

try:
    __version__ = version("hosting-mcp")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0.0.0"

__all__ = [
    "MCPChannel",
    "__version__",
]
