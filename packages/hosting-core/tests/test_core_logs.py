"""Log formats: JSON records with their logger, level, request and trace ids, extras and exceptions."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.testclient import TestClient

from hosting.core import (
    Host,
    JsonLogFormatter,
    MemoryStore,
    RequestContextFilter,
    RunContext,
    Telemetry,
    Update,
    Usage,
    configure_logging,
    logging_config,
)

from .conftest import InvokeChannel


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger writing JSON into a buffer (restored afterwards)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonLogFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(level)


def _records(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_record_is_one_json_object_with_logger_level_and_extras(captured: io.StringIO) -> None:
    logging.getLogger("hosting.test").info("ran %s", "fast", extra={"response_id": "resp_1", "tokens": 3})
    (record,) = _records(captured)
    assert record["logger"] == "hosting.test"
    assert record["level"] == "INFO"
    assert record["message"] == "ran fast"
    assert record["response_id"] == "resp_1"
    assert record["tokens"] == 3
    assert str(record["time"]).endswith("Z")
    assert "request_id" not in record  # outside a request
    assert "trace_id" not in record


def test_an_exception_stays_on_one_line(captured: io.StringIO) -> None:
    try:
        raise ValueError("bad thing")
    except ValueError:
        logging.getLogger("hosting.test").exception("it failed")
    lines = captured.getvalue().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["level"] == "ERROR"
    assert "ValueError: bad thing" in str(record["exception"])
    assert "Traceback" in str(record["exception"])


def test_records_in_a_request_carry_its_id(captured: io.StringIO) -> None:
    async def chatty(context: RunContext) -> str:
        logging.getLogger("my.agent").info("thinking")
        return "ok"

    host = Host(chatty, channels=[InvokeChannel()], store=MemoryStore())
    with TestClient(host) as client:
        response = client.post("/invoke", json={"text": "x"}, headers={"x-request-id": "gateway-42"})
        assert response.json()["text"] == "ok"
    (thinking,) = [record for record in _records(captured) if record["message"] == "thinking"]
    assert thinking["request_id"] == "gateway-42"
    assert thinking["logger"] == "my.agent"


def test_records_under_a_span_carry_the_trace_id(captured: io.StringIO) -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        logging.getLogger("hosting.test").warning("inside")
    (record,) = _records(captured)
    assert record["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert record["span_id"] == format(span.get_span_context().span_id, "016x")


def test_logging_config_is_a_dict_config_for_text_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    assert logging_config("json")["formatters"]["hosting"] == {"()": "hosting.core.JsonLogFormatter"}
    assert "%(levelname)" in logging_config("text")["formatters"]["hosting"]["format"]
    monkeypatch.setenv("HOSTING_LOG_FORMAT", "json")
    monkeypatch.setenv("HOSTING_LOG_LEVEL", "warning")
    config = logging_config()
    assert config["formatters"]["hosting"] == {"()": "hosting.core.JsonLogFormatter"}
    assert config["root"]["level"] == "WARNING"
    monkeypatch.setenv("HOSTING_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="HOSTING_LOG_FORMAT"):
        logging_config()


def test_configure_logging_writes_json_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    uvicorn_level = logging.getLogger("uvicorn.error").level  # uvicorn sets it from --log-level
    try:
        configure_logging("json")
        logging.getLogger("uvicorn.error").setLevel(logging.INFO)
        logging.getLogger("uvicorn.error").info("started")
        logging.getLogger("hosting.core").warning("careful")
    finally:
        for handler in list(root.handlers):
            if handler not in before[0]:
                root.removeHandler(handler)
        root.setLevel(before[1])
        logging.getLogger("uvicorn.error").setLevel(uvicorn_level)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["logger"], line["level"], line["message"]) for line in lines] == [
        ("uvicorn.error", "INFO", "started"),
        ("hosting.core", "WARNING", "careful"),
    ]


def test_one_line_per_run_on_hosting_runs(captured: io.StringIO) -> None:
    async def counted(context: RunContext) -> AsyncIterator[Update | str]:
        yield "secret answer"
        yield Usage(input_tokens=5, output_tokens=2)

    async def broken(context: RunContext) -> AsyncIterator[str]:
        yield "partial"
        raise RuntimeError("model down")

    host = Host({"counted": counted, "broken": broken}, channels=[InvokeChannel()], store=MemoryStore())
    with TestClient(host) as client:
        done = client.post(
            "/invoke", json={"text": "secret question"}, headers={"x-request-id": "req-a"}
        ).json()
        failed = client.post(
            "/invoke", json={"text": "x", "agent": "broken"}, headers={"x-request-id": "req-b"}
        ).json()
    runs = [record for record in _records(captured) if record["logger"] == "hosting.runs"]
    assert len(runs) == 2
    first, second = runs
    assert first["level"] == "INFO"
    assert {
        key: first[key]
        for key in ("response_id", "agent", "channel", "status", "input_tokens", "output_tokens")
    } == {
        "response_id": done["id"],
        "agent": "counted",
        "channel": "invoke",
        "status": "completed",
        "input_tokens": 5,
        "output_tokens": 2,
    }
    assert first["request_id"] == "req-a"
    assert isinstance(first["duration_ms"], float)
    assert "trace_id" not in first  # telemetry is off
    assert f"run {done['id']} agent=counted channel=invoke status=completed" in str(first["message"])
    assert second["level"] == "WARNING"
    assert (second["response_id"], second["status"], second["error_code"]) == (
        failed["id"],
        "failed",
        "server_error",
    )
    assert second["request_id"] == "req-b"
    assert "secret" not in captured.getvalue()  # contents are never logged


def test_the_run_line_names_the_trace_of_the_run(captured: io.StringIO) -> None:
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    async def answer(context: RunContext) -> str:
        return "ok"

    host = Host(
        answer, channels=[InvokeChannel()], store=MemoryStore(), telemetry=Telemetry(tracer_provider=provider)
    )
    with TestClient(host) as client:
        client.post("/invoke", json={"text": "x"})
    (run_span,) = [span for span in exporter.get_finished_spans() if span.name.startswith("invoke_agent")]
    (line,) = [record for record in _records(captured) if record["logger"] == "hosting.runs"]
    assert line["trace_id"] == format(run_span.context.trace_id, "032x")


def test_uvicorns_terminal_colours_stay_out_of_json(captured: io.StringIO) -> None:
    logging.getLogger("a.server").info(
        "Started server process [%d]", 7, extra={"color_message": "\x1b[36m%d"}
    )
    (record,) = _records(captured)
    assert record["message"] == "Started server process [7]"
    assert "color_message" not in record
