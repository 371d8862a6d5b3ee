"""Pure rules of the console: shapes the services' views into what the pages draw.

No I/O here: the flow diagram's nodes and links, consumer lag from offsets, the
figures read from a service's Prometheus text, which dead letters a filter picks and
what of their messages an operator sees, and which notifications may be redelivered
and what became of a redelivery.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from shared.refusals import Refused

LEVEL_ORDER = {"commune": 0, "district": 1, "province": 2}


def flow_diagram(between_levels: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Sankey nodes and links from hand-overs between levels.

    Hand-overs go up and come back down, and a Sankey cannot draw cycles: sending
    levels are the left column ("commune ▸"), receiving levels the right ("▸ district").
    """
    links = [
        {
            "source": f"{row['from_level']} ▸",
            "target": f"▸ {row['to_level']}",
            "value": int(row.get("requested", 0)),
            "accepted": int(row.get("accepted", 0)),
            "refused": int(row.get("refused", 0)),
            "pending": int(row.get("pending", 0)),
        }
        for row in between_levels
        if int(row.get("requested", 0)) > 0
    ]
    names = {str(link["source"]) for link in links} | {str(link["target"]) for link in links}
    ordered = sorted(names, key=lambda n: (n.startswith("▸"), LEVEL_ORDER.get(n.strip("▸ "), 9), n))
    return {"nodes": [{"name": name} for name in ordered], "links": links}


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int


def partition_lag(
    group: str, committed: Mapping[tuple[str, int], int], ends: Mapping[tuple[str, int], int]
) -> list[PartitionLag]:
    """Lag of a group on each partition it has an offset for (no offset: all is lag)."""
    rows = []
    for (topic, partition), end in sorted(ends.items()):
        position = committed.get((topic, partition))
        lag = end - (position if position is not None and position >= 0 else 0)
        rows.append(PartitionLag(group, topic, partition, position, end, max(lag, 0)))
    return rows


def lag_partitions(
    committed: Mapping[tuple[str, int], int], described: Mapping[str, Collection[int]]
) -> list[tuple[str, int]]:
    """Where a group's lag is shown: every partition of every topic it has committed
    offsets on, as the broker described the topic (those without an offset too: all of
    theirs is lag). A topic the broker did not describe keeps its committed partitions,
    never dropped; one it described without partitions (deleted) has nothing to read."""
    topics = sorted({topic for topic, _ in committed})
    return sorted(
        (topic, partition)
        for topic in topics
        for partition in (
            described[topic] if topic in described else {p for t, p in committed if t == topic}
        )
    )


@dataclass(frozen=True)
class OutboxFigures:
    pending: float | None
    oldest_age_seconds: float | None


def outbox_figures(metrics_text: str) -> OutboxFigures:
    """The outbox backlog and its oldest entry's age from a service's ``/metrics``."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name in ("lt_outbox_pending", "lt_outbox_oldest_age_seconds"):
                found[sample.name] = sample.value
    return OutboxFigures(found.get("lt_outbox_pending"), found.get("lt_outbox_oldest_age_seconds"))


@dataclass(frozen=True)
class LetterFilter:
    """Which dead letters a bulk replay takes (every given field must match)."""

    original_topic: str | None = None
    error_kind: str | None = None
    consumer_group: str | None = None
    key: str | None = None

    def empty(self) -> bool:
        return not any((self.original_topic, self.error_kind, self.consumer_group, self.key))

    def matches(self, letter: Any) -> bool:
        return all(
            wanted is None or getattr(letter, name) == wanted
            for name, wanted in (
                ("original_topic", self.original_topic),
                ("error_kind", self.error_kind),
                ("consumer_group", self.consumer_group),
                ("key", self.key),
            )
        )


def by_topic(letters: Iterable[Any]) -> dict[str, int]:
    """Dead letters per original topic."""
    counts: dict[str, int] = {}
    for letter in letters:
        counts[letter.original_topic] = counts.get(letter.original_topic, 0) + 1
    return dict(sorted(counts.items()))


# --- operator actions --------------------------------------------------------------------

# A replay is recorded, then done (republished) or failed (the broker refused; it is
# carried out again when replayed again). A redelivery is recorded, then requested (its
# fact is out: notification has it, or will), then what notification made of it.
RECORDED, DONE, FAILED = "recorded", "done", "failed"
REQUESTED, SENT, SKIPPED, REFUSED, UNKNOWN = "requested", "sent", "skipped", "refused", "unknown"
UNSETTLED = (RECORDED, REQUESTED)
REDELIVERABLE = "failed"  # the one notification status notification sends again
# A dossier code is {receiving-unit}-{YYMMDD}-{NNNN} (docs/design.md): never "." or "..",
# which a browser resolves as path segments (also when encoded as %2E) before it asks.
NOT_DOSSIER_CODES = frozenset({".", ".."})


def check_dossier_code(code: str) -> None:
    """Refuse what cannot be a dossier code and the page could not ask for anyway, with
    the code's format, rather than answer for another path or "no such dossier"."""
    if code in NOT_DOSSIER_CODES:
        raise Refused(
            "not_a_dossier_code",
            f"{code!r} is not a dossier code: a code is {{receiving-unit}}-{{YYMMDD}}-{{NNNN}}, "
            "e.g. 001.21.31.H59-261126-0001",
            field="code",
        )


def check_redeliverable(
    notification_id: str, notification: Mapping[str, Any] | None
) -> Mapping[str, Any]:
    """The notification, if notification would send it again; else refused up front
    (notification itself would only log it): one it does not have, or one that is not
    failed (sent, on its way, held, skipped)."""
    if notification is None:
        raise Refused(
            "notification_not_found",
            f"the notification service has no notification {notification_id}",
            field="notification_id",
        )
    status = notification.get("status")
    if status != REDELIVERABLE:
        raise Refused(
            "not_redeliverable",
            f"notification {notification_id} is {status}: only a failed one is sent again",
            field="notification_id",
            notification_status=status,
        )
    return notification


@dataclass(frozen=True)
class RedeliveryOutcome:
    """What became of a redelivery request, as notification's record of it says."""

    status: str
    notification_status: str | None
    error: str | None = None

    @property
    def settled(self) -> bool:
        return self.status not in UNSETTLED


def redelivery_outcome(
    request_id: str, notification: Mapping[str, Any] | None
) -> RedeliveryOutcome:
    """The outcome of the request ``request_id`` (the fact's event id, the action's id)
    from the notification's view: notification keeps each request it handled, queued
    or refused, in ``redelivery_requests``."""
    if notification is None:
        return RedeliveryOutcome(
            UNKNOWN, None, "the notification service no longer has this notification"
        )
    status = notification.get("status")
    handled = list(notification.get("redelivery_requests") or [])
    mine = next((i for i, r in enumerate(handled) if r.get("event_id") == request_id), None)
    if mine is None:
        return RedeliveryOutcome(REQUESTED, status)  # not handled yet
    if handled[mine].get("outcome") != "queued":
        found = handled[mine].get("status_found")
        return RedeliveryOutcome(
            REFUSED, status, f"it was {found}, not failed, when the request arrived: not sent again"
        )
    if any(r.get("outcome") == "queued" for r in handled[mine + 1 :]):
        # Queued again by a later request, which only a failed notification is.
        return RedeliveryOutcome(FAILED, status, "sent again and failed (redelivered again since)")
    if status == "sent":
        return RedeliveryOutcome(SENT, status)
    if status in ("failed", "skipped"):
        return RedeliveryOutcome(
            FAILED if status == "failed" else SKIPPED, status, notification.get("error")
        )
    return RedeliveryOutcome(REQUESTED, status)  # pending, sending, or held (paused)


# --- sign-in -----------------------------------------------------------------------------


# The target travels in the sign-in's cookie, which browsers keep only up to 4 kB.
MAX_NEXT_LENGTH = 1024


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this console only (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if len(target) > MAX_NEXT_LENGTH:
        return "/"
    if any(ch in target for ch in "\r\n\\"):
        return "/"
    return target


def needs_refresh(expires_at: float, now: float, margin_s: float) -> bool:
    """Refresh an access token this close to its expiry, so none expires in flight."""
    return expires_at - now <= margin_s


MESSAGE_CHARS = 20000
ENVELOPE_ATTRIBUTES = ("specversion", "id", "source", "type", "subject", "time")


def letter_message(value: bytes | None, personal_data: str) -> dict[str, Any]:
    """What an operator is shown of a dead letter's message. A topic that carries no
    personal data: the message (its first ``MESSAGE_CHARS`` characters). One that may:
    no body (``message`` None), only why (``message_withheld``: the personal data its
    topic carries) and an outline, the
    envelope's attributes and the names of its data fields, never their values."""
    if not personal_data:
        return {
            "message": (value or b"").decode(errors="replace")[:MESSAGE_CHARS],
            "message_withheld": None,
            "message_outline": None,
        }
    outline: dict[str, Any] = {"bytes": len(value or b"")}
    try:
        parsed = json.loads(value or b"")
    except (ValueError, RecursionError):  # not JSON, or nested too deep to parse
        parsed = None
    if isinstance(parsed, dict):
        for attribute in ENVELOPE_ATTRIBUTES:
            if isinstance(parsed.get(attribute), str | int):
                outline[attribute] = parsed[attribute]
        data = parsed.get("data")
        if isinstance(data, dict):
            outline["data_fields"] = sorted(str(k) for k in data)
    return {
        "message": None,
        "message_withheld": personal_data,
        "message_outline": outline,
    }
