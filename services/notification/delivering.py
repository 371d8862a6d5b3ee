"""One claimed delivery, from its claim to its end.

A webhook delivery whose subscription was deleted is skipped; one whose subscription is
not active is held. Both are checked again before each retry: a delivery under way when
its subscription is paused makes no further attempt and is held with the attempts it
made (released by a resume, it goes on with those it has left); one whose subscription
is deleted meanwhile is skipped. A claim that may have lapsed is confirmed first (``claims``); a
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
from functools import partial

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
from notification.subscription_rules import SubscriptionStatus
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
            withheld = Withheld.of(subscription)
            if withheld is not None:
                await self._withhold(record, withheld)
                return
        current = await self._claims.still_ours(record, claimed_at)
        if current is None:
            return
        envelope = Envelope.model_validate_json(record["envelope"])  # parsed once
        attempts: list[Document] = current.get("attempts") or []
        if any(a["outcome"] == "ok" for a in attempts):  # sent before a crash: just finish
            await self._finishing.finish(record, envelope, Outcome(True, len(attempts)))
            return
        recheck = partial(self._subscription_still_wants, record) if subscription else None
        try:
            outcome = await self._sending.try_channel(
                record, envelope, subscription, len(attempts), recheck
            )
        except Abandoned as abandoned:
            if abandoned.give_back:
                await self._claims.release(record)
            return
        except Withheld as withheld:  # its attempts are on record: held ones go on later
            await self._withhold(record, withheld)
            return
        if not outcome.delivered and outcome.error == "no attempts left" and attempts:
            last = attempts[-1]  # the outcome as its last attempt, stored before a restart
            outcome = Outcome(False, outcome.attempts, last.get("error"), stored_reason(last))
        await self._finishing.finish(record, envelope, outcome)

    async def _subscription_still_wants(self, record: Document) -> None:
        """Before a retry: ``Withheld`` if the subscription was paused or deleted since
        the delivery started (no further attempt while it is paused, none once deleted)."""
        subscription = await self._stop.until_stored(
            lambda: self._store.subscription(record["subscription_id"])
        )
        withheld = Withheld.of(subscription)
        if withheld is not None:
            log.info(
                "delivery withheld between attempts",
                extra={
                    "notification_id": record["_id"],
                    "subscription_id": record["subscription_id"],
                    "status": withheld.status,
                },
            )
            raise withheld

    async def _withhold(self, record: Document, withheld: Withheld) -> None:
        """Settle the delivery ``held`` or ``skipped``, with the attempts it made."""
        await self._store.settle(record["_id"], record["claim"], withheld.status, withheld.fields)


class Withheld(Exception):
    """A webhook delivery its subscription no longer takes: ``held`` while the
    subscription is paused (a resume releases it, to go on with the attempts it has
    left), ``skipped`` once it is deleted."""

    def __init__(self, status: str, fields: Document) -> None:
        super().__init__(status)
        self.status = status
        self.fields = fields

    @classmethod
    def of(cls, subscription: Document | None) -> Withheld | None:
        """Why a delivery for this subscription (None: deleted) must not be sent now."""
        if subscription is None:
            return cls(SKIPPED, {"error": "subscription deleted"})
        if subscription["status"] != SubscriptionStatus.ACTIVE.value:
            return cls(HELD, {})
        return None
