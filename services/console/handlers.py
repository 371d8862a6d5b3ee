"""Operator actions on dead letters: replay them (redeliveries: ``redeliveries``).

Each action is recorded (who, when, what) together with its operations fact, in one
unit of work, before anything is republished: audit logs the fact, so a replay can
always be accounted for. A dead letter of a failed delivery is not republished (the
inbox would rightly skip an event already handled): it becomes a redelivery request
that notification acts on, asked only when notification would carry it out.

A letter of a topic the console may not write (``console_may_replay``: the contacts
topic, a unit's commands) is refused up front, nothing recorded or audited: its Kafka
ACL would refuse the republish, leaving an audited replay that can never happen.

A dead letter is recorded and audited once: replayed again, it is answered with its
action, which is first carried out again if it is not ``done`` (a redelivery: its
outcome read again while not known). An action recorded but never carried out (the
console stopped, or its store failed, after the commit), or a redelivery whose outcome
is not known yet, is finished by ``UnfinishedActions``, at start and then periodically:
republishing twice is harmless, the consumers' inboxes skip the repeat.
"""

from __future__ import annotations

import logging
from typing import Any

from pymongo.errors import DuplicateKeyError

from console.actions import Operations, recorded_as
from console.domain import DONE, FAILED, REFUSED, check_redeliverable
from console.redeliveries import follow_up, followed
from shared.auth import Principal
from shared.envelope import Envelope, MalformedMessage
from shared.events.operations import DeadLetterReplayed, NotificationRedeliveryRequested
from shared.kafka.deadletter import DLQ_PREFIX, DeadLetter, read_dead_letters, replay
from shared.mongo.client import Document
from shared.refusals import Refused
from shared.telemetry.messaging import header_value
from shared.topics import DEAD_LETTERS, commands_unit, console_may_replay, topic_name
from shared.unit_of_work import UnitOfWork
from shared.workers import PeriodicWorker

log = logging.getLogger(__name__)
DELIVERY_FAILED = "delivery_failed"


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


def letter_of(ops: Operations, letter: DeadLetter) -> str:
    """A dead letter's identity: its topic, partition and offset."""
    topic = topic_name(ops.runtime.settings.kafka.topic_prefix, DEAD_LETTERS)
    return f"{topic}:{letter.partition}:{letter.offset}"


async def replay_letter(ops: Operations, letter: DeadLetter, caller: Principal) -> dict[str, Any]:
    """Record and audit the replay, then republish it (or request a redelivery); a letter
    replayed before is answered with its action, carried out again if not done."""
    identity = letter_of(ops, letter)
    position = f"{letter.partition}:{letter.offset}"
    action = await ops.store.of_letter(identity)
    if action is None or _unfinished(action):
        refusal = not_replayable(ops.runtime.settings.kafka.topic_prefix, letter)
        if refusal is not None:
            return _answer(position, "replay", REFUSED, error=refusal, code=NOT_REPLAYABLE)
    if action is None:
        notification_id = notification_of(letter)
        if notification_id is not None:
            try:  # notification would refuse it: nothing to record or audit
                check_redeliverable(
                    notification_id, await ops.notifications.notification(notification_id)
                )
            except Refused as refused:
                return _answer(
                    position,
                    "redelivery",
                    REFUSED,
                    error=refused.detail,
                    code=refused.code,
                    notification_status=refused.extra.get("notification_status"),
                )
        try:
            action = await ops.runtime.run_unit_of_work(
                lambda uow: _record_replay(ops, letter, identity, caller, uow)
            )
        except DuplicateKeyError:  # replayed at the same moment by someone else
            action = await ops.store.of_letter(identity)
            if action is None:
                raise
    if _unfinished(action):
        action = await finish(ops, action, letter)
    return _answer(
        position,
        action["action"],
        action["status"],
        action_id=action["_id"],
        error=action.get("error"),
        notification_status=action.get("notification_status"),
    )


NOT_REPLAYABLE = "not_replayable"


def not_replayable(prefix: str, letter: DeadLetter) -> str | None:
    """Why the console may not put this letter back on its topic (None: it may). A failed
    delivery's letter is a redelivery request instead, on ``operations.events``."""
    topic = letter.original_topic
    if notification_of(letter) is not None or console_may_replay(prefix, topic):
        return None
    unit = commands_unit(topic.removeprefix(prefix)) if topic.startswith(prefix) else None
    if unit is not None:
        return (
            f"the console may not write {topic}: a command speaks for its unit, so the "
            f"agency system of {unit} sends it again (corrected); nothing replayed or recorded"
        )
    return f"the console may not write {topic} (its Kafka access): nothing replayed or recorded"


def _answer(
    position: str,
    kind: str,
    status: str,
    *,
    action_id: str | None = None,
    error: str | None = None,
    code: str | None = None,
    notification_status: str | None = None,
) -> dict[str, Any]:
    """One letter's outcome: its action (none when refused: nothing recorded), the
    refusal's ``code``, a redelivery's ``notification_status``."""
    return {
        "id": action_id,
        "dead_letter": position,
        "action": kind,
        "status": status,
        "error": error,
        "code": code,
        "notification_status": notification_status,
    }


def _unfinished(action: Document) -> bool:
    """A replay not done yet (``failed`` ones are carried out again); a redelivery whose
    outcome is not known yet."""
    if action["action"] == "replay":
        return bool(action["status"] != DONE)
    return followed(action)


async def _record_replay(
    ops: Operations, letter: DeadLetter, identity: str, caller: Principal, uow: UnitOfWork
) -> Document:
    now = uow.now
    operator = caller.name
    original = original_of(letter)
    position = f"{letter.partition}:{letter.offset}"
    code = original.subject if original else letter.key
    notification_id = notification_of(letter)
    # The error as operators are shown it: the facts are read back by operators too.
    error = letter.shown_error(ops.runtime.settings.kafka.topic_prefix)
    fact: DeadLetterReplayed | NotificationRedeliveryRequested
    if notification_id is not None:
        fact = NotificationRedeliveryRequested(
            operator=operator,
            dossier_code=code,
            notification_id=notification_id,
            reason=f"dead letter {position} replayed: {error}"[:2000],
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
            error=error[:2000],
            replayed_at=now,
        )
    [event] = uow.emit(fact)
    return await ops.store.record(
        {
            "_id": event.id,
            "action": "redelivery" if notification_id else "replay",
            **recorded_as(caller),
            "at": now,
            "letter": identity,
            "dead_letter": position,
            "original_topic": letter.original_topic,
            "event_id": original.id if original else None,
            "event_type": original.type if original else None,
            "dossier_code": code,
            "notification_id": notification_id,
        },
        uow.session,
    )


async def finish(ops: Operations, action: Document, letter: DeadLetter | None) -> Document:
    """Carry out a recorded action and settle it: a replay republishes its dead letter
    (``letter``; gone from the topic: failed); a redelivery's fact went out with its
    record, through the outbox, and what notification made of it is read
    (``follow_up``). Returns the action as settled."""
    if action["action"] != "replay":
        return await follow_up(ops, action)
    error = None
    try:
        if letter is None:
            raise LookupError(f"dead letter {action.get('dead_letter')} no longer retained")
        await replay(letter, ops.runtime.publisher)
    except Exception as exc:  # the broker refused: the record says so, try again later
        error = f"{type(exc).__name__}: {exc}"
        log.warning("replay failed", extra={"action": action["_id"], "error": error})
    status = FAILED if error else DONE
    await ops.store.settle(action["_id"], status, ops.runtime.clock.now(), error)
    log.info(
        "dead letter replayed",
        extra={"action": action["_id"], "dead_letter": action.get("dead_letter")},
    )
    return {**action, "status": status, "error": error}


class UnfinishedActions(PeriodicWorker):
    """Finishes the actions left ``recorded``, and follows the redeliveries still
    ``requested``, at start and every ``interval_s``."""

    def __init__(self, ops: Operations, interval_s: float) -> None:
        super().__init__("unfinished-actions", interval_s)
        self._ops = ops

    async def tick(self) -> int:
        """One pass; returns how many actions it took up."""
        actions = await self._ops.store.unfinished()
        letters: dict[str, DeadLetter] = {}
        if any(action["action"] == "replay" for action in actions):
            retained = await read_dead_letters(self._ops.runtime.settings.kafka)
            letters = {f"{dl.partition}:{dl.offset}": dl for dl in retained}
        for action in actions:
            await finish(self._ops, action, letters.get(action.get("dead_letter", "")))
        return len(actions)
