"""`MCPChannel`: the hosted agents as MCP tools, over Streamable HTTP, on one path of the host."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any, ClassVar

from starlette.routing import Route

from hosting.core.channels import ChannelContext, ChannelContribution
from mcp.server import Server
from mcp.server.streamable_http_manager import (
    DEFAULT_MAX_SESSIONS,
    DEFAULT_SESSION_IDLE_TIMEOUT,
    StreamableHTTPSessionManager,
)
from mcp.server.transport_security import TransportSecuritySettings

from ._errors import jsonrpc_error_response
from ._sessions import SessionService
from ._tools import INPUT_SCHEMA, OUTPUT_SCHEMA, AgentTools


def _package_version() -> str:
    try:
        return version("hosting-mcp")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
        return "0.0.0"


class MCPChannel:
    """Serves the host's agents as MCP tools over Streamable HTTP (the official `mcp` SDK's server).

    One tool per agent, named after it, taking ``{input, conversation?}``; its result is the
    answer's text, with ``{response_id, conversation}`` as structured content. Callers are
    authenticated by the host (``Authorization: Bearer``) and see only their own conversations.

    Args:
        path: where the MCP endpoint is served.
        server_name: the name the server gives in its ``initialize`` answer.
        instructions: what the server tells the client about itself (``initialize``).
        descriptions: a tool description per agent name (default: the agent's ``description``
            attribute, or a sentence naming it).
        json_response: answer each request with one JSON body instead of an SSE stream (no
            progress notifications then).
        session_idle_timeout: seconds a session may stay idle before it is closed (None: never).
        max_sessions: sessions open at once; a new one beyond is refused with 503 (None: no limit).
        transport_security: the SDK's Host/Origin checks against DNS rebinding (None: off). Worth
            turning on for a host without authentication that a browser could reach.
    """

    name = "mcp"
    #: The JSON schema of every tool's arguments, as `tools/list` publishes it.
    input_schema: ClassVar[dict[str, Any]] = INPUT_SCHEMA
    #: The JSON schema of every tool's structured content.
    output_schema: ClassVar[dict[str, Any]] = OUTPUT_SCHEMA

    def __init__(
        self,
        path: str = "/mcp",
        *,
        server_name: str = "hosting",
        instructions: str | None = None,
        descriptions: Mapping[str, str] | None = None,
        json_response: bool = False,
        session_idle_timeout: float | None = DEFAULT_SESSION_IDLE_TIMEOUT,
        max_sessions: int | None = DEFAULT_MAX_SESSIONS,
        transport_security: TransportSecuritySettings | None = None,
    ) -> None:
        self.path = path
        self.server_name = server_name
        self.instructions = instructions
        self.descriptions = dict(descriptions or {})
        self.json_response = json_response
        self.session_idle_timeout = session_idle_timeout
        self.max_sessions = max_sessions
        self.transport_security = transport_security

    def contribute(self, context: ChannelContext) -> ChannelContribution:
        tools = AgentTools(context, descriptions=self.descriptions)
        server: Server[dict[str, object]] = Server(
            self.server_name,
            version=_package_version(),
            instructions=self.instructions,
            get_tool_input_schema=tools.input_schema,
            on_list_tools=tools.list_tools,
            on_call_tool=tools.call_tool,
        )

        def session_manager() -> StreamableHTTPSessionManager:
            return StreamableHTTPSessionManager(
                app=server,
                json_response=self.json_response,
                security_settings=self.transport_security,
                session_idle_timeout=self.session_idle_timeout,
                # The host has read and bounded the body already: its limit is the one that holds.
                max_request_body_size=context.limits.max_body_bytes + 1,
                max_sessions=self.max_sessions,
            )

        sessions = SessionService(session_manager)
        return ChannelContribution(
            routes=[Route(self.path, sessions)],
            on_startup=[sessions.start],
            on_shutdown=[sessions.stop],
            error_prefix=self.path,
            render_error=jsonrpc_error_response,
        )
