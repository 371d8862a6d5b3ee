"""The rules of agencies' subscriptions (pure, no I/O): which subscription wants an event,
when a failing subscriber is paused, and which event types one may subscribe to.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.events.registry import REGISTRY
from shared.refusals import Refused

SUBSCRIBABLE_PREFIXES = ("dossier.", "notification.")


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class SubscriptionView(BaseModel):
    """What fan-out needs to know of a subscription."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    event_types: tuple[str, ...]
    units: tuple[str, ...] = ()
    status: SubscriptionStatus
    url: str


def subscription_matches(sub: SubscriptionView, event_type: str, units: set[str]) -> bool:
    """Whether a subscription wants this event: its type, and one of its units if it names any."""
    if event_type not in sub.event_types:
        return False
    return not sub.units or bool(units.intersection(sub.units))


def should_pause(consecutive_failures: int, threshold: int) -> bool:
    """A subscriber is paused once this many deliveries in a row spent all their retries."""
    return consecutive_failures >= threshold


def subscribable_event_types() -> list[str]:
    """Facts an agency may subscribe to: dossier and notification facts still emitted.

    Never the applicant's contact, which is no agency's business."""
    return sorted(
        t
        for t, model in REGISTRY.items()
        if t.startswith(SUBSCRIBABLE_PREFIXES) and not model.DEPRECATED
    )


def check_event_types(event_types: Iterable[str]) -> list[str]:
    """Known, subscribable event types (order kept, duplicates dropped), or
    ``Refused(unknown_event_type)``."""
    allowed = set(subscribable_event_types())
    checked: list[str] = []
    for index, event_type in enumerate(event_types):
        if event_type not in allowed:
            raise Refused(
                "unknown_event_type",
                f"unknown or non-subscribable event type {event_type!r}; "
                "subscribe to dossier.* or notification.* facts",
                field=f"event_types.{index}",
            )
        checked.append(event_type)
    return list(dict.fromkeys(checked))
