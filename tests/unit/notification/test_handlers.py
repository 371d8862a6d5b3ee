"""Handlers with a recording store: contacts kept, one pending record per recipient and channel,
applicant facts that arrive before the contact wait for it, and a batch of events handled in
order with one query and one write per collection."""

from __future__ import annotations

import copy
import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from notification.contacts import ContactBook
from notification.domain import UnitDirectory
from notification.handlers import Planning, build_registry, record_notifications
from notification.handoff import WakeAfterBatch
from notification.live_subscriptions import LiveSubscriptions
from notification.subscription_rules import SubscriptionStatus, SubscriptionView

from shared.clock import ManualClock
from shared.envelope import Envelope
from shared.events.applicant import ContactDetails
from shared.events.dossier import Channel, DossierState
from shared.events.erasure import PersonalDataErased
from shared.events.notification import NotificationSent
from shared.events.registry import EventData
from shared.testing import detached_unit_of_work
from tests.samples import (
    AT,
    DISTRICT_LAND,
    contact,
    done,
    envelope_of,
    received,
    received_v1,
    registered,
    result_ready,
    supplement_requested,
    transfer_accepted,
    transfer_requested,
)

CODE = "001.21.31.H59-261126-0001"
DIRECTORY = UnitDirectory.model_validate(
    {"schema": 1, "version": "t", "default": {"email": "desk@units.example"}}
)


class RecordingStore:
    """Keeps what the handler wrote, and counts its round trips; the session is never used."""

    def __init__(self, subscriptions: list[SubscriptionView] | None = None) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.records: list[dict[str, Any]] = []
        self.subscriptions = subscriptions or []
        self.calls: list[str] = []

    def contact_of(self, code: str) -> ContactDetails | None:
        return ContactBook(self.documents).contact(code)

    def waiting(self, code: str) -> list[dict[str, Any]]:
        return list(self.documents.get(code, {}).get("waiting", []))

    async def contact_book(self, codes: set[str], session: Any) -> ContactBook:
        if codes:  # as the store: no query for no dossier
            self.calls.append("contacts:find")
        return ContactBook(copy.deepcopy({c: d for c, d in self.documents.items() if c in codes}))

    async def save_contacts(self, book: ContactBook, session: Any) -> None:
        if book.updates:
            self.calls.append("contacts:update")
            self.documents.update({code: book.documents[code] for code, _ in book.updates})

    async def live_subscriptions(self, session: Any) -> list[SubscriptionView]:
        self.calls.append("subscriptions:find")
        return self.subscriptions

    async def record_all(self, docs: list[dict[str, Any]], session: Any) -> set[str]:
        """As the store: each record unless one with its key exists; the ids inserted."""
        if not docs:
            return set()
        self.calls.append("notifications:update")
        keys = {_key(record) for record in self.records}
        fresh = [doc for doc in docs if _key(doc) not in keys]
        self.records.extend(fresh)
        return {doc["_id"] for doc in fresh}


def _key(record: dict[str, Any]) -> tuple[str, str, str]:
    return (record["source_event_id"], record["recipient_ref"], record["channel"])


RETENTION = timedelta(days=30)
RECORD_RETENTION = timedelta(days=200)


def planning(store: RecordingStore) -> Planning:
    return Planning(
        store=store,  # type: ignore[arg-type]
        directory=DIRECTORY,
        privacy_key="k",
        clock=ManualClock(AT),
        personal_data_retention=RETENTION,
        record_retention=RECORD_RETENTION,
    )


async def handle(store: RecordingStore, data: EventData, envelope: Envelope | None = None) -> None:
    event = envelope or envelope_of(data)
    await record_notifications(
        [(event, data)], detached_unit_of_work(event), planning=planning(store)
    )


async def handle_batch(store: RecordingStore, *events: EventData) -> list[Envelope]:
    """Consecutive events of one fetched batch, in one call (as the consumer runner does)."""
    envelopes = [envelope_of(data) for data in events]
    batch = list(zip(envelopes, events, strict=True))
    await record_notifications(batch, detached_unit_of_work(), planning=planning(store))
    return envelopes


async def test_contact_first_then_reception_records_one_pending_per_channel() -> None:
    store = RecordingStore()
    await handle(store, registered(CODE, contact()))
    assert store.records == []  # a registration alone tells nobody anything
    stored = store.contact_of(CODE)
    assert stored is not None and stored.email == "an.nguyen@example.vn"
    assert store.documents[CODE]["expires_at"] == AT + RETENTION
    await handle(store, received(CODE))
    assert [(r["channel"], r["status"], r["template"]) for r in store.records] == [
        ("email", "pending", "dossier.received.v2"),
        ("sms", "pending", "dossier.received.v2"),
    ]
    record = store.records[0]
    assert record["dossier_code"] == CODE and record["attempts"] == []
    assert record["recipient_ref"].startswith("applicant:") and record["display"] == "a***@e***.vn"
    assert record["expires_at"] == AT + RETENTION  # the address goes with the contact


async def test_reception_before_the_contact_waits_and_is_told_when_it_comes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="notification")
    store = RecordingStore()
    reception = envelope_of(received(CODE))
    await handle(store, received(CODE), reception)
    assert store.records == [] and len(store.waiting(CODE)) == 1
    assert "contact not registered yet" in caplog.text

    await handle(store, registered(CODE, contact()))
    assert [(r["source_event_id"], r["template"], r["channel"]) for r in store.records] == [
        (reception.id, "dossier.received.v2", "email"),
        (reception.id, "dossier.received.v2", "sms"),
    ]
    assert store.waiting(CODE) == []


async def test_a_corrected_contact_registered_again_is_kept_over_the_first() -> None:
    """Intake registers the whole contact again when it corrects it: later facts go to it."""
    store = RecordingStore()
    await handle(store, registered(CODE, contact(email="sai@example.vn")))
    await handle(store, received(CODE))
    corrected = contact(email="dung@example.vn", channels=(Channel.EMAIL,))
    later = registered(CODE, corrected).model_copy(update={"registered_at": AT + timedelta(days=1)})
    await handle(store, later)
    assert store.contact_of(CODE) == corrected
    assert store.documents[CODE]["registered_at"] == AT + timedelta(days=1)
    await handle(store, supplement_requested(CODE))
    told = [(r["template"], r["channel"], r["address"]) for r in store.records]
    assert told == [
        ("dossier.received.v2", "email", "sai@example.vn"),
        ("dossier.received.v2", "sms", "0901234567"),
        ("dossier.supplement.requested.v1", "email", "dung@example.vn"),
    ]


async def test_an_older_registration_after_a_correction_changes_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A first registration handled after the correction (a dead letter put back, say)
    does not bring the wrong address back."""
    caplog.set_level(logging.INFO, logger="notification")
    store = RecordingStore()
    corrected = contact(email="dung@example.vn")
    later = registered(CODE, corrected).model_copy(update={"registered_at": AT + timedelta(days=1)})
    await handle(store, later)
    await handle(store, registered(CODE, contact(email="sai@example.vn")))
    assert store.contact_of(CODE) == corrected
    assert "older contact registration ignored" in caplog.text
    assert store.records == []


async def test_later_steps_find_the_contact_by_dossier_code() -> None:
    store = RecordingStore()
    await handle(store, registered(CODE, contact(channels=())))
    await handle(store, received(CODE))
    await handle(store, supplement_requested(CODE))
    assert [r["template"] for r in store.records] == [
        "dossier.received.v2",
        "dossier.supplement.requested.v1",
    ]


async def test_an_old_v1_fact_still_brings_its_contact() -> None:
    store = RecordingStore()
    await handle(store, received_v1(CODE, contact(channels=())))
    await handle(store, result_ready(CODE))
    stored = store.contact_of(CODE)
    assert stored is not None and stored.name == "Nguyễn Văn An"
    assert [r["source_event_type"] for r in store.records] == [
        "dossier.received.v1",
        "dossier.result.ready.v1",
    ]


async def test_units_and_paused_subscribers_are_recorded_too() -> None:
    paused = SubscriptionView(
        id="s1",
        event_types=("dossier.transfer.requested.v1",),
        units=(DISTRICT_LAND,),
        status=SubscriptionStatus.PAUSED,
        url="https://a.example/h",
    )
    store = RecordingStore([paused])
    await handle(store, transfer_requested(CODE))
    assert [(r["recipient_kind"], r["channel"], r["status"]) for r in store.records] == [
        ("unit", "email", "pending"),
        ("subscriber", "webhook", "held"),
    ]
    # They keep the event (identity hash, reasons, notes): they expire too, on their own clock.
    assert [r["expires_at"] for r in store.records] == [AT + RECORD_RETENTION] * 2


async def test_facts_nobody_needs_record_nothing() -> None:
    store = RecordingStore()
    await handle(store, done(CODE))
    assert store.records == []


OTHER = "001.21.31.H59-261126-0002"


async def test_a_batch_keeps_each_dossiers_order_with_one_query_and_one_write_each() -> None:
    paused = SubscriptionView(
        id="s1",
        event_types=("dossier.received.v2",),
        status=SubscriptionStatus.PAUSED,
        url="https://a.example/h",
    )
    store = RecordingStore([paused])
    # CODE's reception comes before its contact, OTHER's after: both applicants are told.
    reception, *_ = await handle_batch(
        store,
        received(CODE),
        registered(OTHER, contact(email="b@example.vn", channels=())),
        registered(CODE, contact(channels=())),
        received(OTHER),
        transfer_requested(CODE),
        done(OTHER),
    )
    assert [(r["dossier_code"], r["recipient_kind"], r["template"]) for r in store.records] == [
        (CODE, "subscriber", None),  # the reception's webhook, held for the paused subscriber
        (CODE, "applicant", "dossier.received.v2"),  # released by the contact
        (OTHER, "applicant", "dossier.received.v2"),
        (OTHER, "subscriber", None),
        (CODE, "unit", "dossier.transfer.requested.v1"),
    ]
    assert store.records[1]["source_event_id"] == reception.id
    assert store.waiting(CODE) == [] and store.waiting(OTHER) == []
    assert store.calls == [
        "contacts:find",
        "subscriptions:find",
        "contacts:update",
        "notifications:update",
    ]


async def test_a_fact_waiting_since_an_earlier_batch_is_told_when_the_contact_comes() -> None:
    store = RecordingStore()
    [reception] = await handle_batch(store, received(CODE))
    await handle_batch(store, result_ready(CODE))  # still no contact: waits too
    assert len(store.waiting(CODE)) == 2 and store.records == []

    await handle_batch(store, registered(CODE, contact(channels=())), done(CODE))
    assert [(r["source_event_id"] == reception.id, r["template"]) for r in store.records] == [
        (True, "dossier.received.v2"),
        (False, "dossier.result.ready.v1"),
    ]
    assert store.waiting(CODE) == []


async def test_a_batch_of_contacts_alone_reads_no_subscriptions() -> None:
    store = RecordingStore()
    await handle_batch(store, registered(CODE, contact()), registered(OTHER, contact()))
    assert store.calls == ["contacts:find", "contacts:update"]
    assert store.contact_of(CODE) is not None and store.contact_of(OTHER) is not None


def webhook_outcome(code: str) -> NotificationSent:
    return NotificationSent(
        notification_id="n1",
        dossier_code=code,
        source_event_id="e1",
        source_event_type="dossier.received.v2",
        channel=Channel.WEBHOOK,
        recipient_kind="subscriber",
        recipient_ref="subscription:s1",
        attempts=1,
        sent_at=AT,
    )


async def test_outcomes_of_webhook_deliveries_alone_read_no_subscriptions() -> None:
    everything = SubscriptionView(
        id="s1",
        event_types=("notification.sent.v1",),
        status=SubscriptionStatus.ACTIVE,
        url="https://a.example/h",
    )
    store = RecordingStore([everything])
    await handle_batch(store, webhook_outcome(CODE), webhook_outcome(OTHER))
    assert store.calls == [] and store.records == []  # never forwarded: nothing to read


async def test_the_dispatcher_is_woken_after_a_batch_that_recorded_something_only() -> None:
    wakes: list[str] = []
    signal = WakeAfterBatch(lambda: wakes.append("wake"))
    store = RecordingStore()
    waking = replace(planning(store), on_recorded=signal.recorded)
    await record_notifications(
        [(envelope_of(done(CODE)), done(CODE))], detached_unit_of_work(), planning=waking
    )
    signal.after_batch()
    assert wakes == []  # nothing to send: no claim query for the dispatcher
    fact = transfer_requested(CODE)
    await record_notifications(
        [(envelope_of(fact), fact)], detached_unit_of_work(), planning=waking
    )
    signal.after_batch()
    signal.after_batch()
    assert wakes == ["wake"] and len(store.records) == 1


def unit_outcome(code: str) -> NotificationSent:
    return webhook_outcome(code).model_copy(
        update={"channel": Channel.EMAIL, "recipient_kind": "unit", "recipient_ref": "unit:x"}
    )


async def test_the_screen_passes_over_facts_nobody_is_told_of() -> None:
    store = RecordingStore()
    screen = LiveSubscriptions(store)  # type: ignore[arg-type]
    facts: list[EventData] = [
        done(CODE),
        transfer_accepted(CODE),
        unit_outcome(CODE),
        webhook_outcome(CODE),
        received(CODE),  # the applicant is told (or it waits for the contact)
        transfer_requested(CODE),  # the unit is told
        registered(CODE, contact()),  # kept
    ]
    wanted = await screen.screen([(envelope_of(fact), fact) for fact in facts])
    assert wanted == [False, False, False, False, True, True, True]
    assert store.calls == ["subscriptions:find"]  # once for the run, outside its transaction


async def test_a_subscriber_keeps_its_facts_and_the_handler_reuses_the_screens_reading() -> None:
    outcomes = SubscriptionView(
        id="s1",
        event_types=("notification.sent.v1", "dossier.done.v1"),
        status=SubscriptionStatus.ACTIVE,
        url="https://a.example/h",
    )
    store = RecordingStore([outcomes])
    screen = LiveSubscriptions(store)  # type: ignore[arg-type]
    facts: list[EventData] = [done(CODE), unit_outcome(CODE), webhook_outcome(CODE)]
    batch = [(envelope_of(fact), fact) for fact in facts]
    assert await screen.screen(batch) == [True, True, False]  # never a webhook's own outcome

    screened = replace(planning(store), subscriptions=screen)
    await record_notifications(batch[:2], detached_unit_of_work(), planning=screened)
    assert [r["source_event_type"] for r in store.records] == [
        "dossier.done.v1",
        "notification.sent.v1",
    ]
    assert store.calls == ["subscriptions:find", "notifications:update"]  # read once, by the screen
    later = envelope_of(done(OTHER))  # not screened (e.g. a redelivery handled alone): read again
    await record_notifications([(later, done(OTHER))], detached_unit_of_work(), planning=screened)
    assert store.calls.count("subscriptions:find") == 2


async def test_a_run_of_contacts_alone_is_screened_without_a_read() -> None:
    store = RecordingStore()
    screen = LiveSubscriptions(store)  # type: ignore[arg-type]
    fact = registered(CODE, contact())
    assert await screen.screen([(envelope_of(fact), fact)]) == [True]
    assert store.calls == []


def test_every_dossier_and_notification_fact_and_the_contact_have_a_handler() -> None:
    handlers = build_registry(planning(RecordingStore())).event_types
    assert {"dossier.received.v2", "dossier.received.v1", "notification.failed.v1"} <= set(handlers)
    assert "applicant.contact.registered.v1" in handlers
    assert not [t for t in handlers if t.startswith(("command.", "audit."))]


async def test_intakes_erasure_fact_is_recorded_for_its_subscribers_alone() -> None:
    """dossier.personal-data.erased.v1 tells neither the applicant nor a unit; an agency
    subscribed to it (for the receiving desk) gets it, one subscribed to others does not."""
    desk = "001.21.31.H59"
    wanted = SubscriptionView(
        id="s1",
        event_types=(PersonalDataErased.EVENT_TYPE,),
        units=(desk,),
        status=SubscriptionStatus.ACTIVE,
        url="https://a.example/h",
    )
    other = wanted.model_copy(update={"id": "s2", "event_types": ("dossier.received.v2",)})
    store = RecordingStore([wanted, other])
    await handle(store, registered(CODE, contact()))
    erased = PersonalDataErased(
        dossier_code=CODE,
        receiving_unit=desk,
        state=DossierState.DONE,
        closed_at=AT - timedelta(days=1826),
        erased_at=AT,
        retention_days=1825,
    )
    await handle(store, erased)
    assert [(r["recipient_kind"], r["recipient_ref"]) for r in store.records] == [
        ("subscriber", "subscription:s1")
    ]
