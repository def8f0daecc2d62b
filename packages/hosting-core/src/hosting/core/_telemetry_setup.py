"""The OpenTelemetry SDK configured from the standard ``OTEL_*`` variables, once per process.

Only what a server needs, read the way every OpenTelemetry SDK reads it:

- ``OTEL_TRACES_EXPORTER``: ``otlp`` (the default when ``OTEL_EXPORTER_OTLP_ENDPOINT``
  is set), ``console``, ``none``; several may be listed, comma separated.
- ``OTEL_METRICS_EXPORTER``: ``otlp``, ``console``, ``prometheus``, ``none``. ``prometheus``
  serves a scrape endpoint on ``OTEL_EXPORTER_PROMETHEUS_HOST``:``OTEL_EXPORTER_PROMETHEUS_PORT``
  (``localhost:9464`` by default, as the specification says).
- ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES`` name the process (``hosting`` when unset);
  the OTLP exporters read their own ``OTEL_EXPORTER_OTLP_*`` variables (endpoint, headers,
  protocol ``http/protobuf``), the batch processor ``OTEL_BSP_*``, the periodic reader
  ``OTEL_METRIC_EXPORT_INTERVAL``.

When the process already has SDK providers (set by the application, or by
``opentelemetry-instrument``), they are kept and nothing is configured here.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading

from opentelemetry import metrics, trace
from opentelemetry.sdk.environment_variables import OTEL_SERVICE_NAME
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from ._exceptions import ConfigurationError

logger = logging.getLogger("hosting.core")

_configured = False
_lock = threading.Lock()


def exporter_names(variable: str) -> list[str]:
    """The exporters a ``OTEL_*_EXPORTER`` variable lists; ``otlp`` when only an endpoint is set."""
    raw = os.environ.get(variable, "").strip().lower()
    if not raw:
        return ["otlp"] if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip() else []
    return [name.strip() for name in raw.split(",") if name.strip() and name.strip() != "none"]


def configure_from_env() -> None:
    """Set the global tracer and meter providers from the environment (the first call only)."""
    global _configured
    with _lock:
        if _configured:
            return
        _configured = True
        attributes = {} if _names_service() else {"service.name": "hosting"}
        resource = Resource.create(attributes)
        span_exporters = [_span_exporter(name) for name in exporter_names("OTEL_TRACES_EXPORTER")]
        if span_exporters and not isinstance(trace.get_tracer_provider(), TracerProvider):
            tracer_provider = TracerProvider(resource=resource)
            for exporter in span_exporters:
                tracer_provider.add_span_processor(BatchSpanProcessor(exporter))
            trace.set_tracer_provider(tracer_provider)
            atexit.register(tracer_provider.shutdown)
        readers = [_metric_reader(name) for name in exporter_names("OTEL_METRICS_EXPORTER")]
        if readers and not isinstance(metrics.get_meter_provider(), MeterProvider):
            meter_provider = MeterProvider(resource=resource, metric_readers=readers)
            metrics.set_meter_provider(meter_provider)
            atexit.register(meter_provider.shutdown)


def _names_service() -> bool:
    if os.environ.get(OTEL_SERVICE_NAME, "").strip():
        return True
    return "service.name=" in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")


def _span_exporter(name: str) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter()
    if name == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError as error:
            raise ConfigurationError("OTEL_TRACES_EXPORTER=otlp needs hosting-core[otlp]") from error
        return OTLPSpanExporter()
    raise ConfigurationError(f"OTEL_TRACES_EXPORTER: unknown exporter {name!r} (otlp, console, none)")


def _metric_reader(name: str) -> MetricReader:
    if name == "console":
        return PeriodicExportingMetricReader(ConsoleMetricExporter())
    if name == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        except ImportError as error:
            raise ConfigurationError("OTEL_METRICS_EXPORTER=otlp needs hosting-core[otlp]") from error
        return PeriodicExportingMetricReader(OTLPMetricExporter())
    if name == "prometheus":
        return prometheus_reader()
    raise ConfigurationError(
        f"OTEL_METRICS_EXPORTER: unknown exporter {name!r} (otlp, prometheus, console, none)"
    )


def prometheus_reader() -> MetricReader:
    """A Prometheus reader, its scrape endpoint served on the configured host and port."""
    try:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import start_http_server
    except ImportError as error:
        raise ConfigurationError("OTEL_METRICS_EXPORTER=prometheus needs hosting-core[prometheus]") from error
    host = os.environ.get("OTEL_EXPORTER_PROMETHEUS_HOST", "localhost")
    port = int(os.environ.get("OTEL_EXPORTER_PROMETHEUS_PORT", "9464"))
    reader = PrometheusMetricReader()
    start_http_server(port, addr=host)
    logger.info("Prometheus metrics at http://%s:%d/metrics", host, port)
    return reader
