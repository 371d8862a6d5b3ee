"""Settling deliveries a group at a time: outcomes that end together share one unit of work.

A delivery's outcome is written in a unit of work: its record leaves ``sending`` (every
attempt is on record already), its ``notification.sent.v1`` /
``notification.failed.v1`` goes to the outbox and its subscription counts the success or
failure. Deliveries claimed together usually end together (an applicant's email and SMS,
the units told of one step), so the settler gathers the outcomes of the deliveries in
hand, waiting at most ``linger_s`` for those still sending, and writes them in one unit of
work: one update for the records, one outbox write, one commit. One group at a time, so
the outcomes of one dossier never race for its outbox sequence. If a group cannot be
written for a reason of its own (not a store outage, which is waited out), each outcome
is written alone, so one that cannot be stored fails alone.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from notification.delivery_store import FAILED, SENT, StatusChange
from notification.domain import outcome_units
from notification.grouping import Gathering
from notification.retry import Outcome
from notification.store import NotificationStore
from shared.envelope import Envelope, MalformedMessage
from shared.events.dossier import Channel
from shared.events.notification import NotificationFailed, NotificationSent
from shared.events.registry import EventData, parse_data
from shared.mongo.client import Document
from shared.unit_of_work import UnitOfWork
from shared.units_of_work import UnitsOfWork

log = logging.getLogger(__name__)
OUTCOME_IDS = uuid.UUID("6f1c1c56-4a8e-4f43-9d0a-5b0f3c1e7a21")
UntilStored = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]


@dataclass(frozen=True)
class Settlement:
    """One delivery's outcome, ready to store."""

    record: Document
    cause: Envelope  # the event the notification was for
    change: StatusChange
    fact: NotificationSent | NotificationFailed
    event_id: str  # the outcome fact's id: one per notification and delivery round
    error: str  # what failed (for the subscription), if it failed


@dataclass(frozen=True)
class Settled:
    """Whether the claim still held (else someone else owns the record now), and whether
    the subscription was paused by this failure."""

    settled: bool
    paused: bool = False


def settlement(
    record: Document, cause: Envelope, outcome: Outcome, error: str, now: datetime
) -> Settlement:
    """A delivery's outcome as stored: the record's final status and its outcome fact
    (``cause``: the record's envelope, the event the notification was for)."""
    fields = {"sent_at": now} if outcome.delivered else {"failed_at": now, "error": error}
    status = SENT if outcome.delivered else FAILED
    change = StatusChange(record["_id"], record["claim"], status, fields)
    fact, event_id = outcome_fact(record, outcome, error, now, _units(record, cause))
    return Settlement(record, cause, change, fact, event_id, error)


def _units(record: Document, cause: Envelope) -> list[str]:
    """The units the outcome names (``domain.outcome_units``); if the fact told of no
    longer reads as its contract, the unit told alone (its outcome is stored all the same)."""
    try:
        told: EventData | None = parse_data(cause)
    except MalformedMessage:
        told = None
    return outcome_units(told, record["recipient_kind"], record["recipient_ref"])


def outcome_fact(
    record: Document, outcome: Outcome, error: str, now: datetime, units: list[str]
) -> tuple[NotificationSent | NotificationFailed, str]:
    """The outcome fact and its id (one outcome event per notification, whoever
    settles it); ``units``: those it names, for subscriptions' ``units`` filters."""
    common: dict[str, Any] = {
        "notification_id": record["_id"],
        "dossier_code": record["dossier_code"],
        "source_event_id": record["source_event_id"],
        "source_event_type": record["source_event_type"],
        "channel": Channel(record["channel"]),
        "recipient_kind": record["recipient_kind"],
        "recipient_ref": record["recipient_ref"],
        "template": record.get("template"),
        "language": record.get("language"),
        "attempts": outcome.attempts,
        "units": units,
    }
    data: NotificationSent | NotificationFailed = (
        NotificationSent(**common, sent_at=now)
        if outcome.delivered
        else NotificationFailed(**common, failed_at=now, error=error)
    )
    # One outcome event per notification and delivery round, whoever settles it.
    seed = f"{record['_id']}:{data.EVENT_TYPE}"
    if record.get("redeliveries"):  # a redelivery's outcome is a new fact
        seed += f":{record['redeliveries']}"
    return data, str(uuid.uuid5(OUTCOME_IDS, seed))


class Settler:
    """Writes the outcomes of one dispatcher's deliveries, a group per unit of work."""

    def __init__(
        self,
        *,
        store: NotificationStore,
        units: UnitsOfWork,
        pause_after: int,
        until_stored: UntilStored,
        linger_s: float,
    ) -> None:
        self._store = store
        self._units = units
        self._pause_after = pause_after
        self._until_stored = until_stored
        self._groups = Gathering[Settlement, Settled](
            self._write_group, linger_s=linger_s, name="notification-settle"
        )

    def in_hand(self) -> AbstractContextManager[None]:
        """A delivery in hand: a group waits (``linger_s`` at most) for its outcome."""
        return self._groups.producing()

    async def settle(self, item: Settlement) -> Settled:
        """Store the outcome with those ending at the same time; whether the claim held."""
        return await self._groups.submit(item)

    async def close(self, timeout_s: float) -> None:
        """Let the group being written finish (within ``timeout_s``), then stop."""
        await self._groups.close(timeout_s)

    async def _write_group(self, items: list[Settlement]) -> list[Settled]:
        results: list[Settled] = await self._until_stored(
            lambda: self._units.run(lambda uow: self._write(items, uow))
        )
        return results

    async def _write(self, items: list[Settlement], uow: UnitOfWork) -> list[Settled]:
        session = uow.session
        held = await self._store.settle_all([item.change for item in items], session)
        results: list[Settled] = []
        for item in items:
            change = item.change
            if change.notification_id not in held:  # our claim lapsed: someone else owns it
                results.append(Settled(False))
                continue
            uow.caused_by(item.cause).emit(item.fact, event_id=item.event_id)
            results.append(Settled(True, await self._count_for_subscription(item, uow)))
        return results

    async def _count_for_subscription(self, item: Settlement, uow: UnitOfWork) -> bool:
        """Count the delivery toward its subscription; True if this failure paused it."""
        subscription_id = item.record.get("subscription_id")
        if not subscription_id:
            return False
        if item.change.status == SENT:
            await self._store.delivery_succeeded(subscription_id, uow.now, uow.session)
            return False
        return await self._store.delivery_failed(
            subscription_id, item.error, self._pause_after, uow.now, uow.session
        )
