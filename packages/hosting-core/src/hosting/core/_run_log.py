"""One log line per run, on the ``hosting.runs`` logger.

Written when a run ends, whatever the channel: its response id, agent, channel,
status, duration, token counts, and the request and trace ids, both in the message
(for a text log) and as fields of the record (a JSON log shows them as fields).
The trace id is that of the run's own span when telemetry is on (a background run
has a trace of its own), else that of the current span, if any. A failed run's line
is a warning with its error code. Message contents are never part of it.
"""

from __future__ import annotations

import logging
import time

from ._logs import trace_ids
from ._records import ResponseRecord
from ._request_id import get_current_request_id

run_logger = logging.getLogger("hosting.runs")

_run_traces: dict[str, str] = {}


def note_run_trace(response_id: str, trace_id: str) -> None:
    """Remember the trace of a run's own span, for its log line (telemetry calls this)."""
    _run_traces[response_id] = trace_id


def log_run(record: ResponseRecord, *, agent: str, channel: str, started: float) -> None:
    """Log the end of the run whose final record is `record`; `started` is its `time.monotonic()`."""
    trace_id = _run_traces.pop(record.id, None)
    if not run_logger.isEnabledFor(logging.INFO):
        return
    duration_ms = round((time.monotonic() - started) * 1000, 1)
    usage = record.usage
    input_tokens = usage.input_tokens if usage is not None else 0
    output_tokens = usage.output_tokens if usage is not None else 0
    request_id = get_current_request_id() or "-"
    if trace_id is None:
        ids = trace_ids()
        trace_id = ids[0] if ids is not None else "-"
    fields = {
        "response_id": record.id,
        "agent": agent,
        "channel": channel,
        "status": record.status,
        "duration_ms": duration_ms,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "request_id": request_id,
        "trace_id": trace_id,
    }
    if record.error is not None:
        fields["error_code"] = record.error.code
    level = logging.WARNING if record.status == "failed" else logging.INFO
    run_logger.log(
        level,
        "run %s agent=%s channel=%s status=%s duration_ms=%s tokens=%d/%d request_id=%s trace_id=%s%s",
        record.id,
        agent,
        channel,
        record.status,
        duration_ms,
        input_tokens,
        output_tokens,
        request_id,
        trace_id,
        f" error={record.error.code}" if record.error is not None else "",
        extra=fields,
    )
