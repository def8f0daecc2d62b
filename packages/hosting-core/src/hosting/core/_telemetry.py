"""Telemetry: whether OpenTelemetry is on, decided once per host, at no cost when off.

OpenTelemetry is an optional extra (``pip install hosting-core[otel]``). Nothing of
it is imported, and nothing is wrapped, unless one of these holds:

- ``Host(telemetry=Telemetry(tracer_provider=..., meter_provider=...))`` or
  ``Host(telemetry=True)`` (the process's global providers);
- one of ``OTEL_TRACES_EXPORTER``, ``OTEL_METRICS_EXPORTER`` or
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (and ``OTEL_SDK_DISABLED`` is not ``true``):
  the SDK is then configured from the standard ``OTEL_*`` variables, once per process.

``Host(telemetry=False)`` keeps it off whatever the environment says.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._exceptions import ConfigurationError

if TYPE_CHECKING:
    from ._telemetry_otel import Instruments

TRIGGERS = ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT")
CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"


@dataclass(frozen=True, slots=True)
class Telemetry:
    """OpenTelemetry for a `Host`: where its spans and metrics go.

    Attributes:
        tracer_provider: an OpenTelemetry ``TracerProvider``; None uses the global one.
        meter_provider: an OpenTelemetry ``MeterProvider``; None uses the global one.
        record_content: put message contents (input, output, tool arguments and results) on
            spans. Off by default: they may hold personal data. ``None`` reads
            ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``.
    """

    tracer_provider: Any = None
    meter_provider: Any = None
    record_content: bool | None = None


def telemetry_wanted_by_env() -> bool:
    """Whether the ``OTEL_*`` environment asks for telemetry."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(os.environ.get(name, "").strip() for name in TRIGGERS)


def content_wanted_by_env() -> bool:
    return os.environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() in ("true", "1", "yes")


def instruments_for(telemetry: Telemetry | bool | None) -> Instruments | None:
    """The instruments a host uses, or None when telemetry is off (nothing imported then)."""
    if telemetry is False:
        return None
    if telemetry is None:
        if not telemetry_wanted_by_env():
            return None
        from ._telemetry_setup import configure_from_env

        configure_from_env()
        telemetry = Telemetry()
    elif telemetry is True:
        telemetry = Telemetry()
    try:
        from ._telemetry_otel import Instruments
    except ImportError as error:  # pragma: no cover - depends on what is installed
        raise ConfigurationError("telemetry needs OpenTelemetry: install hosting-core[otel]") from error
    record_content = telemetry.record_content
    if record_content is None:
        record_content = content_wanted_by_env()
    return Instruments(telemetry.tracer_provider, telemetry.meter_provider, record_content=record_content)
