"""Telemetry in hosting-core: off by default, push outcomes and store latency counted, providers honoured."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from starlette.testclient import TestClient

from hosting.core import Host, MemoryStore, Telemetry, as_agent, user_message
from hosting.core.channels import ChannelIdentity

from .conftest import InvokeChannel, echo_history


def _points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    data = reader.get_metrics_data()
    return [
        point
        for resource in (data.resource_metrics if data else ())
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


def test_off_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    store = MemoryStore()
    host = Host(echo_history, channels=[InvokeChannel()], store=store)
    assert host.telemetry is None
    assert host.engine.agents["echo_history"] is not None
    assert type(host.engine.agents["echo_history"]).__module__ != "hosting.core._telemetry_otel"
    # Asked for, but switched off by the environment's own kill switch or by the argument.
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert Host(echo_history, channels=[InvokeChannel()], store=store).telemetry is None
    monkeypatch.delenv("OTEL_SDK_DISABLED")
    assert Host(echo_history, channels=[InvokeChannel()], store=store, telemetry=False).telemetry is None


async def test_pushes_are_counted_by_outcome() -> None:
    reader = InMemoryMetricReader()
    working, broken = InvokeChannel("working", prefix="/a"), InvokeChannel("broken", prefix="/b")
    broken.fail_push = True
    host = Host(
        echo_history,
        channels=[working, broken],
        store=MemoryStore(),
        delivery_attempts=2,
        delivery_backoff=0,
        telemetry=Telemetry(meter_provider=MeterProvider(metric_readers=[reader])),
    )
    await host.link_identity("working", "w-1")
    await host.link_identity("broken", "b-1")
    report = await host.deliver((user_message("news"),), target="linked")
    assert report.pushed == ("working",)
    assert working.pushed[-1].items == (user_message("news"),)
    counted = {
        (point.attributes["hosting.channel"], point.attributes["outcome"]): point.value
        for point in _points(reader, "hosting.deliveries")
    }
    assert counted == {("working", "delivered"): 1, ("broken", "failed"): 2}  # two attempts
    failed = next(p for p in _points(reader, "hosting.deliveries") if p.attributes["outcome"] == "failed")
    assert failed.attributes["error.type"] == "ConnectionError"
    await host.shutdown()


def test_store_operations_are_timed_by_name() -> None:
    reader = InMemoryMetricReader()
    store = MemoryStore()
    host = Host(
        echo_history,
        channels=[InvokeChannel()],
        store=store,
        telemetry=Telemetry(meter_provider=MeterProvider(metric_readers=[reader])),
    )
    assert host.store is store  # the host keeps the store it was given; its engine gets the timed one
    with TestClient(host) as client:
        first = client.post("/invoke", json={"text": "one", "session": "s"}).json()
        assert client.post("/invoke", json={"text": "two", "session": "s"}).json()["text"] == "one | two"
    operations = {
        point.attributes["hosting.store.operation"]: point
        for point in _points(reader, "hosting.store.operation.duration")
    }
    assert first["id"]
    assert operations["update_response"].count >= 2
    assert all(point.sum >= 0 for point in operations.values())
    assert not any(name.startswith("_") for name in operations)


async def test_a_push_channel_identity_is_kept() -> None:
    # The wrapped push is still the channel's: the origin gets the items.
    reader = InMemoryMetricReader()
    channel = InvokeChannel()
    host = Host(
        echo_history,
        channels=[channel],
        store=MemoryStore(),
        telemetry=Telemetry(meter_provider=MeterProvider(metric_readers=[reader])),
    )
    report = await host.deliver(
        (user_message("hi"),), target="origin", origin=ChannelIdentity("invoke", "a-9")
    )
    assert report.pushed == ("invoke",)
    assert channel.pushed[-1].address == "a-9"
    await host.shutdown()


class _Run:
    """What the engine's ``attach`` returns, as far as telemetry looks at it."""

    def __init__(self) -> None:
        self.task = object()
        self.done = False


async def test_a_follower_that_comes_before_the_agent_starts_is_linked_when_it_does() -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from hosting.core import RunContext
    from hosting.core._telemetry_otel import Instruments

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instruments = Instruments(provider, MeterProvider(), record_content=False)
    run = _Run()

    async def attach(owner: str, response_id: str) -> _Run:
        return run

    tracer = provider.get_tracer("test")
    # The follower's span stays open while it streams: the link comes while it is.
    follower = tracer.start_span("GET follower")
    with trace.use_span(follower, end_on_exit=False):
        assert await instruments.attaching(attach)("alice", "resp_1") is run
    # A run that ended before its agent started is forgotten at the next follow.
    gone = _Run()
    gone.done = True
    instruments._waiting["resp_gone"] = (gone, [follower])
    with tracer.start_as_current_span("GET another"):
        await instruments.attaching(attach)("alice", "resp_2")
    assert set(instruments._waiting) == {"resp_1", "resp_2"}

    async def answer(context: RunContext) -> AsyncIterator[str]:
        yield "hi"

    agent = instruments.agent("answer", as_agent(answer))
    context = RunContext(response_id="resp_1", history=(), input=(user_message("x"),), agent_name="answer")
    assert [update async for update in agent.run(context)] == ["hi"]
    follower.end()
    (run_span,) = [span for span in exporter.get_finished_spans() if span.name == "invoke_agent answer"]
    (ended_follower,) = [span for span in exporter.get_finished_spans() if span.name == "GET follower"]
    assert [(link.context.span_id, dict(link.attributes or {})) for link in ended_follower.links] == [
        (run_span.context.span_id, {"hosting.link": "follows"})
    ]
    assert "resp_1" not in instruments._waiting


def test_an_error_update_is_the_runs_error_type() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from hosting.core import ErrorUpdate, RunContext

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    async def refuses(context: RunContext) -> AsyncIterator[str | ErrorUpdate]:
        yield "partial"
        yield ErrorUpdate("The quota is used up.", code="quota_exceeded")
        yield "never sent"

    host = Host(
        refuses,
        channels=[InvokeChannel()],
        store=MemoryStore(),
        telemetry=Telemetry(tracer_provider=provider),
    )
    with TestClient(host) as client:
        answer = client.post("/invoke", json={"text": "x"}).json()
    assert (answer["status"], answer["error"]) == ("failed", "The quota is used up.")
    (run,) = [span for span in exporter.get_finished_spans() if span.name.startswith("invoke_agent")]
    assert (run.attributes or {})["error.type"] == "quota_exceeded"
    assert run.status.description == "quota_exceeded"
