"""Event handlers of the notification service: decide recipients, record, never send.

Each handler runs inside the unit of work the consumer runner opens. It keeps the applicant's
contact when one is registered (``applicant.contacts``), plans the notifications an
event calls for (``domain``) and records each as ``pending`` (or ``held`` for a paused
subscriber), unique per (event, recipient, channel). The contact and the dossier facts
travel on different topics, so either may come first: an applicant fact that finds no
contact waits in the contact's document and is planned when the contact arrives. No
network I/O here: the dispatcher sends after the commit.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

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
from notification.redelivery import on_redelivery_requested
from notification.store import HELD, PENDING, NotificationStore
from shared.clock import Clock
from shared.envelope import Envelope
from shared.events.applicant import ApplicantContactRegistered, ContactDetails
from shared.events.operations import NotificationRedeliveryRequested
from shared.events.registry import REGISTRY, EventData
from shared.handlers import HandlerRegistry
from shared.mongo.client import Document, Session
from shared.telemetry import inject_trace_headers
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Planning:
    """What the handlers need besides the event: store, unit channels, keys, time."""

    store: NotificationStore
    directory: UnitDirectory
    privacy_key: str
    clock: Clock
    personal_data_retention: timedelta

    def expiry(self, now: datetime) -> datetime:
        """When personal data stored now is deleted."""
        return now + self.personal_data_retention


def notification_record(
    envelope: Envelope,
    planned: PlannedNotification,
    now: datetime,
    personal_data_expiry: datetime | None = None,
) -> Document:
    """The stored form of one planned notification, before any attempt.

    Applicant deliveries hold an address: they expire with the personal data.
    """
    expiry = personal_data_expiry if planned.recipient_kind.value == "applicant" else None
    return {
        "_id": str(uuid.uuid4()),
        "source_event_id": envelope.id,
        "source_event_type": envelope.type,
        "dossier_code": envelope.subject,
        "envelope": envelope.to_bytes().decode(),
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
        "trace_headers": [[k, v.decode()] for k, v in inject_trace_headers([])],
        **({"expires_at": expiry} if expiry is not None else {}),
    }


async def record_notifications(data: EventData, uow: UnitOfWork, *, planning: Planning) -> None:
    """Keep a contact, plan who is told, and record one pending notification each."""
    envelope, session = uow.envelope, uow.session
    store, now = planning.store, planning.clock.now()
    contact = contact_of(data)
    if contact is not None:
        await _keep_contact(envelope.subject, contact, session, planning)
        if isinstance(data, ApplicantContactRegistered):
            return  # a registration is no news to anyone
    elif envelope.type in APPLICANT_EVENTS:
        contact = await store.contact(envelope.subject, session)
        if contact is None:
            await store.wait_for_contact(
                envelope.subject,
                envelope.to_bytes().decode(),
                envelope.id,
                planning.expiry(now),
                session,
            )
            log.info(
                "applicant contact not registered yet; the applicant is told when it is",
                extra={"dossier": envelope.subject, "event_id": envelope.id},
            )
    subscriptions = await store.live_subscriptions(session)
    planned = [
        *plan_for_applicant(envelope.type, contact, planning.privacy_key),
        *plan_for_units(envelope.type, data, planning.directory),
        *plan_for_subscribers(envelope.type, data, subscriptions),
    ]
    await _record_all(envelope, planned, session, planning)


async def _keep_contact(
    dossier_code: str, contact: ContactDetails, session: Session, planning: Planning
) -> None:
    """Store the contact and tell the applicant of the facts that waited for it."""
    now = planning.clock.now()
    waiting = await planning.store.save_contact(
        dossier_code, contact, now, planning.expiry(now), session
    )
    for raw in waiting:
        earlier = Envelope.from_bytes(raw.encode())
        planned = plan_for_applicant(earlier.type, contact, planning.privacy_key)
        await _record_all(earlier, planned, session, planning)


async def _record_all(
    envelope: Envelope, planned: list[PlannedNotification], session: Session, planning: Planning
) -> None:
    now = planning.clock.now()
    for item in planned:
        record = notification_record(envelope, item, now, planning.expiry(now))
        await planning.store.record(record, session)
    if planned:
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


def build_registry(planning: Planning) -> HandlerRegistry:
    """Every dossier and notification fact, and every contact registration, goes through
    ``record_notifications``: the per-type rules live in ``domain`` (applicant, unit and
    subscriber tables)."""
    models = [REGISTRY[event_type] for event_type in handled_event_types()]
    registry = HandlerRegistry().on_each(models, partial(record_notifications, planning=planning))
    return registry.on(
        NotificationRedeliveryRequested, partial(on_redelivery_requested, store=planning.store)
    )
