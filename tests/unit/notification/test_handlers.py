"""Handlers with a recording store: contacts kept, one pending record per recipient and channel,
and applicant facts that arrive before the contact wait for it."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from notification.domain import SubscriptionStatus, SubscriptionView, UnitDirectory
from notification.handlers import Planning, build_registry, record_notifications

from shared.clock import ManualClock
from shared.envelope import Envelope
from shared.events.applicant import ContactDetails
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
    transfer_requested,
)

CODE = "001.21.31.H59-261126-0001"
DIRECTORY = UnitDirectory.model_validate(
    {"schema": 1, "version": "t", "default": {"email": "desk@units.example"}}
)


class RecordingStore:
    """Keeps what the handler wrote; the session is never used."""

    def __init__(self, subscriptions: list[SubscriptionView] | None = None) -> None:
        self.contacts: dict[str, ContactDetails] = {}
        self.expiry: dict[str, datetime] = {}
        self.waiting: dict[str, list[str]] = {}
        self.records: list[dict[str, Any]] = []
        self.subscriptions = subscriptions or []

    async def save_contact(
        self, code: str, contact: ContactDetails, now: datetime, expires_at: datetime, session: Any
    ) -> list[str]:
        self.contacts[code], self.expiry[code] = contact, expires_at
        return self.waiting.pop(code, [])

    async def contact(self, code: str, session: Any) -> ContactDetails | None:
        return self.contacts.get(code)

    async def wait_for_contact(
        self, code: str, envelope: str, event_id: str, expires_at: datetime, session: Any
    ) -> None:
        self.waiting.setdefault(code, []).append(envelope)

    async def live_subscriptions(self, session: Any) -> list[SubscriptionView]:
        return self.subscriptions

    async def record(self, doc: dict[str, Any], session: Any) -> None:
        self.records.append(doc)


RETENTION = timedelta(days=30)


def planning(store: RecordingStore) -> Planning:
    return Planning(
        store=store,  # type: ignore[arg-type]
        directory=DIRECTORY,
        privacy_key="k",
        clock=ManualClock(AT),
        personal_data_retention=RETENTION,
    )


async def handle(store: RecordingStore, data: EventData, envelope: Envelope | None = None) -> None:
    event = envelope or envelope_of(data)
    await record_notifications(data, detached_unit_of_work(event), planning=planning(store))


async def test_contact_first_then_reception_records_one_pending_per_channel() -> None:
    store = RecordingStore()
    await handle(store, registered(CODE, contact()))
    assert store.records == []  # a registration alone tells nobody anything
    assert store.contacts[CODE].email == "an.nguyen@example.vn"
    assert store.expiry[CODE] == AT + RETENTION
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
    assert store.records == [] and len(store.waiting[CODE]) == 1
    assert "contact not registered yet" in caplog.text

    await handle(store, registered(CODE, contact()))
    assert [(r["source_event_id"], r["template"], r["channel"]) for r in store.records] == [
        (reception.id, "dossier.received.v2", "email"),
        (reception.id, "dossier.received.v2", "sms"),
    ]
    assert CODE not in store.waiting


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
    assert store.contacts[CODE].name == "Nguyễn Văn An"
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


async def test_facts_nobody_needs_record_nothing() -> None:
    store = RecordingStore()
    await handle(store, done(CODE))
    assert store.records == []


def test_every_dossier_and_notification_fact_and_the_contact_have_a_handler() -> None:
    handlers = build_registry(planning(RecordingStore())).event_types
    assert {"dossier.received.v2", "dossier.received.v1", "notification.failed.v1"} <= set(handlers)
    assert "applicant.contact.registered.v1" in handlers
    assert not [t for t in handlers if t.startswith(("command.", "audit."))]
