"""Event handlers of the notification service: decide recipients, record, never send.

Each handler runs inside the unit of work the consumer runner opens, for the consecutive
events of a fetched batch at once (in order; one query and one write per collection for
the whole run). It keeps the applicant's contact when one is registered
(``applicant.contacts``), plans the notifications an event calls for (``domain``) and
records each as ``pending`` (or ``held`` for a paused subscriber), unique per (event,
recipient, channel). The contact and the dossier facts travel on different topics, so
either may come first: an applicant fact that finds no contact waits in the contact's
document and is planned when the contact arrives. No network I/O here: the dispatcher
sends after the commit.

The registry's screen (``live_subscriptions``) passes over the events nobody is told of
before any unit of work; the run's handler uses the subscriptions it read.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from notification.contacts import ContactBook
from notification.delivery_store import HELD, PENDING
from notification.domain import (
    APPLICANT_EVENTS,
    PlannedNotification,
    UnitDirectory,
    contact_of,
    handled_event_types,
    plan_for_applicant,
    plan_for_subscribers,
    plan_for_units,
)
from notification.live_subscriptions import LiveSubscriptions, subscribable
from notification.redelivery import on_redelivery_requested
from notification.store import NotificationStore
from notification.subscription_rules import SubscriptionView
from shared.clock import Clock
from shared.envelope import Envelope
from shared.events.applicant import ApplicantContactRegistered, ContactDetails
from shared.events.operations import NotificationRedeliveryRequested
from shared.events.registry import REGISTRY, EventData
from shared.handlers import HandlerRegistry
from shared.mongo.client import Document, Session
from shared.telemetry.messaging import inject_trace_headers
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def _nothing() -> None:
    return None


class Claims(Protocol):
    """Claims for this instance's dispatcher, issued as records are written (``handoff``)."""

    def claim(self, count: int, now: datetime) -> Document | None: ...

    def committed(self, claim_id: str, records: list[Document]) -> None: ...


@dataclass(frozen=True)
class Planning:
    """What the handlers need besides the event: store, unit channels, keys, time."""

    store: NotificationStore
    directory: UnitDirectory
    privacy_key: str
    clock: Clock
    personal_data_retention: timedelta
    on_recorded: Callable[[], None] = _nothing  # records to send were stored
    subscriptions: LiveSubscriptions | None = None  # the screen's reading, if screened
    claims: Claims | None = None  # records to send are written claimed for the dispatcher
    # Unit and subscriber deliveries keep the event they delivered: kept this long.
    record_retention: timedelta = timedelta(days=365)

    def expiry(self, now: datetime) -> datetime:
        """When personal data stored now is deleted."""
        return now + self.personal_data_retention


def notification_record(
    envelope: Envelope,
    planned: PlannedNotification,
    now: datetime,
    personal_data_expiry: datetime | None = None,
    *,
    raw: str,
    trace_headers: list[list[str]],
    record_expiry: datetime | None = None,
) -> Document:
    """The stored form of one planned notification, before any attempt (``raw``: the
    envelope as JSON, and ``trace_headers``, made once for all the event's records).

    Applicant deliveries hold an address: they expire with the personal data. The others
    keep the event (identity hash, reasons, notes, document names): they expire at
    ``record_expiry``.
    """
    applicant = planned.recipient_kind.value == "applicant"
    expiry = personal_data_expiry if applicant else record_expiry
    return {
        "_id": str(uuid.uuid4()),
        "source_event_id": envelope.id,
        "source_event_type": envelope.type,
        "dossier_code": envelope.subject,
        "envelope": raw,
        "recipient_kind": planned.recipient_kind.value,
        "recipient_ref": planned.recipient_ref,
        "recipient_name": planned.recipient_name,
        "channel": planned.channel.value,
        "address": planned.address,
        "display": planned.display,
        "template": planned.template,
        "language": planned.language.value if planned.language else None,
        "subscription_id": planned.subscription_id,
        "status": HELD if planned.held else PENDING,
        "attempts": [],
        "created_at": now,
        # The dispatcher sends after the commit, outside this span: keep the journey's trace.
        "trace_headers": trace_headers,
        **({"expires_at": expiry} if expiry is not None else {}),
    }


async def record_notifications(
    events: list[tuple[Envelope, EventData]], uow: UnitOfWork, *, planning: Planning
) -> None:
    """Keep contacts, plan who is told, and record one pending notification each, for
    consecutive events of a batch, in their order.

    A batch costs one contacts query and one write each for the contacts and the
    notifications it changed, however many events it holds (and one subscriptions
    query when the screen had none to hand it).
    """
    session = uow.session
    book = await planning.store.contact_book(
        {envelope.subject for envelope, data in events if _needs_contact(envelope, data)}, session
    )
    subscriptions = (
        await _subscriptions_of(events, planning, session)
        if any(subscribable(data) for _, data in events)
        else []
    )
    records: list[Document] = []
    for envelope, data in events:
        records.extend(_plan_event(envelope, data, book, subscriptions, planning))
    claimed = _claim_pending(records, planning)
    await planning.store.save_contacts(book, session)
    inserted = await planning.store.record_all(records, session)
    if claimed:
        _hand_over_when_committed(claimed, inserted, uow, planning)
    if any(record["status"] == PENDING for record in records):  # none claimed: wake it
        planning.on_recorded()


def _claim_pending(records: list[Document], planning: Planning) -> list[Document]:
    """Write the records to send claimed for this instance's dispatcher (``sending``), if
    it can take them now (it then starts them once committed, without a claim of its
    own); those claimed."""
    pending = [record for record in records if record["status"] == PENDING]
    if planning.claims is None or not pending:
        return []
    fields = planning.claims.claim(len(pending), planning.clock.now())
    if fields is None:
        return []
    for record in pending:
        record.update(fields)
    return pending


def _hand_over_when_committed(
    claimed: list[Document], inserted: set[str], uow: UnitOfWork, planning: Planning
) -> None:
    """Once the transaction commits, the claimed records it inserted are the dispatcher's
    (one whose key existed already was not written: it is not this claim's)."""
    assert planning.claims is not None
    written = [record for record in claimed if record["_id"] in inserted]
    uow.after_commit(partial(planning.claims.committed, claimed[0]["claim"], written))


async def _subscriptions_of(
    events: list[tuple[Envelope, EventData]], planning: Planning, session: Session
) -> list[SubscriptionView]:
    if planning.subscriptions is not None:
        return await planning.subscriptions.of(events, session)
    return await planning.store.live_subscriptions(session)


def _needs_contact(envelope: Envelope, data: EventData) -> bool:
    """Whether handling the event reads or writes its dossier's contacts document."""
    return contact_of(data) is not None or envelope.type in APPLICANT_EVENTS


def _plan_event(
    envelope: Envelope,
    data: EventData,
    book: ContactBook,
    subscriptions: list[SubscriptionView],
    planning: Planning,
) -> list[Document]:
    """One event's notification records (and those of the facts its contact released)."""
    now = planning.clock.now()
    contact = contact_of(data)
    records: list[Document] = []
    if contact is not None:
        registered_at = data.registered_at if isinstance(data, ApplicantContactRegistered) else None
        records.extend(_keep_contact(envelope.subject, contact, book, planning, registered_at))
        if isinstance(data, ApplicantContactRegistered):
            return records  # a registration is no news to anyone
    elif envelope.type in APPLICANT_EVENTS:
        contact = book.contact(envelope.subject)
        if contact is None:
            book.wait(
                envelope.subject, envelope.to_bytes().decode(), envelope.id, planning.expiry(now)
            )
            log.info(
                "applicant contact not registered yet; the applicant is told when it is",
                extra={"dossier": envelope.subject, "event_id": envelope.id},
            )
    planned = [
        *plan_for_applicant(envelope.type, contact, planning.privacy_key),
        *plan_for_units(envelope.type, data, planning.directory),
        *plan_for_subscribers(envelope.type, data, subscriptions),
    ]
    return [*records, *_records(envelope, planned, planning)]


def _keep_contact(
    dossier_code: str,
    contact: ContactDetails,
    book: ContactBook,
    planning: Planning,
    registered_at: datetime | None,
) -> list[Document]:
    """Keep the contact and tell the applicant of the facts that waited for it; a
    registration older than the contact kept (corrected since) changes nothing."""
    if book.supersedes(dossier_code, registered_at):
        log.info("older contact registration ignored", extra={"dossier": dossier_code})
        return []
    now = planning.clock.now()
    records: list[Document] = []
    for raw in book.keep(dossier_code, contact, now, planning.expiry(now), registered_at):
        earlier = Envelope.from_bytes(raw.encode())
        planned = plan_for_applicant(earlier.type, contact, planning.privacy_key)
        records.extend(_records(earlier, planned, planning))
    return records


def _records(
    envelope: Envelope, planned: list[PlannedNotification], planning: Planning
) -> list[Document]:
    if not planned:
        return []
    now = planning.clock.now()
    log.info(
        "notifications recorded",
        extra={
            "dossier": envelope.subject,
            "event_id": envelope.id,
            "event_type": envelope.type,
            # References only: keyed hashes, unit codes, subscription ids.
            "recipients": [f"{p.recipient_ref}/{p.channel.value}" for p in planned],
        },
    )
    # One serialisation and one trace context for all the event's records.
    raw = envelope.to_bytes().decode()
    headers = [[k, v.decode()] for k, v in inject_trace_headers([])]
    return [
        notification_record(
            envelope,
            item,
            now,
            planning.expiry(now),
            raw=raw,
            trace_headers=headers,
            record_expiry=now + planning.record_retention,
        )
        for item in planned
    ]


def build_registry(planning: Planning) -> HandlerRegistry:
    """Every dossier and notification fact, and every contact registration, goes through
    ``record_notifications``, a batch's consecutive ones at once: the per-type rules live
    in ``domain`` (applicant, unit and subscriber tables)."""
    models = [REGISTRY[event_type] for event_type in handled_event_types()]
    registry = HandlerRegistry().on_batch(models, partial(record_notifications, planning=planning))
    if planning.subscriptions is not None:
        registry.screened_by(planning.subscriptions.screen)
    return registry.on(
        NotificationRedeliveryRequested,
        partial(on_redelivery_requested, store=planning.store, on_queued=planning.on_recorded),
    )
