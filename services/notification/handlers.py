"""Event handlers of the notification service: decide recipients, record, never send.

Each handler runs inside the consumer runner's transaction. It keeps the applicant's
contact when an event carries one, plans the notifications the event calls for
(``domain``) and records each as ``pending`` (or ``held`` for a paused subscriber),
unique per (event, recipient, channel). No network I/O here: the dispatcher sends
after the commit.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from functools import partial

from notification.domain import (
    APPLICANT_EVENTS,
    PlannedNotification,
    UnitDirectory,
    contact_of,
    plan_for_applicant,
    plan_for_subscribers,
    plan_for_units,
    subscribable_event_types,
)
from notification.store import HELD, PENDING, NotificationStore
from shared.clock import Clock
from shared.envelope import Envelope
from shared.events.registry import REGISTRY, EventData
from shared.handlers import HandlerRegistry
from shared.mongo.client import Document
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def notification_record(
    envelope: Envelope, planned: PlannedNotification, now: datetime
) -> Document:
    """The stored form of one planned notification, before any attempt."""
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
    }


async def record_notifications(
    data: EventData,
    uow: UnitOfWork,
    *,
    store: NotificationStore,
    directory: UnitDirectory,
    privacy_key: str,
    clock: Clock,
) -> None:
    """Keep the contact, plan who is told, and record one pending notification each."""
    envelope, session = uow.envelope, uow.session
    now = clock.now()
    contact = contact_of(data)
    if contact is not None:
        await store.save_contact(envelope.subject, contact, now, session)
    elif envelope.type in APPLICANT_EVENTS:
        contact = await store.contact(envelope.subject, session)
        if contact is None:
            log.info(
                "no applicant contact known; applicant not told",
                extra={"dossier": envelope.subject, "event_id": envelope.id},
            )
    subscriptions = await store.live_subscriptions(session)
    planned = [
        *plan_for_applicant(envelope.type, contact, privacy_key),
        *plan_for_units(envelope.type, data, directory),
        *plan_for_subscribers(envelope.type, data, subscriptions),
    ]
    for item in planned:
        await store.record(notification_record(envelope, item, now), session)
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


def build_registry(
    *,
    store: NotificationStore,
    directory: UnitDirectory,
    privacy_key: str,
    clock: Clock,
) -> HandlerRegistry:
    """Every dossier and notification fact goes through ``record_notifications``:
    the per-type rules live in ``domain`` (applicant, unit and subscriber tables)."""
    handler = partial(
        record_notifications,
        store=store,
        directory=directory,
        privacy_key=privacy_key,
        clock=clock,
    )
    models = [REGISTRY[event_type] for event_type in subscribable_event_types()]
    return HandlerRegistry().on_each(models, handler)
