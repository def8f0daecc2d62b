"""Log output: a text or JSON format, chosen by configuration, on every record.

`configure_logging` sets up the root logger once for a server process (the CLI,
`Host.serve` and the samples call it; an application with its own logging set-up
need not). ``HOSTING_LOG_FORMAT`` picks the format (``text``, the default, or
``json``: one object per line, for log collectors); ``HOSTING_LOG_LEVEL`` the level
(``INFO`` by default). Both formats name each record's logger and level, and
carry the request id and, when OpenTelemetry is on, the trace id.

uvicorn's own loggers go through the same handler: `logging_config` is a
`logging.config.dictConfig` mapping that uvicorn accepts as its ``log_config``,
and a file of the same shape works with ``uvicorn --log-config`` (see
docs/operations.md).
"""

from __future__ import annotations

import json
import logging
import logging.config
import os
import sys
import time
from typing import Any

from ._request_id import get_current_request_id

LOG_FORMAT_ENV = "HOSTING_LOG_FORMAT"
LOG_LEVEL_ENV = "HOSTING_LOG_LEVEL"
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"

# The attributes every LogRecord has; anything else on a record was passed as ``extra``.
_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()
    | {"message", "asctime", "request_id", "taskName", "color_message"}  # uvicorn's, for terminals
)


def trace_ids() -> tuple[str, str] | None:
    """The current trace and span id, when OpenTelemetry is loaded and a span is current.

    Looked up only in an already imported OpenTelemetry: logging never imports it.
    """
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` (``-`` outside a request) and ``trace_id`` (``-`` without one) to records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = get_current_request_id() or "-"
        if not hasattr(record, "trace_id"):
            ids = trace_ids()
            record.trace_id, record.span_id = ids if ids is not None else ("-", "-")
        return True


class JsonLogFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request and trace ids, extras.

    Fields passed with ``extra=`` (the run line of ``hosting.runs`` passes its response id,
    status, duration and tokens) become fields of the object. An exception is kept whole in
    ``exception``, so a multi-line traceback stays one line of log.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or get_current_request_id()
        if request_id and request_id != "-":
            entry["request_id"] = request_id
        trace_id = getattr(record, "trace_id", None)
        span_id = getattr(record, "span_id", None)
        if trace_id is None:
            ids = trace_ids()
            trace_id, span_id = ids if ids is not None else (None, None)
        if trace_id and trace_id != "-":
            entry["trace_id"], entry["span_id"] = trace_id, span_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry and key not in ("trace_id", "span_id"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def _iso(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


def log_format_from_env() -> str:
    """``HOSTING_LOG_FORMAT``: ``text`` (the default) or ``json``."""
    chosen = os.environ.get(LOG_FORMAT_ENV, "").strip().lower() or "text"
    if chosen not in ("text", "json"):
        raise ValueError(f"{LOG_FORMAT_ENV} must be 'text' or 'json', not {chosen!r}")
    return chosen


def logging_config(log_format: str | None = None, level: str | None = None) -> dict[str, Any]:
    """A `logging.config.dictConfig` mapping for a server: the root, hosting's and uvicorn's loggers
    to stderr, in `log_format` (``text`` or ``json``; None reads ``HOSTING_LOG_FORMAT``)."""
    chosen = log_format or log_format_from_env()
    chosen_level = (level or os.environ.get(LOG_LEVEL_ENV, "") or "INFO").upper()
    formatter: dict[str, Any] = (
        {"()": "hosting.core.JsonLogFormatter"} if chosen == "json" else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "hosting.core.RequestContextFilter"}},
        "formatters": {"hosting": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "hosting",
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["default"], "level": chosen_level},
        "loggers": {
            # uvicorn's loggers keep their levels and send to the root's handler, not their own.
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": True},
        },
    }


def configure_logging(log_format: str | None = None, level: str | None = None) -> None:
    """Send every log record to stderr in `log_format` (None reads ``HOSTING_LOG_FORMAT``)."""
    logging.config.dictConfig(logging_config(log_format, level))
