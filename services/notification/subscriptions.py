"""Webhook subscriptions of agency systems: the HTTP-initiated commands.

A subscription names an https URL, the event types (and units) of interest and
belongs to who created it: an administrator, or an agency system for its own units.
The URL must not lead to loopback, private, link-local, multicast or reserved
addresses (``egress``). The service generates the signing secret, returns it once in
the creation answer and stores it encrypted (``secretbox``). Deleting forgets the
secret; resuming a paused subscription releases the deliveries held while it was paused.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from notification.egress import EgressRefused, Network, checked_addresses, webhook_url
from notification.secretbox import SecretBox, new_secret
from notification.store import NotificationStore
from notification.subscription_rules import SubscriptionStatus, check_event_types
from shared.clock import Clock
from shared.mongo.client import Document
from shared.refusals import Refused


@dataclass(frozen=True)
class EgressPolicy:
    """Which webhook URLs are acceptable (from LT_NOTIFICATION_WEBHOOK_*)."""

    allow_http: bool
    allowed_networks: Sequence[Network]


@dataclass(frozen=True)
class Owner:
    """Who a subscription belongs to: its creator and, for an agency, its unit."""

    name: str
    unit: str | None


async def check_destination(url: str, policy: EgressPolicy) -> str:
    """The URL (stripped) when its scheme and every address it resolves to are acceptable.

    The host and port judged are those httpx reads, which deliveries connect to."""
    parsed = webhook_url(url, allow_http=policy.allow_http)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        await checked_addresses(parsed.raw_host.decode("ascii"), port, policy.allowed_networks)
    except EgressRefused as exc:
        raise Refused("url_not_allowed", str(exc), field="url") from None
    return url.strip()


async def create_subscription(
    *,
    store: NotificationStore,
    clock: Clock,
    box: SecretBox,
    policy: EgressPolicy,
    owner: Owner,
    url: str,
    event_types: list[str],
    units: list[str],
    description: str | None,
) -> tuple[Document, str]:
    """Check and store a subscription, active at once; returns it and its new secret."""
    checked_url = await check_destination(url, policy)
    checked_types = check_event_types(event_types)
    now: datetime = clock.now()
    subscription_id = str(uuid.uuid4())
    secret = new_secret()
    doc: Document = {
        "_id": subscription_id,
        "url": checked_url,
        "event_types": checked_types,
        "units": list(dict.fromkeys(unit.strip() for unit in units)),
        "secret_sealed": box.seal(secret, subscription_id),
        "owner": owner.name,
        "owner_unit": owner.unit,
        "description": description,
        "status": SubscriptionStatus.ACTIVE.value,
        "consecutive_failures": 0,
        "created_at": now,
    }
    await store.add_subscription(doc)
    return doc, secret


async def get_subscription(
    store: NotificationStore, subscription_id: str, owner_unit: str | None = None
) -> Document:
    """The subscription; with ``owner_unit``, only when it belongs to that unit."""
    doc = await store.subscription(subscription_id)
    if doc is None or (owner_unit is not None and doc.get("owner_unit") != owner_unit):
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
