"""Operator actions: replay dead letters, redeliver failed notifications.

Each action is recorded (who, when, what) together with its operations fact, in one
unit of work, before anything is republished: audit logs the fact, so a replay can
always be accounted for. A dead letter of a failed delivery is not republished (the
inbox would rightly skip an event already handled): it becomes a redelivery request
that notification acts on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from console.store import DONE, FAILED, ReplayStore
from shared.auth import Principal
from shared.envelope import Envelope, MalformedMessage
from shared.events.operations import DeadLetterReplayed, NotificationRedeliveryRequested
from shared.kafka.deadletter import DLQ_PREFIX, DeadLetter, replay
from shared.runtime import ServiceRuntime
from shared.telemetry import header_value

log = logging.getLogger(__name__)
DELIVERY_FAILED = "delivery_failed"


@dataclass(frozen=True)
class Operations:
    """What operator actions need, bound once in ``main``."""

    runtime: ServiceRuntime
    store: ReplayStore


def original_of(letter: DeadLetter) -> Envelope | None:
    try:
        return Envelope.from_bytes(letter.value or b"")
    except MalformedMessage:
        return None


def notification_of(letter: DeadLetter) -> str | None:
    """The failed notification a dead letter stands for, if it is one."""
    if letter.error_kind != DELIVERY_FAILED:
        return None
    return header_value(letter.headers, DLQ_PREFIX + "notification_id")


def recorded_as(caller: Principal) -> dict[str, str]:
    """Who an action is recorded as: the signed-in user's name and token subject."""
    return {"operator": caller.name, "operator_subject": caller.subject}


async def replay_letter(ops: Operations, letter: DeadLetter, caller: Principal) -> dict[str, Any]:
    """Record and audit the replay, then republish it (or request a redelivery)."""
    now = ops.runtime.clock.now()
    operator = caller.name
    original = original_of(letter)
    position = f"{letter.partition}:{letter.offset}"
    code = original.subject if original else letter.key
    notification_id = notification_of(letter)
    fact: DeadLetterReplayed | NotificationRedeliveryRequested
    if notification_id is not None:
        fact = NotificationRedeliveryRequested(
            operator=operator,
            dossier_code=code,
            notification_id=notification_id,
            reason=f"dead letter {position} replayed: {letter.error}"[:2000],
            requested_at=now,
        )
    else:
        fact = DeadLetterReplayed(
            operator=operator,
            dossier_code=code,
            dead_letter=position,
            original_topic=letter.original_topic,
            original_event_id=original.id if original else None,
            original_event_type=original.type if original else None,
            error=letter.error[:2000],
            replayed_at=now,
        )
    async with ops.runtime.unit_of_work(now=now) as uow:
        [event] = uow.emit(fact)
        await ops.store.record(
            {
                "_id": event.id,
                "action": "redelivery" if notification_id else "replay",
                **recorded_as(caller),
                "at": now,
                "dead_letter": position,
                "original_topic": letter.original_topic,
                "event_id": original.id if original else None,
                "event_type": original.type if original else None,
                "dossier_code": code,
                "notification_id": notification_id,
            },
            uow.session,
        )
    return await _republish(ops, event.id, letter, redelivery=notification_id is not None)


async def _republish(
    ops: Operations, action_id: str, letter: DeadLetter, *, redelivery: bool
) -> dict[str, Any]:
    error = None
    if not redelivery:  # a redelivery travels as its own fact, through the outbox
        try:
            await replay(letter, ops.runtime.publisher)
        except Exception as exc:  # the broker refused: the record says so, try again later
            error = f"{type(exc).__name__}: {exc}"
            log.warning("replay failed", extra={"action": action_id, "error": error})
    status = FAILED if error else DONE
    await ops.store.settle(action_id, status, ops.runtime.clock.now(), error)
    log.info(
        "dead letter replayed" if not redelivery else "notification redelivery requested",
        extra={"action": action_id, "dead_letter": f"{letter.partition}:{letter.offset}"},
    )
    return {
        "id": action_id,
        "dead_letter": f"{letter.partition}:{letter.offset}",
        "action": "redelivery" if redelivery else "replay",
        "status": status,
        "error": error,
    }


async def redeliver(
    ops: Operations,
    notification_id: str,
    dossier_code: str | None,
    reason: str,
    caller: Principal,
) -> dict[str, Any]:
    """Ask notification to send a failed notification again (recorded and audited)."""
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
        await ops.store.record(
            {
                "_id": event.id,
                "action": "redelivery",
                **recorded_as(caller),
                "at": now,
                "dossier_code": dossier_code,
                "notification_id": notification_id,
                "reason": reason,
            },
            uow.session,
        )
    await ops.store.settle(event.id, DONE, ops.runtime.clock.now(), None)
    return {"id": event.id, "action": "redelivery", "status": DONE}
