"""hosting.agent_framework: serve Microsoft Agent Framework agents and workflows.

from agent_framework import Agent
from hosting.agent_framework import AgentFrameworkAgent
from hosting.core import Host
from hosting.responses import ResponsesChannel

host = Host(AgentFrameworkAgent(Agent(client=..., tools=[...])), channels=[ResponsesChannel()])
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._agent import AgentFrameworkAgent, chat_options
from ._approvals import TOOL_APPROVAL_FUNCTION, approval_call, approval_decision
from ._request_context import (
    RequestContext,
    SupportsRequestContext,
    get_request_context,
    request_context_scope,
)
from ._scripted import ScriptedCall, ScriptedChatClient
from ._targets import Factory, Per
from ._workflow import REQUEST_INFO_FUNCTION, WorkflowInput, request_call

try:
    __version__ = version("hosting-agent-framework")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0.0.0"

__all__ = [
    "REQUEST_INFO_FUNCTION",
    "TOOL_APPROVAL_FUNCTION",
    "AgentFrameworkAgent",
    "Factory",
    "Per",
    "RequestContext",
    "ScriptedCall",
    "ScriptedChatClient",
    "SupportsRequestContext",
    "WorkflowInput",
    "__version__",
    "approval_call",
    "approval_decision",
    "chat_options",
    "get_request_context",
    "request_call",
    "request_context_scope",
]
