"""Telemetry in hosting-core: off by default, push outcomes and store latency counted, providers honoured."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from starlette.testclient import TestClient

from hosting.core import Host, MemoryStore, Telemetry, user_message
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
