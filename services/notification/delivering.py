"""One claimed delivery, from its claim to its end.

A webhook delivery whose subscription was deleted is skipped; one whose subscription is
not active is held. A claim that may have lapsed is confirmed first (``claims``); a
message that went out before a crash (an ``ok`` attempt on record) is only finished;
otherwise it is sent (``sending``) and finished (``finishing``). A delivery ended by the
stop without an outcome is given back; one cancelled past the stop budget too, unless an
attempt of it is being stored. Each runs in a CLIENT span in the trace of the event that
asked for it.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractContextManager
from datetime import datetime

from opentelemetry import trace

from notification.claims import Claims
from notification.delivery_store import HELD, SKIPPED
from notification.finishing import Finishing
from notification.retry import Outcome
from notification.sending import Sending
from notification.settling import Settler
from notification.sms import stored_reason
from notification.stopping import Abandoned, StopBudget
from notification.store import NotificationStore
from shared.envelope import Envelope
from shared.mongo.client import Document
from shared.telemetry.messaging import extract_trace_context

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)


class Delivering:
    """Carries claimed deliveries through: checked, sent, finished."""

    def __init__(
        self,
        *,
        store: NotificationStore,
        claims: Claims,
        sending: Sending,
        finishing: Finishing,
        settler: Settler,
        stop: StopBudget,
        unrecorded: set[str],
    ) -> None:
        self._store = store
        self._claims = claims
        self._sending = sending
        self._finishing = finishing
        self._settler = settler
        self._stop = stop
        self._unrecorded = unrecorded  # deliveries whose last attempt is being stored

    async def deliver(self, record: Document, claimed_at: datetime) -> None:
        """Deliver a claimed record to its end; a crash leaves its claim to lapse."""
        try:
            with self._delivery_span(record), self._settler.in_hand():
                await self._deliver_claimed(record, claimed_at)
        except asyncio.CancelledError:
            # Past the stop budget: give the record back with its attempts, unless one
            # is still being stored (given back first, it would be stored on nothing).
            if record["_id"] not in self._unrecorded:
                await asyncio.shield(self._claims.release(record))
            raise
        except Exception:
            # Its claim lapses, or this instance's next life takes it back; if the attempt
            # of a message that went out was not stored, the message is sent again.
            log.exception(
                "delivery crashed; its claim will lapse and be retried",
                extra={
                    "notification_id": record["_id"],
                    "attempt_unrecorded": record["_id"] in self._unrecorded,
                    "stopping": self._stop.asked,
                },
            )
        finally:
            self._unrecorded.discard(record["_id"])

    def _delivery_span(self, record: Document) -> AbstractContextManager[trace.Span]:
        """``deliver <channel>``: a CLIENT span in the trace of the event that asked for it."""
        headers = [(str(k), str(v).encode()) for k, v in record.get("trace_headers") or []]
        return tracer.start_as_current_span(
            f"deliver {record['channel']}",
            context=extract_trace_context(headers),
            kind=trace.SpanKind.CLIENT,
            attributes={
                "dossier.code": record["dossier_code"],
                "notification.id": record["_id"],
                "notification.channel": record["channel"],
                "notification.recipient_kind": record["recipient_kind"],
            },
        )

    async def _deliver_claimed(self, record: Document, claimed_at: datetime) -> None:
        subscription: Document | None = None
        if record.get("subscription_id"):
            subscription = await self._store.subscription(record["subscription_id"])
            if subscription is None:
                await self._store.settle(
                    record["_id"], record["claim"], SKIPPED, {"error": "subscription deleted"}
                )
                return
            if subscription["status"] != "active":
                await self._store.settle(record["_id"], record["claim"], HELD, {})
                return
        current = await self._claims.still_ours(record, claimed_at)
        if current is None:
            return
        envelope = Envelope.model_validate_json(record["envelope"])  # parsed once
        attempts: list[Document] = current.get("attempts") or []
        if any(a["outcome"] == "ok" for a in attempts):  # sent before a crash: just finish
            await self._finishing.finish(record, envelope, Outcome(True, len(attempts)))
            return
        try:
            outcome = await self._sending.try_channel(record, envelope, subscription, len(attempts))
        except Abandoned as abandoned:
            if abandoned.give_back:
                await self._claims.release(record)
            return
        if not outcome.delivered and outcome.error == "no attempts left" and attempts:
            last = attempts[-1]  # the outcome as its last attempt, stored before a restart
            outcome = Outcome(False, outcome.attempts, last.get("error"), stored_reason(last))
        await self._finishing.finish(record, envelope, outcome)
