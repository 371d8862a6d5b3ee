"""The metrics that say something has stopped: what the alert rules of
``infra/observability/alerts.yml`` watch beside the traffic metrics of
``shared.telemetry.metrics``.

A process that stops updating a gauge leaves it frozen at its last value, and a labelled
counter has no sample until its first increment (``increase()`` then misses that first
one). So these are timestamps of the last success (a stopped loop shows as an old
timestamp, whatever its last value was), set at start so that a loop that never
succeeds is seen too, and counters created at zero for the label values known at start.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

WORKER_LAST_SUCCESS = Gauge(
    "lt_worker_last_success_timestamp_seconds",
    "Unix time a background worker (deadline scheduler, checkpointer, witnessing, portal "
    "sender, ...) last finished a round without failing; its start time until then.",
    ["worker"],
)
WORKER_INTERVAL = Gauge(
    "lt_worker_interval_seconds", "A background worker's pause between rounds.", ["worker"]
)
WORKER_FAILURES = Counter(
    "lt_worker_failures_total",
    "Rounds of a background worker that failed (logged as '<worker> failed; retrying').",
    ["worker"],
)
RELAY_LAST_SUCCESS = Gauge(
    "lt_outbox_relay_last_success_timestamp_seconds",
    "Unix time this instance's outbox relay last finished a round holding the lease without "
    "failing (idle rounds included); its start time until then. The lease holder's is the "
    "newest: max by service.",
    ["service"],
)
RELAY_LEADING = Gauge(
    "lt_outbox_relay_leading",
    "1 while this instance's outbox relay holds the lease (it alone reports lt_outbox_*).",
    ["service"],
)
READY = Gauge(
    "lt_ready",
    "1 when the service is ready (as /readyz answers 200, degraded included), 0 when not; "
    "evaluated at each scrape.",
    ["service"],
)
READINESS_CHECK = Gauge(
    "lt_readiness_check",
    "1 when a readiness check (store, broker) passes at the scrape, 0 when it fails.",
    ["service", "check"],
)
AUDIT_UNSIGNED_AGE = Gauge(
    "lt_audit_unsigned_age_seconds",
    "Age of the oldest audit-log entry no signed checkpoint covers yet (0 when none).",
    ["service"],
)
AUDIT_UNWITNESSED_AGE = Gauge(
    "lt_audit_unwitnessed_age_seconds",
    "Age of the oldest audit-log entry no checkpoint cosigned by a quorum of witnesses "
    "covers yet (0 when none): evidence bundles stay on the older checkpoint meanwhile.",
    ["service"],
)
AUDIT_CHECKPOINT_AGE = Gauge(
    "lt_audit_checkpoint_age_seconds",
    "Age of the latest checkpoint ('signed') and of the latest with a witness quorum "
    "('witnessed'); absent while there is none.",
    ["service", "checkpoint"],
)
PORTAL_MESSAGES = Gauge(
    "lt_portal_messages",
    "National-portal messages waiting, by status: 'pending' (not sent yet) and 'dead' "
    "(given up, holding back their dossier's later messages until replayed or skipped).",
    ["service", "status"],
)
PORTAL_SENDING = Gauge(
    "lt_portal_sending",
    "1 when a portal endpoint is configured (messages are sent), 0 when they are held.",
    ["service"],
)
