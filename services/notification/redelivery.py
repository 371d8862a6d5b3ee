"""Redelivery on demand: operations ask (``operations.notification.redelivery.requested.v1``)
for a failed notification to be sent again.

Replaying the dead letter of a failed delivery cannot do it: the event it carries was
handled already and the inbox rightly skips it. The request is its own event, so it
passes the inbox once, and the notification goes back to ``pending`` with a fresh
budget of attempts (the earlier ones are kept). The dispatcher then sends it, and its
outcome event is new (a redelivery's outcome has its own id).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from notification.store import FAILED, PENDING, NotificationStore
from shared.events.operations import NotificationRedeliveryRequested
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


async def on_redelivery_requested(
    data: NotificationRedeliveryRequested,
    uow: UnitOfWork,
    *,
    store: NotificationStore,
    on_queued: Callable[[], None] = lambda: None,
) -> None:
    """Put a failed notification back in line; anything else is logged and left alone."""
    record = await store.notifications.find_one({"_id": data.notification_id}, session=uow.session)
    if record is None or record["status"] != FAILED:
        log.warning(
            "redelivery not applicable",
            extra={
                "notification_id": data.notification_id,
                "status": None if record is None else record["status"],
                "operator": data.operator,
            },
        )
        return
    redeliveries = int(record.get("redeliveries") or 0) + 1
    await store.notifications.update_one(
        {"_id": data.notification_id, "status": FAILED},
        {
            "$set": {
                "status": PENDING,
                "attempts": [],
                "redeliveries": redeliveries,
                "redelivery": {
                    "operator": data.operator,
                    "reason": data.reason,
                    "requested_at": data.requested_at,
                    "event_id": uow.envelope.id,
                },
            },
            "$push": {"earlier_attempts": {"$each": record.get("attempts") or []}},
            "$unset": {"failed_at": "", "error": ""},
        },
        session=uow.session,
    )
    on_queued()
    log.info(
        "notification redelivery queued",
        extra={"notification_id": data.notification_id, "operator": data.operator},
    )
