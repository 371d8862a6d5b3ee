"""One delivery's sends: the message built, sent through its channel with bounded retries
(the claim confirmed before each retry), every attempt stored as it ends.

The message is a rendered template (email, SMS) or the signed event (webhook, with the
subscription's secret opened). An attempt is stored before anything else happens to its
delivery (the next try, the outcome): a process killed after a send and before its
outcome is stored must not send it again (``attempts``). A stopping dispatcher starts no
send and ends a delivery between attempts, or one whose send it cut off, without an
outcome (``Abandoned``; ``stopping``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from notification.attempts import AttemptLog
from notification.channels import MessageChannel, OutgoingMessage
from notification.claims import Claims
from notification.delivery_errors import shown
from notification.privacy import redacted_for
from notification.retry import (
    Attempt,
    Outcome,
    RetryPolicy,
    SendCutOff,
    send_with_retries,
)
from notification.secretbox import SecretBox
from notification.stopping import Abandoned, StopBudget
from notification.templates import Renderer
from shared.clock import Clock
from shared.envelope import Envelope
from shared.events.dossier import Channel, Language
from shared.events.registry import parse_data
from shared.mongo.client import Document


class Sending:
    """Builds and sends claimed deliveries' messages, storing each attempt."""

    def __init__(
        self,
        *,
        channels: Mapping[Channel, MessageChannel],
        renderer: Renderer,
        secrets: SecretBox | None,
        retry: RetryPolicy,
        clock: Clock,
        stop: StopBudget,
        claims: Claims,
        attempts: AttemptLog,
        unrecorded: set[str],
    ) -> None:
        self._channels = channels
        self._renderer = renderer
        self._secrets = secrets
        self._retry = retry
        self._clock = clock
        self._stop = stop
        self._claims = claims
        self._attempts = attempts
        self._unrecorded = unrecorded  # deliveries whose last attempt is being stored

    async def try_channel(
        self,
        record: Document,
        envelope: Envelope,
        subscription: Document | None,
        made: int,
        recheck: Callable[[], Awaitable[None]] | None = None,
    ) -> Outcome:
        """Build the message and send it with retries (``made`` attempts were made before),
        storing each attempt as it ends; ``Abandoned`` if it ends without an outcome.

        ``recheck`` runs before each retry, once the claim is confirmed: what it raises
        ends the delivery (a webhook's subscription paused or deleted meanwhile)."""
        if self._stop.asked:
            raise Abandoned("stopping before the first send", give_back=True)
        try:
            message = self._message(record, envelope, subscription)
        except Exception as exc:  # a template or data problem: retrying cannot help
            error = f"cannot build message: {type(exc).__name__}: {exc}"
            await self._record_attempt(record, Attempt(made + 1, self._clock.now(), False, error))
            return Outcome(False, made + 1, error)
        channel = self._channels[Channel(record["channel"])]

        async def on_attempt(attempt: Attempt) -> None:
            # Stored before anything else (the next try, the outcome): a process killed
            # after a send and before its outcome is stored must not send it again.
            self._unrecorded.add(record["_id"])
            await self._record_attempt(record, attempt)
            self._unrecorded.discard(record["_id"])

        async def before_retry() -> None:
            if self._stop.asked:  # its attempts are on record: the next sender goes on
                raise Abandoned("stopping between attempts", give_back=True)
            await self._claims.confirm_between_attempts(record)
            if recheck is not None:
                await recheck()

        try:
            return await send_with_retries(
                lambda: self._stop.send(lambda: channel.send(message)),
                self._retry,
                now=self._clock.now,
                on_attempt=on_attempt,
                already_made=made,
                sleep=self._stop.pause,
                before_retry=before_retry,
            )
        except SendCutOff:  # stored as ``unknown``: the next sender sends it again
            raise Abandoned("send cut off by the stop", give_back=True) from None

    def _message(
        self, record: Document, envelope: Envelope, subscription: Document | None
    ) -> OutgoingMessage:
        channel = Channel(record["channel"])
        common: dict[str, Any] = {
            "notification_id": record["_id"],
            "channel": channel,
            "address": record["address"],
            "dossier_code": record["dossier_code"],
            "event_id": envelope.id,
            "event_type": envelope.type,
            "language": record.get("language"),
        }
        if channel is Channel.WEBHOOK:
            sealed = (subscription or {}).get("secret_sealed")
            secret = (
                self._secrets.open(sealed, record["subscription_id"])
                if (sealed and self._secrets)
                else None
            )
            return OutgoingMessage(**common, payload=envelope.to_bytes(), secret=secret)
        rendered = self._renderer.render(
            envelope,
            parse_data(envelope),
            language=Language(record.get("language") or Language.VI.value),
            recipient_name=record.get("recipient_name"),
        )
        if channel is Channel.SMS:
            return OutgoingMessage(**common, body=rendered.sms)
        return OutgoingMessage(**common, subject=rendered.subject, body=rendered.body)

    def _attempt_fields(self, record: Document, attempt: Attempt) -> Document:
        fields = {
            "number": attempt.number,
            "at": attempt.at,
            "outcome": "ok" if attempt.ok else ("unknown" if attempt.unknown else "failed"),
            "error": shown(redacted_for(record, attempt.error)),
        }
        if attempt.reason is not None:  # rebuilt with the outcome after a restart
            fields["reason"] = attempt.reason
        return fields

    async def _record_attempt(self, record: Document, attempt: Attempt) -> None:
        # A message that went out must be recorded, or the next claimant sends it again.
        await self._attempts.record(record["_id"], self._attempt_fields(record, attempt))
