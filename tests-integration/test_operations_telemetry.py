"""OpenTelemetry: the span tree and attributes of runs, and the metrics, read with the SDK's in-memory tools."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import OpenAI
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hosting.core import FunctionCall, FunctionResult, Host, RunContext, Telemetry, ToolStep, Usage, agent
from hosting.testing import Delay, Fail, ScriptedAgent

MakeHost = Callable[..., Host]
Sdk = Callable[..., OpenAI]
REPO = Path(__file__).resolve().parents[1]


class Otel:
    """An SDK tracer and meter provider that keep everything in memory."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def telemetry(self, **options: Any) -> Telemetry:
        return Telemetry(tracer_provider=self.tracer_provider, meter_provider=self.meter_provider, **options)

    def wait_for(
        self, predicate: Callable[[list[ReadableSpan]], bool], within: float = 5.0
    ) -> list[ReadableSpan]:
        """The finished spans, once `predicate` holds of them (spans end on the server's thread)."""
        deadline = time.monotonic() + within
        while True:
            spans = list(self.spans.get_finished_spans())
            if predicate(spans):
                return spans
            if time.monotonic() > deadline:
                raise AssertionError(f"spans never matched: {[span.name for span in spans]}")
            time.sleep(0.01)

    def settled_sum(self, name: str, expected: float, within: float = 5.0) -> float:
        """The sum of `name`'s points, once it is `expected` or `within` seconds have passed (an open
        stream is counted down on the server's thread, after the client has read its last byte)."""
        deadline = time.monotonic() + within
        while True:
            total = sum(point.value for point in self.points(name))
            if total == expected or time.monotonic() > deadline:
                return total
            time.sleep(0.01)

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        found: list[Any] = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)
        return found


@pytest.fixture
def otel() -> Iterator[Otel]:
    kept = Otel()
    yield kept
    kept.tracer_provider.shutdown()
    kept.meter_provider.shutdown()


def _named(spans: list[ReadableSpan], prefix: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name.startswith(prefix)]


def _server_spans(spans: list[ReadableSpan], method: str) -> list[ReadableSpan]:
    return [span for span in spans if span.kind == trace.SpanKind.SERVER and span.name.startswith(method)]


def _has(prefix: str, count: int = 1) -> Callable[[list[ReadableSpan]], bool]:
    return lambda spans: len(_named(spans, prefix)) >= count


def test_a_streamed_run_is_an_invoke_agent_span_under_the_request(
    sdk: Sdk, make_host: MakeHost, otel: Otel
) -> None:
    scripted = ScriptedAgent(["Hel", Delay(0.3), "lo", Usage(input_tokens=7, output_tokens=2)], name="helper")
    client = sdk(make_host(scripted, telemetry=otel.telemetry()))
    seen_open: list[tuple[int, int]] = []
    stream = client.responses.create(model="helper", input="secret words", stream=True)
    events = []
    for event in stream:
        events.append(event)
        if event.type == "response.output_text.delta" and not seen_open:
            streams = sum(point.value for point in otel.points("hosting.streams.open"))
            runs = sum(point.value for point in otel.points("hosting.runs.active"))
            seen_open.append((streams, runs))
    response_id = events[-1].response.id  # type: ignore[union-attr]
    spans = otel.wait_for(lambda spans: _has("invoke_agent")(spans) and bool(_server_spans(spans, "POST")))
    (run,) = _named(spans, "invoke_agent")
    (server,) = _server_spans(spans, "POST")
    assert run.name == "invoke_agent helper"
    assert run.parent is not None
    assert run.parent.span_id == server.context.span_id
    assert run.context.trace_id == server.context.trace_id
    attributes = dict(run.attributes or {})
    assert attributes["gen_ai.operation.name"] == "invoke_agent"
    assert attributes["gen_ai.agent.name"] == "helper"
    assert attributes["gen_ai.request.model"] == "helper"
    assert attributes["gen_ai.response.id"] == response_id
    assert attributes["gen_ai.usage.input_tokens"] == 7
    assert attributes["gen_ai.usage.output_tokens"] == 2
    assert "error.type" not in attributes
    # Contents are not recorded unless asked for.
    assert not any("secret" in str(value) for span in spans for value in (span.attributes or {}).values())
    # While the stream was open it was counted, and so was the run; both are back to zero.
    assert seen_open == [(1, 1)]
    assert otel.settled_sum("hosting.streams.open", 0) == 0
    assert otel.settled_sum("hosting.runs.active", 0) == 0
    (duration,) = otel.points("gen_ai.server.request.duration")
    assert duration.count == 1
    assert duration.attributes["gen_ai.agent.name"] == "helper"
    (first_token,) = otel.points("gen_ai.server.time_to_first_token")
    assert first_token.count == 1
    assert 0 <= first_token.sum <= duration.sum
    tokens = {
        point.attributes["gen_ai.token.type"]: point.sum for point in otel.points("gen_ai.client.token.usage")
    }
    assert tokens == {"input": 7, "output": 2}
    operations = {
        point.attributes["hosting.store.operation"]
        for point in otel.points("hosting.store.operation.duration")
    }
    assert "update_response" in operations


def test_content_is_recorded_when_the_operator_opts_in(sdk: Sdk, make_host: MakeHost, otel: Otel) -> None:
    scripted = ScriptedAgent(
        [FunctionCall("call_1", "clock", '{"tz": "UTC"}'), FunctionResult("call_1", "12:00"), "noon"]
    )
    client = sdk(make_host(scripted, telemetry=otel.telemetry(record_content=True)))
    client.responses.create(model="scripted", input="what time is it")
    spans = otel.wait_for(_has("execute_tool"))
    (run,) = _named(spans, "invoke_agent")
    assert "what time is it" in str((run.attributes or {})["gen_ai.input.messages"])
    assert "noon" in str((run.attributes or {})["gen_ai.output.messages"])
    (tool,) = _named(spans, "execute_tool")
    assert (tool.attributes or {})["gen_ai.tool.call.arguments"] == '{"tz": "UTC"}'
    assert (tool.attributes or {})["gen_ai.tool.call.result"] == "12:00"


def test_a_tool_step_is_an_execute_tool_span_under_the_run(sdk: Sdk, make_host: MakeHost, otel: Otel) -> None:
    scripted = ScriptedAgent(
        [FunctionCall("call_1", "clock", "{}"), Delay(0.05), FunctionResult("call_1", "12:00"), "It is noon."]
    )
    client = sdk(make_host(scripted, telemetry=otel.telemetry()))
    assert client.responses.create(model="scripted", input="time?").output_text == "It is noon."
    spans = otel.wait_for(_has("execute_tool"))
    (run,) = _named(spans, "invoke_agent")
    (tool,) = _named(spans, "execute_tool")
    assert tool.name == "execute_tool clock"
    assert tool.parent is not None
    assert tool.parent.span_id == run.context.span_id
    attributes = dict(tool.attributes or {})
    assert attributes["gen_ai.operation.name"] == "execute_tool"
    assert attributes["gen_ai.tool.name"] == "clock"
    assert attributes["gen_ai.tool.call.id"] == "call_1"
    assert "gen_ai.tool.call.arguments" not in attributes
    assert tool.start_time is not None
    assert tool.end_time is not None
    assert tool.end_time - tool.start_time >= 40_000_000  # from the call to the result
    # A call left for the client to answer is not a step of the run.
    otel.spans.clear()
    client_tool = ScriptedAgent([FunctionCall("call_2", "lookup", "{}")])
    sdk(make_host(client_tool, telemetry=otel.telemetry())).responses.create(
        model="scripted", input="look up"
    )
    spans = otel.wait_for(_has("invoke_agent"))
    assert _named(spans, "execute_tool") == []


def test_a_tool_step_the_agent_ran_itself_is_an_execute_tool_span(
    sdk: Sdk, make_host: MakeHost, otel: Otel
) -> None:
    scripted = ScriptedAgent(
        [
            "checking ",
            Delay(0.05),
            ToolStep("clock", "{}", output="12:00"),
            ToolStep("calendar", "{}", error="calendar is down"),
            "It is noon.",
        ]
    )
    client = sdk(make_host(scripted, telemetry=otel.telemetry()))
    assert client.responses.create(model="scripted", input="time?").output_text == "checking It is noon."
    spans = otel.wait_for(_has("execute_tool calendar"))
    (run,) = _named(spans, "invoke_agent")
    (clock,) = [span for span in spans if span.name == "execute_tool clock"]
    (calendar,) = [span for span in spans if span.name == "execute_tool calendar"]
    for tool in (clock, calendar):
        assert tool.parent is not None and tool.parent.span_id == run.context.span_id
        assert dict(tool.attributes or {})["gen_ai.operation.name"] == "execute_tool"
        assert "gen_ai.tool.call.arguments" not in dict(tool.attributes or {})
    assert clock.start_time is not None and clock.end_time is not None
    assert clock.end_time - clock.start_time >= 40_000_000  # it ran after the update before it
    assert clock.status.status_code != trace.StatusCode.ERROR
    assert calendar.status.status_code == trace.StatusCode.ERROR


def test_a_failed_run_records_its_error_type(sdk: Sdk, make_host: MakeHost, otel: Otel) -> None:
    scripted = ScriptedAgent(["partial", Fail(RuntimeError("boom"))])
    client = sdk(make_host(scripted, telemetry=otel.telemetry()))
    events = list(client.responses.create(model="scripted", input="go", stream=True))
    assert events[-1].type == "response.failed"
    spans = otel.wait_for(_has("invoke_agent"))
    (run,) = _named(spans, "invoke_agent")
    assert run.status.status_code == trace.StatusCode.ERROR
    assert (run.attributes or {})["error.type"] == "RuntimeError"
    assert [event.name for event in run.events] == ["exception"]
    (duration,) = otel.points("gen_ai.server.request.duration")
    assert duration.attributes["error.type"] == "RuntimeError"


def test_a_traceparent_becomes_the_parent(sdk: Sdk, make_host: MakeHost, otel: Otel) -> None:
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    client = sdk(make_host(ScriptedAgent(["hi"]), telemetry=otel.telemetry()))
    client.responses.create(
        model="scripted", input="hi", extra_headers={"traceparent": f"00-{trace_id}-{parent_id}-01"}
    )
    spans = otel.wait_for(lambda spans: _has("invoke_agent")(spans) and bool(_server_spans(spans, "POST")))
    (server,) = _server_spans(spans, "POST")
    (run,) = _named(spans, "invoke_agent")
    assert server.parent is not None
    assert format(server.parent.span_id, "016x") == parent_id
    assert format(server.context.trace_id, "032x") == trace_id
    assert format(run.context.trace_id, "032x") == trace_id


def test_a_background_run_links_to_its_start_and_its_follower_links_to_it(
    sdk: Sdk, make_host: MakeHost, otel: Otel
) -> None:
    scripted = ScriptedAgent(["one ", Delay(0.3), "two"])
    client = sdk(make_host(scripted, telemetry=otel.telemetry()))
    created = client.responses.create(model="scripted", input="go", background=True)
    assert created.status == "queued"
    followed = list(client.responses.retrieve(created.id, stream=True))
    assert followed[-1].type == "response.completed"
    spans = otel.wait_for(lambda spans: _has("invoke_agent")(spans) and bool(_server_spans(spans, "GET")))
    (run,) = _named(spans, "invoke_agent")
    (starter,) = _server_spans(spans, "POST")
    (follower,) = _server_spans(spans, "GET")
    # The run outlives the request that started it: a trace of its own, linked to its start.
    assert run.parent is None
    assert run.context.trace_id != starter.context.trace_id
    assert [(link.context.span_id, dict(link.attributes or {})) for link in run.links] == [
        (starter.context.span_id, {"hosting.link": "started_by"})
    ]
    assert [(link.context.span_id, dict(link.attributes or {})) for link in follower.links] == [
        (run.context.span_id, {"hosting.link": "follows"})
    ]


def test_the_agent_runs_inside_the_run_span_context(
    sdk: Sdk, make_host: MakeHost, otel: Otel, caplog: pytest.LogCaptureFixture
) -> None:
    tracer = otel.tracer_provider.get_tracer("an.agent.framework")

    @agent
    async def framework_agent(context: RunContext) -> AsyncIterator[str]:
        # As instrumented frameworks do: a span made current across the generator's yields.
        with tracer.start_as_current_span("chat model"):
            yield "a"
            yield "b"
        with tracer.start_as_current_span("after"):
            yield "c"

    client = sdk(make_host(framework_agent, telemetry=otel.telemetry()))
    with caplog.at_level(logging.ERROR):
        assert (
            "".join(
                event.delta
                for event in client.responses.create(model="x", input="go", stream=True)
                if event.type == "response.output_text.delta"
            )
            == "abc"
        )  # type: ignore[union-attr]
        spans = otel.wait_for(lambda spans: _has("invoke_agent")(spans) and _has("after")(spans))
    (run,) = _named(spans, "invoke_agent")
    for name in ("chat model", "after"):
        (inner,) = _named(spans, name)
        assert inner.parent is not None
        assert inner.parent.span_id == run.context.span_id, name
    assert not [record for record in caplog.records if "detach" in record.getMessage().lower()]


def _child(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


_HOST_AND_ONE_RUN = """
import sys
from starlette.testclient import TestClient
from hosting.core import Host, MemoryStore
from hosting.responses import ResponsesChannel
from hosting.testing import EchoAgent
host = Host(EchoAgent(), channels=[ResponsesChannel()], store=MemoryStore())
with TestClient(host) as client:
    assert client.post("/v1/responses", json={"model": "echo", "input": "hi"}).status_code == 200
print("TELEMETRY", host.telemetry is not None, any(name.startswith("opentelemetry") for name in sys.modules))
"""


def test_off_by_default_nothing_is_imported_or_wrapped() -> None:
    result = _child(_HOST_AND_ONE_RUN, {})
    assert result.returncode == 0, result.stderr
    assert "TELEMETRY False False" in result.stdout


def test_the_environment_turns_it_on_with_a_console_exporter() -> None:
    result = _child(_HOST_AND_ONE_RUN, {"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "my-agents"})
    assert result.returncode == 0, result.stderr
    assert "TELEMETRY True True" in result.stdout
    assert '"name": "invoke_agent echo"' in result.stdout
    assert '"service.name": "my-agents"' in result.stdout
    disabled = _child(_HOST_AND_ONE_RUN, {"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"})
    assert "TELEMETRY False False" in disabled.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_a_prometheus_scrape_endpoint_by_configuration() -> None:
    port = _free_port()
    code = (
        _HOST_AND_ONE_RUN
        + f"""
import httpx
body = httpx.get("http://127.0.0.1:{port}/metrics").text
print("\\n".join(line for line in body.splitlines() if line.startswith(("gen_ai", "hosting"))))
"""
    )
    env = {
        "OTEL_METRICS_EXPORTER": "prometheus",
        "OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1",
        "OTEL_EXPORTER_PROMETHEUS_PORT": str(port),
    }
    result = _child(code, env)
    assert result.returncode == 0, result.stderr
    assert "gen_ai_server_request_duration_seconds_count" in result.stdout
    assert "hosting_runs_active" in result.stdout
    assert (
        "hosting_store_operation" not in result.stdout or "hosting_store_operation_duration" in result.stdout
    )
    assert httpx is not None


def test_excluded_paths_get_no_server_span(
    sdk: Sdk, make_host: MakeHost, otel: Otel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_PYTHON_ASGI_EXCLUDED_URLS", "healthz,readyz")
    host = make_host(ScriptedAgent(["hi"]), telemetry=otel.telemetry())
    client = sdk(host)
    root = str(client.base_url).removesuffix("/v1/")
    assert httpx.get(f"{root}/healthz", timeout=10).status_code == 200
    client.responses.create(model="scripted", input="hi")
    spans = otel.wait_for(lambda spans: bool(_server_spans(spans, "POST")))
    assert [span.name for span in spans if span.kind == trace.SpanKind.SERVER] == ["POST /v1/responses"]


_AGENT_FRAMEWORK_RUN = """
import sys
sys.path.insert(0, "samples")
from starlette.testclient import TestClient
from opentelemetry import trace
from hosting.core import MemoryStore
import agent_framework_agent as sample

host, mode = sample.build_host({}, store=MemoryStore())
with TestClient(host) as client:
    answer = client.post("/v1/responses", json={"model": "weather", "input": "Weather in Paris?", "stream": True})
    assert answer.status_code == 200
trace.get_tracer_provider().force_flush()
"""


def _console_spans(output: str) -> list[dict[str, Any]]:
    decoder, spans, index = json.JSONDecoder(), [], 0
    while (start := output.find("{", index)) >= 0:
        try:
            found, index = decoder.raw_decode(output, start)
        except json.JSONDecodeError:
            index = start + 1
            continue
        if isinstance(found, dict) and "context" in found:
            spans.append(found)
    return spans


def test_an_agent_framework_agents_own_spans_nest_under_the_run() -> None:
    result = _child(_AGENT_FRAMEWORK_RUN, {"OTEL_TRACES_EXPORTER": "console"})
    assert result.returncode == 0, result.stderr
    spans = _console_spans(result.stdout)
    ours = [
        span
        for span in spans
        if span["name"] == "invoke_agent weather" and "hosting.channel" in span["attributes"]
    ]
    theirs = [
        span
        for span in spans
        if span["name"] == "invoke_agent weather" and "hosting.channel" not in span["attributes"]
    ]
    (run,) = ours
    (framework,) = theirs  # Agent Framework's own span of the same agent, on the global provider
    assert framework["parent_id"] == run["context"]["span_id"]
    assert framework["context"]["trace_id"] == run["context"]["trace_id"]
    framework_tools = [span for span in spans if span["parent_id"] == framework["context"]["span_id"]]
    assert [span["name"] for span in framework_tools] == ["execute_tool get_weather"]
