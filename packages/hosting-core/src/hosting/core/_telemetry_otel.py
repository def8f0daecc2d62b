"""OpenTelemetry instruments: spans and metrics of requests, runs, tool steps, the store, pushes.

Imported only when telemetry is on (see `_telemetry`). Choices:

1. Each request's server span comes from OpenTelemetry's own ASGI instrumentation
   (``OpenTelemetryMiddleware``), which also honours a W3C ``traceparent``. Its
   per-message ``send``/``receive`` spans are left out: a stream would make one per event.
2. Each run gets an ``invoke_agent {agent}`` span with the GenAI semantic conventions.
   The agent wrapped here runs inside one context made for the run with that span
   current (`InContext`), so spans the agent makes itself nest under it.
3. A run started by a request is that request's child. A background run outlives its
   request: it starts a trace of its own that links to the span that started it. A
   request that follows a run that is still going (a resumed stream) links to the run.
4. A tool step the agent ran itself (a `FunctionCall` it answered with its own
   `FunctionResult`) becomes an ``execute_tool {name}`` span from the call to the result.
   A call left for the client to answer is not a step of this run.
5. Message contents stay off spans unless the operator opts in (`Telemetry.record_content`).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TypeVar, cast

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from opentelemetry.util.http import get_excluded_urls
from starlette.types import ASGIApp

from ._agent import Agent, AgentOutput, RunContext
from ._in_context import InContext
from ._run_log import note_run_trace
from ._telemetry_wrappers import StreamCounter, TimedStore
from ._types import ErrorUpdate, FunctionCall, FunctionResult, ToolStep, Usage
from ._types import Message as ChatMessage

try:
    _VERSION = version("hosting-core")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    _VERSION = "0.0.0"

A = TypeVar("A")
R = TypeVar("R")

_starting_background: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "hosting.core.telemetry.starting_background", default=False
)

_DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)


class Instruments:
    """The tracer, meter and instruments of one host.

    Args:
        tracer_provider: where spans go (None: the global provider).
        meter_provider: where metrics go (None: the global provider).
        record_content: put message contents on spans.
    """

    def __init__(self, tracer_provider: Any, meter_provider: Any, *, record_content: bool = False) -> None:
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.record_content = record_content
        self.tracer = trace.get_tracer("hosting.core", _VERSION, tracer_provider=tracer_provider)
        meter = metrics.get_meter("hosting.core", _VERSION, meter_provider=meter_provider)
        self.run_duration = meter.create_histogram(
            "gen_ai.server.request.duration",
            unit="s",
            description="Time a run took, from its start to its end.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.first_token = meter.create_histogram(
            "gen_ai.server.time_to_first_token",
            unit="s",
            description="Time from a run's start to the agent's first update.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.token_usage = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Tokens a run's agent reported, by type (input, output).",
        )
        # Counted here in plain ints and observed when a reader collects: an update of an SDK
        # instrument costs far more than an addition, and these two change twice per run or stream.
        self.active_runs: dict[str, int] = {}
        self.open_streams = 0
        meter.create_observable_up_down_counter(
            "hosting.runs.active",
            callbacks=[self._observe_runs],
            unit="{run}",
            description="Runs in progress.",
        )
        meter.create_observable_up_down_counter(
            "hosting.streams.open",
            callbacks=[self._observe_streams],
            unit="{stream}",
            description="Event streams open to clients.",
        )
        self.store_duration = meter.create_histogram(
            "hosting.store.operation.duration",
            unit="s",
            description="Time a store operation took.",
        )
        self.pushes = meter.create_counter(
            "hosting.deliveries", unit="{push}", description="Pushes to channels, by outcome."
        )
        self._live: dict[str, trace.SpanContext] = {}
        # Followers of a run whose agent has not started yet, by response id, with the run.
        self._waiting: dict[str, tuple[Any, list[trace.Span]]] = {}

    def _observe_runs(self, options: CallbackOptions) -> list[Observation]:
        counts = dict(self.active_runs)  # one C-level copy: the event loop's thread may be adding
        return [
            Observation(count, {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": name})
            for name, count in counts.items()
        ]

    def _observe_streams(self, options: CallbackOptions) -> list[Observation]:
        return [Observation(self.open_streams)]

    # -- requests ----------------------------------------------------------------------------------

    def asgi(self, app: ASGIApp) -> ASGIApp:
        """`app` under OpenTelemetry's ASGI middleware, open event streams counted."""
        counted = StreamCounter(app, self)
        return cast(
            ASGIApp,
            OpenTelemetryMiddleware(
                counted,
                tracer_provider=self.tracer_provider,
                meter_provider=self.meter_provider,
                excluded_urls=get_excluded_urls("ASGI"),  # OTEL_PYTHON_ASGI_EXCLUDED_URLS
                exclude_spans=["receive", "send"],
            ),
        )

    def starting(self, start: Callable[[A], Coroutine[Any, Any, R]]) -> Callable[[A], Coroutine[Any, Any, R]]:
        """Wrap the engine's ``start``/``run``: the run's task learns whether it runs in the background."""

        async def start_noting_background(request: A) -> R:
            token = _starting_background.set(bool(getattr(request, "background", False)))
            try:
                return await start(request)
            finally:
                _starting_background.reset(token)

        return start_noting_background

    def attaching(
        self, attach: Callable[[str, str], Coroutine[Any, Any, R]]
    ) -> Callable[[str, str], Coroutine[Any, Any, R]]:
        """Wrap the engine's ``attach``: a request following a live run links to the run's span."""

        async def attach_linking(owner: str, response_id: str) -> R:
            run = await attach(owner, response_id)
            span_context = self._live.get(response_id)
            if span_context is not None:
                trace.get_current_span().add_link(span_context, {"hosting.link": "follows"})
            elif getattr(run, "task", None) is not None and not getattr(run, "done", True):
                # Running here but its agent has not started yet: linked when it starts.
                for ended in [key for key, (other, _) in self._waiting.items() if other.done]:
                    del self._waiting[ended]  # ended before its agent started: nothing to link
                self._waiting.setdefault(response_id, (run, []))[1].append(trace.get_current_span())
            return run

        return attach_linking

    # -- runs --------------------------------------------------------------------------------------

    def agent(self, name: str, agent: Agent) -> Agent:
        """`agent`, each of its runs traced and measured."""
        return _TracedAgent(name, agent, self)

    async def traced_run(self, agent: Agent, context: RunContext) -> AsyncIterator[Any]:
        """The agent's stream, inside an ``invoke_agent`` span made current for the run."""
        name = context.agent_name or getattr(agent, "name", "") or "agent"
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": name,
            "gen_ai.request.model": name,
            "gen_ai.response.id": context.response_id,
            "hosting.channel": context.channel,
        }
        if context.conversation_id:
            attributes["gen_ai.conversation.id"] = context.conversation_id
        if self.record_content:
            attributes["gen_ai.input.messages"] = _messages_json(context.input)
        parent = otel_context.get_current()
        links: list[Link] = []
        if _starting_background.get():
            starter = trace.get_current_span().get_span_context()
            if starter.is_valid:
                links.append(Link(starter, {"hosting.link": "started_by"}))
            parent = otel_context.Context()
        span = self.tracer.start_span(
            f"invoke_agent {name}", context=parent, kind=SpanKind.INTERNAL, attributes=attributes, links=links
        )
        self._live[context.response_id] = span.get_span_context()
        if span.get_span_context().is_valid:  # not with a no-op provider
            note_run_trace(context.response_id, format(span.get_span_context().trace_id, "032x"))
        for follower in self._waiting.pop(context.response_id, (None, []))[1]:
            follower.add_link(span.get_span_context(), {"hosting.link": "follows"})
        run_context = contextvars.copy_context()
        run_context.run(otel_context.attach, trace.set_span_in_context(span, parent))
        metric_attributes = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": name}
        started = time.perf_counter()
        first: float | None = None
        usage = Usage()
        calls: dict[str, tuple[FunctionCall, int]] = {}
        last_ns = time.time_ns()  # when the update before this one came: a tool step ran since
        output: list[str] = []
        error_type: str | None = None
        self.active_runs[name] = self.active_runs.get(name, 0) + 1
        stream = run_context.run(agent.run, context)
        try:
            while True:
                try:
                    update = await InContext(stream.__anext__(), run_context)
                except StopAsyncIteration:
                    break
                if first is None:
                    first = time.perf_counter() - started
                if isinstance(update, Usage):
                    usage = usage + update
                elif isinstance(update, FunctionCall):
                    calls[update.call_id] = (update, time.time_ns())
                elif isinstance(update, FunctionResult):
                    call = calls.pop(update.call_id, None)
                    if call is not None:
                        self._tool_span(span, call[0], call[1], update)
                elif isinstance(update, ToolStep):
                    self._step_span(span, update, last_ns)
                elif isinstance(update, ErrorUpdate):
                    error_type = update.code
                elif self.record_content and isinstance(update, str):
                    output.append(update)
                elif self.record_content and hasattr(update, "text") and isinstance(update.text, str):
                    output.append(update.text)
                yield update
                last_ns = time.time_ns()
        except BaseException as raised:
            if isinstance(raised, GeneratorExit):
                # The host stopped reading: after an `ErrorUpdate` (whose code stays), or a cancel.
                error_type = error_type or "cancelled"
            elif isinstance(raised, asyncio.CancelledError):
                error_type = "cancelled"
            else:
                error_type = type(raised).__qualname__
                span.record_exception(raised)
            raise
        finally:
            aclose = getattr(stream, "aclose", None)
            try:
                if aclose is not None:
                    await InContext(aclose(), run_context)
            finally:
                self._end_run(span, context, started, first, usage, error_type, output, metric_attributes)

    def _end_run(
        self,
        span: trace.Span,
        context: RunContext,
        started: float,
        first: float | None,
        usage: Usage,
        error_type: str | None,
        output: list[str],
        metric_attributes: dict[str, Any],
    ) -> None:
        self._live.pop(context.response_id, None)
        self._waiting.pop(context.response_id, None)
        name = str(metric_attributes["gen_ai.agent.name"])
        self.active_runs[name] -= 1
        if usage.input_tokens or usage.output_tokens:
            span.set_attribute("gen_ai.usage.input_tokens", usage.input_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", usage.output_tokens)
            self.token_usage.record(usage.input_tokens, {**metric_attributes, "gen_ai.token.type": "input"})
            self.token_usage.record(usage.output_tokens, {**metric_attributes, "gen_ai.token.type": "output"})
        if self.record_content and output:
            span.set_attribute(
                "gen_ai.output.messages", json.dumps([{"role": "assistant", "content": "".join(output)}])
            )
        ended = {**metric_attributes}
        if error_type is not None:
            span.set_attribute("error.type", error_type)
            span.set_status(Status(StatusCode.ERROR, error_type))
            ended["error.type"] = error_type
        self.run_duration.record(time.perf_counter() - started, ended)
        if first is not None:
            self.first_token.record(first, metric_attributes)
        span.end()

    def _tool_span(
        self, run_span: trace.Span, call: FunctionCall, started_ns: int, result: FunctionResult
    ) -> None:
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": call.name,
            "gen_ai.tool.call.id": call.call_id,
            "gen_ai.tool.type": "function",
        }
        if self.record_content:
            attributes["gen_ai.tool.call.arguments"] = call.arguments
            attributes["gen_ai.tool.call.result"] = result.output
        tool = self.tracer.start_span(
            f"execute_tool {call.name}",
            context=trace.set_span_in_context(run_span),
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            start_time=started_ns,
        )
        tool.end()

    def _step_span(self, run_span: trace.Span, step: ToolStep, started_ns: int) -> None:
        """A tool the agent ran itself, yielded once it ran: from the update before it to now."""
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": step.name,
            "gen_ai.tool.type": "function",
        }
        if self.record_content:
            attributes["gen_ai.tool.call.arguments"] = step.arguments
            if step.output is not None:
                attributes["gen_ai.tool.call.result"] = step.output
        tool = self.tracer.start_span(
            f"execute_tool {step.name}",
            context=trace.set_span_in_context(run_span),
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            start_time=started_ns,
        )
        if step.error is not None:
            tool.set_attribute("error.type", "tool_error")
            tool.set_status(Status(StatusCode.ERROR, "tool_error"))
        tool.end()

    # -- the store and pushes ----------------------------------------------------------------------

    def store(self, store: Any) -> Any:
        """`store`, each of its coroutine methods timed."""
        return TimedStore(store, self.store_duration)

    def push(self, channel: str, push: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        """`push`, each attempt counted by outcome."""
        counter = self.pushes

        async def counted_push(*args: Any, **kwargs: Any) -> Any:
            try:
                result = await push(*args, **kwargs)
            except BaseException as error:
                counter.add(
                    1,
                    {"hosting.channel": channel, "outcome": "failed", "error.type": type(error).__qualname__},
                )
                raise
            counter.add(1, {"hosting.channel": channel, "outcome": "delivered"})
            return result

        return counted_push


def _messages_json(items: tuple[Any, ...]) -> str:
    messages = [{"role": item.role, "content": item.text} for item in items if isinstance(item, ChatMessage)]
    return json.dumps(messages)


class _TracedAgent:
    """An agent whose runs go through `Instruments.traced_run`; other attributes are the agent's."""

    def __init__(self, name: str, agent: Agent, instruments: Instruments) -> None:
        self.name = name
        self.wrapped = agent
        self._instruments = instruments

    def run(self, context: RunContext) -> AgentOutput:
        return self._instruments.traced_run(self.wrapped, context)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)
