"""The dispatcher: sends recorded notifications and records what happened.

It claims pending records atomically (pending -> sending with a lease, renewed while
the delivery is in hand, so two instances never send the same one and a crashed
sender's claim lapses; a restarted instance takes back its earlier life's claims at
once), or takes those the consumer recorded already claimed for it (``handoff``,
handed over at the commit), builds the message (a rendered template, or the signed
event for a webhook), sends it with bounded retries (its claim confirmed before each
retry), stores every attempt as it ends (``attempts``: those ending while an attempt
write is in flight share the next one), then, in one unit of work shared by the
deliveries that end together (``settling``), stores the outcome and queues
``notification.sent.v1`` / ``notification.failed.v1``.
A delivery whose attempts are spent also goes to the dead-letter topic and counts
toward pausing its subscription. A stopping dispatcher ends its deliveries within a stop
budget (``stopping``): a send in flight gets a grace, what went out is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from opentelemetry import trace

from notification.attempts import AttemptLog
from notification.channels import (
    ClosableChannel,
    DeliveryError,
    MessageChannel,
    OutgoingMessage,
)
from notification.config import DispatchSettings
from notification.handoff import HandOffs
from notification.privacy import redact
from notification.retry import (
    Attempt,
    Outcome,
    RetryPolicy,
    SendCutOff,
    Sleep,
    send_with_retries,
)
from notification.secretbox import SecretBox
from notification.settling import Settler, settlement
from notification.stopping import Abandoned, StopBudget
from notification.store import (
    HELD,
    PENDING,
    SKIPPED,
    NotificationStore,
)
from notification.templates import Renderer
from shared.clock import Clock
from shared.envelope import Envelope
from shared.events.dossier import Channel, Language
from shared.events.registry import REGISTRY, parse_data
from shared.kafka.deadletter import DeadLetterWriter
from shared.mongo.client import Document
from shared.telemetry import extract_trace_context
from shared.topics import topic_name
from shared.unit_of_work import UnitsOfWork

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)


class Dispatcher:
    """Sends what handlers recorded; one per service instance, several may run."""

    def __init__(
        self,
        *,
        store: NotificationStore,
        channels: Mapping[Channel, MessageChannel],
        renderer: Renderer,
        units: UnitsOfWork,
        dead_letters: DeadLetterWriter,
        clock: Clock,
        retry: RetryPolicy,
        settings: DispatchSettings,
        pause_after: int,
        topic_prefix: str,
        consumer_group: str,
        instance: str = "dispatcher",
        sleep: Sleep = asyncio.sleep,
        secrets: SecretBox | None = None,
    ) -> None:
        self._instance = instance
        self._secrets = secrets
        self._store = store
        self._channels = channels
        self._renderer = renderer
        self._units = units
        self._dead_letters = dead_letters
        self._clock = clock
        self._retry = retry
        self._settings = settings
        self._pause_after = pause_after
        self._topic_prefix = topic_prefix
        self._consumer_group = consumer_group
        self._lease = timedelta(seconds=settings.lease_s)
        self._wake = asyncio.Event()
        self._scan = True  # claim pending records on the next round
        self._stop = StopBudget(
            grace_s=settings.shutdown_grace_s, budget_s=settings.stop_budget_s, sleep=sleep
        )
        self._in_flight: dict[asyncio.Task[None], str] = {}  # the running loop's deliveries
        self._held_check_at = 0.0  # loop time of the next release of held deliveries
        self._unrecorded: set[str] = set()  # deliveries whose last attempt is being stored
        self.hand_offs = HandOffs(
            instance=instance,
            lease=self._lease,
            room=lambda: settings.batch_size - len(self._in_flight),
            ready=self._wake.set,
        )
        self._settler = Settler(
            store=store,
            units=units,
            pause_after=pause_after,
            until_stored=self._stop.until_stored,
            linger_s=settings.settle_linger_s,
        )
        self._attempts = AttemptLog(
            store=store,
            until_stored=self._stop.until_stored,
            lease_until=lambda: self._clock.now() + self._lease,
        )

    @property
    def name(self) -> str:
        return "notification-dispatcher"

    async def start(self) -> None:
        return None  # claims left by a crash are taken back in ``run``, retried on outages

    async def close(self) -> None:
        """Close the channels' connections (the email relay's)."""
        for channel in self._channels.values():
            if isinstance(channel, ClosableChannel):
                await channel.close()

    def wake(self) -> None:
        """Scan now (called after a transaction that recorded notifications)."""
        self._scan = True
        self._wake.set()

    def hand_over(self) -> None:
        """A consumer batch ended: claims it issued and never committed are void (what it
        committed was handed over at each commit)."""
        self.hand_offs.batch_done()

    def stop(self) -> None:
        """Claim nothing more and end the deliveries in hand within the stop budget
        (``stopping``), which counts from the first call."""
        self._stop.ask()
        self._wake.set()

    async def dispatch_once(self) -> int:
        """Claim up to a batch, deliver it concurrently, and return how many were claimed."""
        in_flight: dict[asyncio.Task[None], str] = {}
        started, _ = await self._claim_and_start(self._settings.batch_size, in_flight)
        await asyncio.gather(*in_flight)
        return started

    async def recover(self) -> int:
        """Take back what this instance had claimed when it last died (before claiming)."""
        released = await self._store.release_claims_of(self._instance)
        if released:
            log.warning(
                "recovered notifications left in sending by a crash",
                extra={"count": released, "instance": self._instance},
            )
        return released

    async def run(self) -> None:
        """Deliver until stopped, keeping up to ``batch_size`` deliveries in flight."""
        in_flight = self._in_flight
        await self._recover_until_done()
        self.hand_offs.open()
        self._held_check_at = (
            asyncio.get_running_loop().time() + self._settings.held_check_interval_s
        )
        keeping = asyncio.create_task(self._keep_claims(in_flight), name="notification-leases")
        try:
            while not self._stop.asked:
                self._wake.clear()  # from here on, a wake-up means new records or a free slot
                scan, self._scan = self._scan, False
                more = False
                try:
                    self._start_handed(in_flight)
                    scan = await self._release_held_when_due() or scan
                    if scan:
                        _, more = await self._claim_and_start(self._room(), in_flight)
                except Exception as exc:  # store outage: try again after a pause
                    log.warning("dispatcher claim failed", extra={"error": repr(exc)})
                    self._scan = True
                self._scan = self._scan or more
                if not more or self._room() <= 0:
                    await self._wait()
        finally:
            # The deliveries in hand end within the stop budget (``stopping``): a send in
            # flight gets the grace, what went out is stored, the rest is given back.
            # Their leases are renewed until then: none may lapse while it ends.
            self._stop.ask()  # also when cancelled without a stop
            await self._give_back_unstarted()
            if in_flight:
                await asyncio.wait(set(in_flight), timeout=self._stop.left_s())
            keeping.cancel()
            for task in list(in_flight):
                task.cancel()  # the budget is spent: what is left is lost as by kill -9
            await asyncio.gather(keeping, *in_flight, return_exceptions=True)
            await self._attempts.close(self._stop.left_s() or 0.0)
            await self._settler.close(self._stop.left_s() or 0.0)

    async def _release_held_when_due(self) -> bool:
        """Release the deliveries still held for active subscriptions, once per
        ``held_check_interval_s`` (``NotificationStore.release_held_of_active``); whether
        any was (then they are claimed at once)."""
        now = asyncio.get_running_loop().time()
        if now < self._held_check_at:
            return False
        self._held_check_at = now + self._settings.held_check_interval_s
        released = await self._store.release_held_of_active(self._clock.now())
        if released:
            log.warning(
                "released deliveries held for subscriptions already resumed",
                extra={"count": released},
            )
        return released > 0

    def _room(self) -> int:
        """Free delivery slots, those promised to the consumer's hand-offs excluded."""
        return self._settings.batch_size - len(self._in_flight) - self.hand_offs.reserved

    def _start_handed(self, in_flight: dict[asyncio.Task[None], str]) -> None:
        """Start the deliveries the consumer recorded claimed for this dispatcher, as its
        transactions wrote them (handed over once committed: no read)."""
        for record in self.hand_offs.take():
            self._start(record, record["claimed_at"], in_flight)

    async def _give_back_unstarted(self) -> None:
        """Claims handed over but never started go back to pending for any sender."""
        claims = self.hand_offs.close()
        with contextlib.suppress(Exception):  # else they lapse with their lease
            await self._stop.bounded(lambda: self._store.give_back(claims))

    async def _recover_until_done(self) -> None:
        while not self._stop.asked:
            try:
                await self.recover()
                return
            except Exception as exc:  # store outage at start: try again
                log.warning("dispatcher recovery failed", extra={"error": repr(exc)})
                await self._idle()

    async def _keep_claims(self, in_flight: Mapping[asyncio.Task[None], str]) -> None:
        """Renew the leases of deliveries in hand (slow receivers, long backoffs)."""
        period = self._lease.total_seconds() / 3
        while True:
            await asyncio.sleep(period)
            try:
                await self._store.extend_claims(
                    list(in_flight.values()), self._clock.now() + self._lease
                )
            except Exception as exc:  # store outage: the next renewal may still be in time
                log.warning("could not renew delivery claims", extra={"error": repr(exc)})

    async def _idle(self) -> None:
        self._wake.clear()
        await self._wait()

    async def _wait(self) -> None:
        """Until woken (perhaps already) or the poll interval has passed (then scan)."""
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=self._settings.poll_interval_s)
        except TimeoutError:
            self._scan = True

    async def _claim_and_start(
        self, limit: int, in_flight: dict[asyncio.Task[None], str]
    ) -> tuple[int, bool]:
        """Claim up to ``limit`` records, starting each delivery the moment it is claimed;
        how many, and whether more may be waiting (the last claim was a full one).

        A claim is in hand (renewed, never taken back by this sender) from then on: when
        the store is slow, claiming more before starting can outlast the first claims'
        leases, and this sender would take them again and send them twice.
        """
        started, more = 0, True
        while more and started < limit:
            claimed_at = self._clock.now()
            claimed = await self._store.claim_batch(
                claimed_at,
                self._lease,
                f"{self._instance}/{uuid.uuid4()}",
                self._instance,
                limit - started,
                in_hand=set(in_flight.values()),
            )
            for record in claimed.records:
                self._start(record, claimed_at, in_flight)
            started += len(claimed.records)
            # A full batch found but none of it taken (another sender was quicker): the
            # next wake-up or poll looks again, never a tight loop.
            more = claimed.more and bool(claimed.records)
        return started, more

    def _start(
        self, record: Document, claimed_at: datetime, in_flight: dict[asyncio.Task[None], str]
    ) -> None:
        """Deliver a claimed record in a task of its own, in hand until it ends."""
        full = self._settings.batch_size

        def finished(task: asyncio.Task[None]) -> None:
            in_flight.pop(task, None)
            if len(in_flight) == full - 1:
                self.wake()  # a slot is free where none was

        task = asyncio.create_task(self._deliver(record, claimed_at), name="notification-delivery")
        in_flight[task] = record["claim"]
        task.add_done_callback(finished)

    async def _deliver(self, record: Document, claimed_at: datetime) -> None:
        try:
            with self._delivery_span(record), self._settler.in_hand():
                await self._deliver_claimed(record, claimed_at)
        except asyncio.CancelledError:
            # Past the stop budget: give the record back with its attempts, unless one
            # is still being stored (given back first, it would be stored on nothing).
            if record["_id"] not in self._unrecorded:
                await asyncio.shield(self._release(record))
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

    async def _release(self, record: Document) -> None:
        """Give the record back (its attempts, the one that went out included, are on it)."""
        with contextlib.suppress(Exception):  # else its claim lapses, or is taken back
            await self._stop.until_stored(
                lambda: self._store.settle(record["_id"], record["claim"], PENDING, {})
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
        current = await self._still_ours(record, claimed_at)
        if current is None:
            return
        envelope = Envelope.model_validate_json(record["envelope"])  # parsed once
        attempts: list[Document] = current.get("attempts") or []
        if any(a["outcome"] == "ok" for a in attempts):  # sent before a crash: just finish
            await self._finish(record, envelope, Outcome(True, len(attempts)))
            return
        try:
            outcome = await self._try_channel(record, envelope, subscription, len(attempts))
        except Abandoned as abandoned:
            if abandoned.give_back:
                await self._release(record)
            return
        if not outcome.delivered and outcome.error == "no attempts left" and attempts:
            outcome = Outcome(False, outcome.attempts, attempts[-1].get("error"))
        await self._finish(record, envelope, outcome)

    async def _try_channel(
        self, record: Document, envelope: Envelope, subscription: Document | None, made: int
    ) -> Outcome:
        """Build the message and send it with retries (``made`` attempts were made before),
        storing each attempt as it ends; ``Abandoned`` if it ends without an outcome."""
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
            await self._confirm_between_attempts(record)

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

    async def _still_ours(self, record: Document, claimed_at: datetime) -> Document | None:
        """The record as it stands now, or None if this sender's claim has lapsed.

        A claim younger than a renewal period cannot have lapsed. An older one may have,
        if the store was slow to answer: then another sender owns the record, and
        sending it here would send it twice.
        """
        if self._clock.now() - claimed_at < self._lease / 3:
            return record
        current = await self._store.confirm_claim(
            record["_id"], record["claim"], self._clock.now() + self._lease
        )
        if current is None:
            log.warning(
                "claim lapsed before sending; another sender has the notification",
                extra={"notification_id": record["_id"]},
            )
        return current

    async def _confirm_between_attempts(self, record: Document) -> None:
        """Renew the claim before a retry, or give the delivery up if it was lost.

        A backoff lasts up to ``RETRY_MAX_S`` and a store outage may keep the lease from
        being renewed meanwhile: once it lapsed another sender may own the record, and
        retrying here would send the message a second time.
        """
        current = await self._stop.until_stored(
            lambda: self._store.confirm_claim(
                record["_id"], record["claim"], self._clock.now() + self._lease
            )
        )
        if current is None:
            log.warning(
                "claim lapsed between attempts; another sender has the notification",
                extra={"notification_id": record["_id"]},
            )
            raise Abandoned("claim lapsed between attempts", give_back=False)

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

    def _redacted(self, record: Document, text: str | None) -> str | None:
        if text is None or record["recipient_kind"] != "applicant":
            return text
        return redact(text, [record["address"]])

    def _attempt_fields(self, record: Document, attempt: Attempt) -> Document:
        return {
            "number": attempt.number,
            "at": attempt.at,
            "outcome": "ok" if attempt.ok else ("unknown" if attempt.unknown else "failed"),
            "error": self._redacted(record, attempt.error),
        }

    async def _record_attempt(self, record: Document, attempt: Attempt) -> None:
        # A message that went out must be recorded, or the next claimant sends it again.
        await self._attempts.record(record["_id"], self._attempt_fields(record, attempt))

    async def _finish(self, record: Document, envelope: Envelope, outcome: Outcome) -> None:
        now = self._clock.now()
        error = self._redacted(record, outcome.error) or "unknown error"
        if not outcome.delivered:
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
            error=DeliveryError(error),
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
