"""Webhook subscriptions of agency systems: the HTTP-initiated commands.

A subscription names a URL, the event types (and optionally units) of interest and
a shared secret used to sign each delivery. The secret is stored to sign and never
returned. Deleting forgets the secret; resuming a paused subscription releases the
deliveries held while it was paused.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from notification.domain import (
    SubscriptionStatus,
    check_event_types,
    check_url,
)
from notification.store import NotificationStore
from shared.clock import Clock
from shared.mongo.client import Document
from shared.refusals import Refused


async def create_subscription(
    *,
    store: NotificationStore,
    clock: Clock,
    url: str,
    event_types: list[str],
    units: list[str],
    secret: str,
    description: str | None,
) -> Document:
    """Check and store a subscription; it is active at once."""
    checked_url, checked_types = check_url(url), check_event_types(event_types)
    now: datetime = clock.now()
    doc: Document = {
        "_id": str(uuid.uuid4()),
        "url": checked_url,
        "event_types": checked_types,
        "units": list(dict.fromkeys(unit.strip() for unit in units)),
        "secret": secret,
        "description": description,
        "status": SubscriptionStatus.ACTIVE.value,
        "consecutive_failures": 0,
        "created_at": now,
    }
    await store.add_subscription(doc)
    return doc


async def get_subscription(store: NotificationStore, subscription_id: str) -> Document:
    doc = await store.subscription(subscription_id)
    if doc is None:
        raise Refused("not_found", f"no subscription {subscription_id}", field="subscription_id")
    return doc


async def delete_subscription(store: NotificationStore, clock: Clock, subscription_id: str) -> None:
    """Deactivate: no more deliveries, the secret is forgotten."""
    if not await store.delete_subscription(subscription_id, clock.now()):
        raise Refused("not_found", f"no subscription {subscription_id}", field="subscription_id")


async def resume_subscription(
    store: NotificationStore, clock: Clock, subscription_id: str
) -> tuple[Document, int]:
    """Reactivate a paused subscription; returns it and how many held deliveries go out."""
    await get_subscription(store, subscription_id)
    released = await store.resume_subscription(subscription_id, clock.now())
    return await get_subscription(store, subscription_id), released
