"""A delivery's end: a failed one to the dead-letter topic, then its outcome settled
(stored, with ``notification.sent.v1`` / ``notification.failed.v1`` queued, in the unit of
work shared by the deliveries ending together: ``settling``; a failure counts toward
pausing its subscription), then logged.

An SMS that failed because no SMS provider is configured (the deployment default: its
``DeliveryError`` has the reason ``SMS_DISABLED_REASON``, stored with the attempt, so an
outcome rebuilt from it after a restart keeps it) is recorded failed with that error but
not dead-lettered: no replay can deliver it until a
provider is configured (then the console's redelivery can), and a dead letter per
dossier would keep ``DeadLettersWritten`` firing in every deployment without SMS.

The dead letter is written before the outcome is settled: a crash in between runs the
end again, never skips it.
"""

from __future__ import annotations

import logging

from notification.channels import DeliveryError
from notification.delivery_errors import shown
from notification.privacy import redacted_for
from notification.retry import Outcome
from notification.settling import Settler, settlement
from notification.sms import SMS_DISABLED_REASON
from shared.clock import Clock
from shared.envelope import Envelope
from shared.events.registry import REGISTRY
from shared.kafka.deadletter import DeadLetterWriter
from shared.mongo.client import Document
from shared.topics import topic_name

log = logging.getLogger(__name__)


class Finishing:
    """Ends deliveries with their outcome."""

    def __init__(
        self,
        *,
        settler: Settler,
        dead_letters: DeadLetterWriter,
        clock: Clock,
        topic_prefix: str,
        consumer_group: str,
    ) -> None:
        self._settler = settler
        self._dead_letters = dead_letters
        self._clock = clock
        self._topic_prefix = topic_prefix
        self._consumer_group = consumer_group

    async def finish(self, record: Document, envelope: Envelope, outcome: Outcome) -> None:
        now = self._clock.now()
        # Codes and fixed wording only, also for an outcome rebuilt from an attempt stored
        # before delivery errors were (``delivery_errors.shown``).
        error = shown(redacted_for(record, outcome.error)) or "unknown error"
        if not outcome.delivered and outcome.reason != SMS_DISABLED_REASON:
            # Before settling: a crash in between re-runs this, never skips it.
            await self._dead_letter(record, envelope, outcome, error)
        result = await self._settler.settle(settlement(record, envelope, outcome, error, now))
        if result.settled:
            self._log_outcome(record, outcome, error, result.paused)

    async def _dead_letter(
        self, record: Document, envelope: Envelope, outcome: Outcome, error: str
    ) -> None:
        extra = {
            "notification_id": str(record["_id"]),
            "channel": str(record["channel"]),
            "recipient_kind": str(record["recipient_kind"]),
            "recipient_ref": str(record["recipient_ref"]),
        }
        if record.get("subscription_id"):
            extra["subscription_id"] = str(record["subscription_id"])
        await self._dead_letters.write_message(
            original_topic=topic_name(self._topic_prefix, REGISTRY[envelope.type].TOPIC),
            key=envelope.subject,
            value=envelope.to_bytes(),
            error=DeliveryError(error, message_in_clear=True),  # codes only (shown)
            kind="delivery_failed",
            attempts=outcome.attempts,
            consumer_group=self._consumer_group,
            extra=extra,
        )

    def _log_outcome(self, record: Document, outcome: Outcome, error: str, paused: bool) -> None:
        fields = {
            "notification_id": record["_id"],
            "dossier": record["dossier_code"],
            "channel": record["channel"],
            "recipient": record["recipient_ref"],  # a keyed hash for applicants
            "attempts": outcome.attempts,
        }
        if outcome.delivered:
            log.info("notification sent", extra=fields)
            return
        log.warning("notification failed", extra={**fields, "error": error})
        if paused:
            log.warning(
                "subscription paused after repeated failures",
                extra={"subscription_id": record["subscription_id"]},
            )
