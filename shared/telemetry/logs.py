"""Logs: every record to stdout, one JSON object per line when configured, each carrying
the current trace and span ids."""

from __future__ import annotations

import logging
import sys

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from shared.settings import TelemetrySettings


class _TraceIds(logging.Filter):
    """Puts the current trace and span ids on every record (empty outside a span)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = trace.get_current_span().get_span_context()
        record.trace_id = format(ctx.trace_id, "032x") if ctx.is_valid else ""
        record.span_id = format(ctx.span_id, "016x") if ctx.is_valid else ""
        return True


# The logging instrumentation's camel-case duplicates, and uvicorn's copy of its message
# with terminal colour escapes.
_DROPPED_RECORD_FIELDS = (
    "otelTraceID",
    "otelSpanID",
    "otelServiceName",
    "otelTraceSampled",
    "color_message",
)


class _LineFormatter(JsonFormatter):
    """JSON lines without the fields that only repeat another (``_DROPPED_RECORD_FIELDS``)."""

    def add_fields(
        self,
        log_data: dict[str, object],
        record: logging.LogRecord,
        message_dict: dict[str, object],
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        for name in _DROPPED_RECORD_FIELDS:
            log_data.pop(name, None)


def configure_logging(settings: TelemetrySettings, service: str) -> None:
    """Route all logging to stdout, one JSON object per line (with ``trace_id`` and
    ``span_id``) when configured."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(_TraceIds())
    if settings.json_logs:
        handler.setFormatter(
            _LineFormatter(
                "{levelname}{name}{message}",
                style="{",
                timestamp="time",  # ISO 8601 in UTC with milliseconds
                rename_fields={"levelname": "level", "name": "logger"},
                static_fields={"service": service},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)s %(name)s [trace=%(trace_id)s span=%(span_id)s] "
                "%(message)s"
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("pymongo").setLevel(logging.WARNING)
    # httpx logs every request's full URL at INFO: a webhook's or a callback's query may
    # carry a token. Its failures reach our own log lines through the exceptions.
    logging.getLogger("httpx").setLevel(logging.WARNING)
