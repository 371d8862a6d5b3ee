"""Redelivery on demand: operations ask (``operations.notification.redelivery.requested.v1``)
for a failed notification to be sent again.

Replaying the dead letter of a failed delivery cannot do it: the event it carries was
handled already and the inbox rightly skips it. The request is its own event, so it
passes the inbox once, and the notification goes back to ``pending`` with a fresh
budget of attempts (the earlier ones are kept). The dispatcher then sends it, and its
outcome event is new (a redelivery's outcome has its own id).

Every request handled is kept on the notification (``redelivery_requests``, the last
``KEPT_REQUESTS``): its event id, who asked, when, and whether it was ``queued`` or
``refused`` (the notification was not ``failed`` when it arrived), with the status found.
Whoever asked (the console) reads there what became of its request: a refusal changes
nothing else and emits nothing, so it would otherwise be in this service's log only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from notification.delivery_store import FAILED, PENDING
from notification.store import NotificationStore
from shared.events.operations import NotificationRedeliveryRequested
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
KEPT_REQUESTS = 20
QUEUED, REFUSED = "queued", "refused"


async def on_redelivery_requested(
    data: NotificationRedeliveryRequested,
    uow: UnitOfWork,
    *,
    store: NotificationStore,
    on_queued: Callable[[], None] = lambda: None,
) -> None:
    """Put a failed notification back in line; anything else is refused: logged, and
    noted on the notification when there is one."""
    record = await store.notifications.find_one({"_id": data.notification_id}, session=uow.session)
    found = None if record is None else str(record["status"])
    handled = {
        "event_id": uow.envelope.id,
        "operator": data.operator,
        "requested_at": data.requested_at,
        "handled_at": uow.now,
        "status_found": found,
    }
    if record is None or found != FAILED:
        log.warning(
            "redelivery not applicable",
            extra={
                "notification_id": data.notification_id,
                "status": found,
                "operator": data.operator,
            },
        )
        if record is not None:
            await store.notifications.update_one(
                {"_id": data.notification_id},
                {"$push": {"redelivery_requests": _kept({**handled, "outcome": REFUSED})}},
                session=uow.session,
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
            "$push": {
                "earlier_attempts": {"$each": record.get("attempts") or []},
                "redelivery_requests": _kept({**handled, "outcome": QUEUED}),
            },
            "$unset": {"failed_at": "", "error": ""},
        },
        session=uow.session,
    )
    on_queued()
    log.info(
        "notification redelivery queued",
        extra={"notification_id": data.notification_id, "operator": data.operator},
    )


def _kept(entry: dict[str, Any]) -> dict[str, Any]:
    """``$push`` of one handled request, keeping the last ``KEPT_REQUESTS``."""
    return {"$each": [entry], "$slice": -KEPT_REQUESTS}
