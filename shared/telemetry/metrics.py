"""The Prometheus metrics every service exposes.

Event-type labels come only from the contract registry (``event_type_label``): a junk or
unknown type counts under ``unknown``, so messages cannot grow the label set.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from prometheus_client import Counter, Gauge, Histogram

UNKNOWN_TYPE = "unknown"

EVENTS_PUBLISHED = Counter(
    "lt_events_published_total",
    "Events produced to Kafka, by topic and registered type.",
    ["service", "topic", "type"],
)
EVENTS_HANDLED = Counter(
    "lt_events_handled_total",
    "Messages consumed, by registered type and outcome "
    "(handled, duplicate, ignored, dead_lettered, invalid_*).",
    ["service", "topic", "type", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "lt_handler_seconds", "Time to handle one message, retries included.", ["service", "type"]
)
HANDLER_RETRIES = Counter(
    "lt_handler_retries_total",
    "Handler attempts beyond the first (transient failures retried with backoff).",
    ["service", "type"],
)
DEAD_LETTERS = Counter(
    "lt_dead_letters_total",
    "Messages written to the dead-letter topic, by original topic and error kind.",
    ["service", "topic", "kind"],
)
OUTBOX_PENDING = Gauge(
    "lt_outbox_pending",
    "Outbox entries not yet published (counted in the store unless the relay is caught up).",
    ["service"],
)
OUTBOX_OLDEST_AGE = Gauge(
    "lt_outbox_oldest_age_seconds",
    "Age of the oldest unpublished outbox entry (0 when none waits).",
    ["service"],
)
OUTBOX_QUARANTINED = Counter(
    "lt_outbox_quarantined_total",
    "Outbox entries the broker refused (e.g. too large), moved to a dead letter.",
    ["service", "type"],
)
FEED_COPIES_HELD = Counter(
    "lt_outbox_feed_copies_held_total",
    "Copies of a published fact to an agency feed held in the store instead of sent: the "
    "broker had no such topic (the unit's feed not provisioned), or copies to it waited.",
    ["service"],
)
FEED_COPIES_WAITING = Gauge(
    "lt_outbox_feed_copies_waiting",
    "Copies held for agency feeds, not sent yet (the lease holder's count).",
    ["service"],
)
CONSUMER_LAG = Gauge(
    "lt_consumer_lag",
    "Records behind the end of each partition.",
    ["service", "topic", "partition"],
)
HTTP_REQUESTS = Counter(
    "lt_http_requests_total",
    "HTTP requests answered, by route template and status code.",
    ["service", "method", "route", "status"],
)
HTTP_SHED = Counter(
    "lt_http_requests_shed_total",
    "HTTP requests refused with 503 overloaded: the service had its most requests in flight.",
    ["service"],
)
HTTP_IN_FLIGHT = Gauge(
    "lt_http_requests_in_flight",
    "HTTP requests being handled now (saturation; the limit is LT_<SERVICE>_MAX_IN_FLIGHT).",
    ["service"],
)
HTTP_SECONDS = Histogram(
    "lt_http_request_seconds", "Time to answer an HTTP request.", ["service", "method", "route"]
)
STORE_COMMANDS = Counter(
    "lt_store_commands_total",
    "Commands sent to the store (round trips), by collection and command name.",
    ["service", "collection", "command"],
)
GROUPED_WRITES = Histogram(
    "lt_group_commit_size",
    "Pieces of work (HTTP actions) that shared one transaction, per group of two or more.",
    ["service"],
    buckets=(2, 3, 4, 6, 8, 12, 16, 24, 32),
)
DOSSIERS_BY_STATE = Gauge(
    "lt_dossiers", "Dossiers routing holds, by lifecycle state.", ["service", "state"]
)
DOSSIERS_OVERDUE = Gauge(
    "lt_dossiers_overdue",
    "Open dossiers past a due date with their clock running: a step ('step') or the "
    "appointment date ('dossier').",
    ["service", "kind"],
)

WITHDRAWALS_WAITING = Gauge(
    "lt_withdrawal_requests_waiting",
    "Withdrawal requests routing keeps for a dossier whose reception it has not read "
    "(a reception dead-lettered or late): how many, and the age of the oldest.",
    ["service", "measure"],  # measure: count | oldest_age_seconds
)


def event_type_label(event_type: str | None) -> str:
    """A metric label for an event type: registered types as they are, anything else
    ``unknown``."""
    if event_type is None or event_type not in _registry():
        return UNKNOWN_TYPE
    return event_type


@functools.cache
def _registry() -> Mapping[str, object]:
    """The contract registry (imported late: it imports telemetry's users), looked up
    once rather than per message."""
    from shared.events.registry import REGISTRY

    return REGISTRY
