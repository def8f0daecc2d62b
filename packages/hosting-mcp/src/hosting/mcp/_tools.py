"""The hosted agents as MCP tools: one tool per agent, a call is a turn of a host conversation.

Choices, where the protocol leaves them to the server:

1. A tool takes ``{input, conversation?}`` and nothing else: unknown arguments are refused, so a
   misspelt ``conversation`` cannot silently start a new conversation. ``conversation: null`` is
   taken as absent (models often send null for an optional argument).
2. A call without ``conversation`` starts a new host conversation and returns its id in the
   structured content; the caller passes it back to continue. It is the conversation the other
   channels see (the Responses channel's Conversations API lists it).
3. Text deltas are sent as progress notifications when the client asked for progress (a
   ``progressToken``): ``progress`` counts the deltas (it must increase), ``message`` is the
   delta. Reasoning and tool steps are not sent.
4. A ``notifications/cancelled`` for the call cancels the run, which ends ``cancelled`` in the
   store. The run is started shielded from that cancellation, so a cancel that arrives while it
   starts still finds it, and cancels it.
5. The answer is the run's assistant text. A run that did not complete (failed, cancelled elsewhere,
   cut short) is a result with ``isError``, its reason as the text; both kinds carry the structured
   content, so the caller always learns the response id.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio

from hosting.core import (
    ConfigurationError,
    InvalidRequestError,
    LimitExceededError,
    Limits,
    RequestError,
    user_message,
)
from hosting.core.channels import (
    ChannelContext,
    ChannelRequest,
    HostedRunResult,
    OutputTextDelta,
    isolation_scope,
)
from mcp import types
from mcp.server import ServerRequestContext
from mcp.shared.exceptions import MCPError

from ._errors import error_result
from ._sessions import caller_keys

logger = logging.getLogger("hosting.mcp")

INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "input": {"type": "string", "minLength": 1, "description": "Your message to the agent."},
        "conversation": {
            "type": "string",
            "description": (
                "The id of a conversation to continue (the 'conversation' of an earlier answer). "
                "Leave it out to start a new conversation."
            ),
        },
    },
    "required": ["input"],
    "additionalProperties": False,
}

OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "response_id": {"type": "string", "description": "The id of this answer in the host's store."},
        "conversation": {"type": "string", "description": "The conversation this turn belongs to."},
    },
    "required": ["response_id", "conversation"],
}

_NOT_A_TOOL_NAME = re.compile(r"[^A-Za-z0-9._-]")


def tool_name(agent_name: str) -> str:
    """The MCP tool name of an agent: its name, with what MCP does not allow in one made ``_``."""
    return _NOT_A_TOOL_NAME.sub("_", agent_name)[:128] or "agent"


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call's arguments, checked."""

    input: str
    conversation: str | None


def parse_arguments(arguments: Mapping[str, Any] | None, limits: Limits) -> ToolCall:
    """The arguments of a call, or an `InvalidRequestError` that says what is wrong with them."""
    arguments = arguments or {}
    unknown = sorted(set(arguments) - {"input", "conversation"})
    if unknown:
        raise InvalidRequestError(
            f"Unknown argument {', '.join(map(repr, unknown))}: the tool takes 'input' and 'conversation'."
        )
    text = arguments.get("input")
    if not isinstance(text, str) or not text:
        raise InvalidRequestError("'input' is required: your message to the agent, a non-empty string.")
    if len(text) > limits.max_text_chars:
        raise LimitExceededError(f"'input' is longer than the limit of {limits.max_text_chars} characters.")
    conversation = arguments.get("conversation")
    if conversation is not None and (not isinstance(conversation, str) or not conversation):
        raise InvalidRequestError(
            "'conversation' must be a conversation id (a string), from an earlier answer."
        )
    return ToolCall(text, conversation)


class AgentTools:
    """The tools of a host's agents, and the handlers the MCP server calls for them.

    Args:
        context: the channel's context.
        descriptions: a tool description per agent name, for agents that need a better one than
            their own ``description`` attribute or the default.
    """

    def __init__(self, context: ChannelContext, *, descriptions: Mapping[str, str] | None = None) -> None:
        self.context = context
        self.agent_of_tool: dict[str, str] = {}
        self.tools: list[types.Tool] = []
        descriptions = descriptions or {}
        for agent_name, agent in context.agents.items():
            name = tool_name(agent_name)
            if name in self.agent_of_tool:
                raise ConfigurationError(
                    f"Agents {self.agent_of_tool[name]!r} and {agent_name!r} have the same MCP tool name {name!r}."
                )
            self.agent_of_tool[name] = agent_name
            description = descriptions.get(agent_name) or getattr(agent, "description", None)
            if not isinstance(description, str) or not description:
                description = (
                    f"Ask the agent '{agent_name}'. Its answer gives a conversation id to continue with."
                )
            self.tools.append(
                types.Tool(
                    name=name,
                    title=agent_name,
                    description=description,
                    input_schema=INPUT_SCHEMA,
                    output_schema=OUTPUT_SCHEMA,
                )
            )

    def input_schema(self, name: str) -> Mapping[str, Any] | None:
        """A tool's input schema by name (the SDK checks ``Mcp-Param-*`` headers against it)."""
        return INPUT_SCHEMA if name in self.agent_of_tool else None

    async def list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        """``tools/list``: every agent, in the host's order (the default agent first)."""
        return types.ListToolsResult(tools=self.tools)

    async def call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        """``tools/call``: one turn of the agent, as the caller whose request carried the call."""
        agent = self.agent_of_tool.get(params.name)
        if agent is None:
            raise MCPError(types.INVALID_PARAMS, f"Unknown tool: {params.name}")
        with isolation_scope(caller_keys(ctx)):
            try:
                call = parse_arguments(params.arguments, self.context.limits)
                return await self._turn(ctx, agent, call)
            except RequestError as error:  # bad arguments, an unknown conversation, a limit reached
                return error_result(error.message)
            except MCPError:
                raise
            except Exception:
                logger.exception("the MCP tool %r failed", params.name)
                raise MCPError(types.INTERNAL_ERROR, "The server failed to run the agent.") from None

    async def _turn(
        self, ctx: ServerRequestContext[Any, Any], agent: str, call: ToolCall
    ) -> types.CallToolResult:
        context = self.context
        conversation = call.conversation
        started_one = conversation is None
        if conversation is None:
            conversation = context.new_id("conversation")
            await context.store.create_conversation(conversation)
        request = ChannelRequest(
            channel=context.channel_name,
            input=(user_message(call.input),),
            agent=agent,
            conversation_id=conversation,
        )
        try:
            with anyio.CancelScope(shield=True):
                run = await context.run_stream(request)
        except RequestError:
            if started_one:  # refused (a limit, say): leave nothing behind
                await context.store.delete_conversation(conversation)
            raise
        try:
            deltas = 0
            async for event in run.follow():
                if isinstance(event, OutputTextDelta):
                    deltas += 1
                    # A no-op when the client gave no progress token.
                    await ctx.session.report_progress(deltas, None, event.delta)
            result = await run.wait()
        except BaseException:  # the client cancelled the call, or its session ended
            with anyio.CancelScope(shield=True):
                await context.cancel(run.id)
            raise
        return _tool_result(result, conversation)


def _tool_result(result: HostedRunResult, conversation: str) -> types.CallToolResult:
    structured = {"response_id": result.response_id, "conversation": conversation}
    if result.status == "completed":
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=result.text)], structured_content=structured
        )
    reason = result.error.message if result.error is not None else f"The run ended {result.status}."
    return error_result(reason, structured)
