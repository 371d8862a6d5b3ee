"""Redeliveries: ask notification to send a failed notification again, and follow what
it made of the request.

A redelivery is asked only for a notification that notification has and that is
``failed``: anything else notification would only log, so it is refused before
anything is recorded or audited (``notification_not_found``, ``not_redeliverable``).
The request is recorded (who, when, which notification, why) with its
``operations.notification.redelivery.requested.v1`` fact, which audit logs, and is
``requested``. Notification keeps each request it handled on the notification, queued
or refused; the console reads it there (``follow_up``: when the actions are listed and
by ``handlers.UnfinishedActions``) and records the outcome: ``sent``, ``failed`` (sent
again and failed), ``skipped`` (its subscription deleted), ``refused`` (it was no longer
failed when the request arrived), ``unknown`` (notification no longer has it); until
then it stays ``requested``, with the notification's status (``pending``, ``sending``,
``held`` while its webhook subscription is paused). It is never called done for what
notification did not carry out.
"""

from __future__ import annotations

import logging
from typing import Any

from console.actions import Operations, recorded_as
from console.domain import (
    REQUESTED,
    UNSETTLED,
    RedeliveryOutcome,
    check_redeliverable,
    redelivery_outcome,
)
from console.sources import ServiceUnavailable
from shared.auth import Principal
from shared.events.operations import NotificationRedeliveryRequested
from shared.mongo.client import Document

log = logging.getLogger(__name__)


def followed(action: Document) -> bool:
    """A redelivery whose outcome is still to be read from notification."""
    return action["action"] == "redelivery" and action["status"] in UNSETTLED


async def follow_up(ops: Operations, action: Document) -> Document:
    """A redelivery's outcome, read from notification and stored while it is not settled
    (``domain.redelivery_outcome``); when notification does not answer, the request is
    ``requested`` still (its fact is committed). Returns the action as it now stands."""
    if not followed(action):
        return action
    try:
        notification = await ops.notifications.notification(action["notification_id"])
    except ServiceUnavailable as exc:
        log.warning("redelivery not followed", extra={"action": action["_id"], "error": str(exc)})
        outcome = RedeliveryOutcome(REQUESTED, action.get("notification_status"))
    else:
        outcome = redelivery_outcome(action["_id"], notification)
    changed = await ops.store.follow(action["_id"], outcome, ops.runtime.clock.now())
    if outcome.settled and changed:
        log.info(
            "notification redelivery settled",
            extra={"action": action["_id"], "status": outcome.status},
        )
    return {**action, **changed}


async def redeliver(
    ops: Operations, notification_id: str, reason: str, caller: Principal
) -> dict[str, Any]:
    """Ask notification to send a failed notification again (recorded and audited).

    Refused before anything is recorded when notification has no such notification
    (``notification_not_found``) or it is not failed (``not_redeliverable``). The
    dossier recorded is the notification's own. The answer is the action ``requested``:
    what notification makes of it is followed by ``follow_up``."""
    notification = check_redeliverable(
        notification_id, await ops.notifications.notification(notification_id)
    )
    dossier_code = notification.get("dossier_code")
    now = ops.runtime.clock.now()
    fact = NotificationRedeliveryRequested(
        operator=caller.name,
        dossier_code=dossier_code,
        notification_id=notification_id,
        reason=reason,
        requested_at=now,
    )
    async with ops.runtime.unit_of_work(now=now) as uow:
        [event] = uow.emit(fact)
        action = await ops.store.record(
            {
                "_id": event.id,
                "action": "redelivery",
                **recorded_as(caller),
                "at": now,
                "dossier_code": dossier_code,
                "notification_id": notification_id,
                "reason": reason,
                "notification_status": notification.get("status"),
                "checked_at": now,
            },
            uow.session,
            status=REQUESTED,
        )
    log.info("notification redelivery requested", extra={"action": event.id})
    return view_of(action)


def view_of(action: Document) -> dict[str, Any]:
    """An action as the API answers it (its record, ``id`` for ``_id``)."""
    return {"id": action["_id"], **{k: v for k, v in action.items() if k != "_id"}}
