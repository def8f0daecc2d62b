"""`AgentFrameworkAgent`: a Microsoft Agent Framework agent or workflow as a hosting `Agent`.

    host = Host(AgentFrameworkAgent(my_agent), channels=[ResponsesChannel()])

Each run: the instance for the run is picked (shared, or built by a factory),
the request context is bound, the conversation's `AgentSession` (or a
workflow's checkpoint) is restored from session state, the new input (plus any
history the session has not seen) goes in as Agent Framework messages, and what
comes out goes back as neutral updates. The session (or checkpoint) goes back
into session state, which the host stores when the run completes. A tool the
agent may run only with the caller's approval ends the turn with an
``approve_tool_call`` client call; the caller's answer resumes it (`_approvals`).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from typing import Any

from agent_framework import Message as AFMessage
from hosting.core import AgentOutput, ErrorUpdate, RunContext, Update
from hosting.core.channels import OutputFormat

from ._approvals import TOOL_APPROVAL_FUNCTION, answer_approvals, keep_approvals, pending_approvals
from ._messages import declaration_tools, to_agent_framework_messages, tool_names
from ._request_context import RequestContext, bound_request_context
from ._state import restore_session, save_session, unseen_history
from ._targets import Factory, Per, Targets, is_workflow
from ._updates import UpdateMapper
from ._workflow import WorkflowInput, run_workflow_turn

# Responses request options (by their wire names) and the Agent Framework chat options they become.
_OPTION_NAMES: Mapping[str, str] = {
    "temperature": "temperature",
    "top_p": "top_p",
    "max_output_tokens": "max_tokens",
    "parallel_tool_calls": "allow_multiple_tool_calls",
    "user": "user",
}


def response_format(wanted: OutputFormat | None) -> dict[str, Any] | None:
    """The Agent Framework ``response_format`` (the Chat Completions shape, which its OpenAI
    clients both read) for the format the caller asked for."""
    if wanted is None:
        return None
    if wanted.type == "json_object":
        return {"type": "json_object"}
    schema: dict[str, Any] = {"name": wanted.name or "response", "schema": dict(wanted.schema or {})}
    if wanted.strict is not None:
        schema["strict"] = wanted.strict
    if wanted.description:
        schema["description"] = wanted.description
    return {"type": "json_schema", "json_schema": schema}


def chat_options(context: RunContext) -> dict[str, Any]:
    """The Agent Framework chat options a request asks for (instructions, sampling, tool choice,
    the answer's format). docs/agent-framework.md lists the options no chat client has a place for."""
    options: dict[str, Any] = {}
    if context.instructions:
        options["instructions"] = context.instructions
    wanted = response_format(context.output_format)
    if wanted is not None:
        options["response_format"] = wanted
    for wire_name, name in _OPTION_NAMES.items():
        value = context.options.get(wire_name)
        if value is not None:
            options[name] = value
    choice = context.options.get("tool_choice")
    if choice in ("auto", "none", "required"):
        options["tool_choice"] = choice
    elif (
        isinstance(choice, Mapping)
        and choice.get("type") == "function"
        and isinstance(choice.get("name"), str)
    ):
        options["tool_choice"] = {"mode": "required", "required_function_name": choice["name"]}
    return options


def _accepts(function: Any, name: str) -> bool:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def _own_tool_names(agent: Any) -> set[str]:
    defaults = getattr(agent, "default_options", None)
    return tool_names(defaults.get("tools")) if isinstance(defaults, Mapping) else set()


class AgentFrameworkAgent:
    """Hosts a Microsoft Agent Framework agent or workflow.

    Args:
        target: an Agent Framework agent (anything with ``run(messages, *, stream, session)``,
            ``create_session()`` optional) or a `Workflow`; shared by every run.
        factory: instead of `target`, builds one per run or per conversation (see `per`); it may
            take the run's `RunContext`, and may be async. Use it for targets that cannot be
            shared between concurrent runs, above all workflows.
        per: ``"run"`` (a fresh instance for every run) or ``"conversation"``.
        name: the name clients select the agent by (the Responses ``model``); by default the
            target's name.
        stream: run the target streaming (updates pass through as they come) or not (its whole
            answer at once, for targets that cannot stream). Either way the answer reaches a
            streaming client as events.
        max_conversations: how many per-conversation instances are kept.
        allowed_checkpoint_types: ``"module:qualname"`` types a workflow checkpoint may hold
            beyond Agent Framework's own and those registered with
            ``agent_framework.register_checkpoint_type``.
        workflow_input: builds a workflow's start message from the run and the items to send;
            by default chosen from the types the start executor accepts.
    """

    def __init__(
        self,
        target: Any = None,
        /,
        *,
        factory: Factory | None = None,
        per: Per = "run",
        name: str | None = None,
        stream: bool = True,
        max_conversations: int = 256,
        allowed_checkpoint_types: Sequence[str] = (),
        workflow_input: WorkflowInput | None = None,
    ) -> None:
        self._targets = Targets(target, factory=factory, per=per, max_conversations=max_conversations)
        target_name = getattr(target, "name", None)
        self.name = name or (target_name if isinstance(target_name, str) and target_name else "agent")
        self.stream = stream
        self.allowed_checkpoint_types = tuple(allowed_checkpoint_types)
        self.workflow_input = workflow_input

    @property
    def target(self) -> Any:
        """The shared agent or workflow (None when a factory builds them)."""
        return self._targets.shared

    def __repr__(self) -> str:
        return f"AgentFrameworkAgent({self.name!r})"

    async def run(self, context: RunContext) -> AgentOutput:
        """Run the agent (or workflow) for one turn; see the module docstring."""
        async with (
            self._targets.acquire(context) as target,
            bound_request_context(target, RequestContext.of(context)),
        ):
            if is_workflow(target):
                updates = run_workflow_turn(
                    target,
                    context,
                    stream=self.stream,
                    workflow_input=self.workflow_input,
                    allowed_types=self.allowed_checkpoint_types,
                )
            else:
                updates = self._run_agent(target, context)
            try:
                async for update in updates:
                    yield update
            finally:
                await updates.aclose()

    async def _run_agent(self, agent: Any, context: RunContext) -> AsyncGenerator[Update, None]:
        session, restored = restore_session(context, agent)
        answers = answer_approvals(context, pending_approvals(context))
        if answers.error is not None:
            yield answers.error
            return
        items = (*(unseen_history(context) if restored else context.history), *answers.input)
        messages = [*to_agent_framework_messages(items), *answers.messages]
        arguments: dict[str, Any] = {"session": session}
        options = chat_options(context)
        if _accepts(agent.run, "options"):
            if options:
                arguments["options"] = options
        elif context.instructions:
            messages.insert(0, AFMessage("system", [context.instructions]))
        if context.tools:
            if not _accepts(agent.run, "tools"):
                yield ErrorUpdate("This agent does not take client-declared tools.", code="invalid_request")
                return
            names = {spec.name for spec in context.tools}
            if TOOL_APPROVAL_FUNCTION in names:
                yield ErrorUpdate(
                    f"The tool name '{TOOL_APPROVAL_FUNCTION}' is reserved for tool approval requests.",
                    code="invalid_request",
                )
                return
            clash = sorted(names & _own_tool_names(agent))
            if clash:
                yield ErrorUpdate(
                    f"The tool name '{clash[0][:64]}' is taken by one of the agent's own tools.",
                    code="invalid_request",
                )
                return
            arguments["tools"] = declaration_tools(context.tools)

        mapper = UpdateMapper(
            approvals=True,
            announce=answers.tool_calls,
            client_tools={spec.name for spec in context.tools},
        )
        if self.stream:
            async for update in _streamed(agent, messages, arguments, mapper):
                yield update
        else:
            response = await agent.run(messages, stream=False, **arguments)
            for update in mapper.feed_response(response):
                yield update
        if mapper.failed:
            return
        for update in mapper.finish():
            yield update
        keep_approvals(context, mapper.approval_requests)
        save_session(context, session)


async def _streamed(
    agent: Any, messages: list[AFMessage], arguments: dict[str, Any], mapper: UpdateMapper
) -> AsyncIterator[Update]:
    response = agent.run(messages, stream=True, **arguments)
    if inspect.isawaitable(response) and not hasattr(response, "__aiter__"):
        # Agents written as `async def run(...)` hand back their stream when awaited.
        response = await response
    finished = False
    try:
        async for chunk in response:
            for update in mapper.feed(chunk.contents, author=chunk.author_name, message_id=chunk.message_id):
                yield update
            if mapper.failed:
                return
        final = getattr(response, "get_final_response", None)
        if callable(final):
            # Finalizing runs the agent's after-run hooks: its history providers record the turn.
            await final()
        finished = True
    finally:
        if not finished:
            close = getattr(response, "close", None) or getattr(response, "aclose", None)
            if callable(close):
                await close()
