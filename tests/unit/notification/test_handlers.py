"""Handlers with a recording store: contacts kept, one pending record per recipient and channel."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import pytest
from notification.domain import SubscriptionStatus, SubscriptionView, UnitDirectory
from notification.handlers import build_registry, record_notifications

from shared.clock import ManualClock
from shared.events.dossier import ApplicantContact
from shared.events.registry import EventData
from shared.testing import detached_unit_of_work
from tests.unit.notification.samples import (
    AT,
    DISTRICT_LAND,
    contact,
    done,
    envelope_of,
    received,
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
        self.contacts: dict[str, ApplicantContact] = {}
        self.records: list[dict[str, Any]] = []
        self.subscriptions = subscriptions or []

    async def save_contact(
        self, code: str, contact: ApplicantContact, now: datetime, session: Any
    ) -> None:
        self.contacts[code] = contact

    async def contact(self, code: str, session: Any) -> ApplicantContact | None:
        return self.contacts.get(code)

    async def live_subscriptions(self, session: Any) -> list[SubscriptionView]:
        return self.subscriptions

    async def record(self, doc: dict[str, Any], session: Any) -> None:
        self.records.append(doc)


async def handle(store: RecordingStore, data: EventData) -> None:
    await record_notifications(
        data,
        detached_unit_of_work(envelope_of(data)),
        store=store,  # type: ignore[arg-type]
        directory=DIRECTORY,
        privacy_key="k",
        clock=ManualClock(AT),
    )


async def test_reception_keeps_the_contact_and_records_one_pending_per_channel() -> None:
    store = RecordingStore()
    await handle(store, received(CODE, contact()))
    assert store.contacts[CODE].email == "an.nguyen@example.vn"
    assert [(r["channel"], r["status"], r["template"]) for r in store.records] == [
        ("email", "pending", "dossier.received.v1"),
        ("sms", "pending", "dossier.received.v1"),
    ]
    record = store.records[0]
    assert record["dossier_code"] == CODE and record["attempts"] == []
    assert record["recipient_ref"].startswith("applicant:") and record["display"] == "a***@e***.vn"


async def test_later_steps_find_the_contact_by_dossier_code() -> None:
    store = RecordingStore()
    await handle(store, received(CODE, contact(channels=())))
    await handle(store, supplement_requested(CODE))
    assert [r["template"] for r in store.records] == [
        "dossier.received.v1",
        "dossier.supplement.requested.v1",
    ]


async def test_without_a_known_contact_the_applicant_is_not_told(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="notification")
    store = RecordingStore()
    await handle(store, supplement_requested(CODE))
    assert store.records == []
    assert "no applicant contact known" in caplog.text


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


def test_every_dossier_and_notification_fact_has_a_handler() -> None:
    handled = build_registry(
        store=RecordingStore(),  # type: ignore[arg-type]
        directory=DIRECTORY,
        privacy_key="k",
        clock=ManualClock(AT),
    ).event_types
    assert "dossier.received.v1" in handled and "notification.failed.v1" in handled
    assert not [t for t in handled if t.startswith(("command.", "audit."))]
