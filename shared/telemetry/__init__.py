"""Telemetry: what every service exposes of itself, one module per concern.

- ``metrics``: the Prometheus metrics every service exposes. Event-type labels come only
  from the contract registry (``event_type_label``): a junk or unknown type counts under
  ``unknown``, so messages cannot grow the label set.
- ``logs``: JSON log lines carrying the trace and span ids.
- ``tracing``: the OpenTelemetry tracer provider, its sampling, library instrumentations.
- ``url_secrets``: no secret of a URL's query on a span (``SECRET_PARAMETERS``).
- ``messaging``: trace context carried in Kafka headers, span attributes after the
  OpenTelemetry messaging conventions for Kafka.
"""
