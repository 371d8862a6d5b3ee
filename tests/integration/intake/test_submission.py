"""Submitting through HTTP with the real broker and store: one dossier, one event, once."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

from shared.events.applicant import ApplicantContactRegistered
from shared.events.dossier import documents_hash
from shared.events.reception import DossierReceived
from shared.testing import read_topic
from shared.topics import APPLICANT_CONTACTS, DOSSIER_EVENTS
from tests.integration.intake.helpers import (
    BIRTH,
    DESK,
    IDENTITY_NUMBER,
    TEST_IDENTITY_KEY,
    RunningIntake,
    submission,
)


async def test_a_desk_submission_is_received_with_code_appointment_and_one_event(
    intake: RunningIntake,
) -> None:
    response = await intake.client.post("/v1/dossiers", json=submission(note="Nộp tại quầy"))

    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["code"] == f"{DESK}-261126-0001"
    assert receipt["state"] == "RECEIVED"
    assert receipt["clock_starts_on"] == "2026-11-27"
    assert receipt["appointment_date"] == "2026-11-27"  # one working day
    assert len(receipt["lookup_token"]) >= 32

    records = await read_topic(intake.settings.kafka, DOSSIER_EVENTS, expect=1)
    assert len(records) == 1
    record = records[0]
    assert record.key == receipt["code"].encode()
    assert IDENTITY_NUMBER.encode() not in record.value
    assert all(IDENTITY_NUMBER.encode() not in value for _, value in record.headers)
    assert receipt["lookup_token"].encode() not in record.value

    event = json.loads(record.value)
    assert event["type"] == "dossier.received.v2"
    assert event["subject"] == receipt["code"]
    assert event["source"] == "/lienthong/intake"
    assert event["specversion"] == "1.0"
    assert event["correlationid"] == event["id"]  # the first event names the flow
    assert event["time"].startswith("2026-11-26T02:00:00")
    data = DossierReceived.model_validate(event["data"])
    assert data.dossier_code == receipt["code"]
    assert (data.state, data.holding_unit, data.receiving_unit) == ("RECEIVED", DESK, DESK)
    assert (data.procedure_code, data.procedure_version) == (BIRTH, "2024.1")
    assert str(data.clock_starts_on) == "2026-11-27"
    assert str(data.appointment_date) == "2026-11-27"
    assert data.total_budget_days == 1
    assert data.channel == "desk"
    assert data.note == "Nộp tại quầy"
    expected_hash = hmac.new(
        TEST_IDENTITY_KEY.encode(), f"citizen_id:{IDENTITY_NUMBER}".encode(), hashlib.sha256
    ).hexdigest()
    assert data.applicant.identity_hash == expected_hash
    assert data.documents_hash == documents_hash(submission()["documents"])

    # The name and contact leave intake on applicant.contacts only, never on dossier.events.
    applicant = submission()["applicant"]
    for personal in (applicant["name"], applicant["email"], applicant["phone"]):
        assert personal.encode() not in record.value
    (contact_record,) = await read_topic(intake.settings.kafka, APPLICANT_CONTACTS, expect=1)
    assert contact_record.key == receipt["code"].encode()
    registration = json.loads(contact_record.value)
    assert registration["type"] == "applicant.contact.registered.v1"
    assert registration["causationid"] == event["id"]
    assert registration["correlationid"] == event["correlationid"]
    contact = ApplicantContactRegistered.model_validate(registration["data"]).contact
    assert (contact.name, contact.email, contact.phone) == (
        applicant["name"],
        applicant["email"],
        applicant["phone"],
    )
    assert IDENTITY_NUMBER.encode() not in contact_record.value

    stored = await intake.ctx.store.get_dossier(receipt["code"])
    assert stored is not None
    assert IDENTITY_NUMBER not in json.dumps(stored, default=str)
    assert receipt["lookup_token"] not in json.dumps(stored, default=str)


async def test_an_idempotent_retry_returns_the_first_receipt_and_publishes_nothing(
    intake: RunningIntake,
) -> None:
    headers = {"Idempotency-Key": "desk-7f3a-0001"}
    first = await intake.client.post("/v1/dossiers", json=submission(), headers=headers)
    # Same body with keys in another order and other whitespace: still the same request.
    reordered = json.dumps(dict(reversed(list(submission().items()))), indent=2)
    retry = await intake.client.post(
        "/v1/dossiers",
        content=reordered,
        headers={**headers, "Content-Type": "application/json"},
    )

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()  # the same token, too
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert await intake.dossiers() == 1
    assert await intake.outbox_entries() == 2  # the fact and the contact registration
    assert len(await intake.published(expect=1)) == 1


async def test_the_same_key_with_another_body_is_refused(intake: RunningIntake) -> None:
    headers = {"Idempotency-Key": "desk-7f3a-0002"}
    await intake.client.post("/v1/dossiers", json=submission(), headers=headers)
    other = await intake.client.post(
        "/v1/dossiers", json=submission(note="changed"), headers=headers
    )

    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["code"] == "idempotency_key_reused"
    assert other.json()["field"] == "Idempotency-Key"
    assert await intake.dossiers() == 1
    assert await intake.outbox_entries() == 2  # the fact and the contact registration


async def test_a_desk_records_a_refusal_with_a_code_and_a_notice(intake: RunningIntake) -> None:
    body = submission(documents=[], reason="Thiếu giấy chứng sinh")
    response = await intake.client.post("/v1/dossiers/denials", json=body)

    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["code"] == f"{DESK}-261126-0001"
    assert receipt["state"] == "DENIED"
    assert receipt["appointment_date"] is None
    assert receipt["refusal"]["reason"] == "Thiếu giấy chứng sinh"
    assert receipt["refusal"]["form"] == "Mẫu 03"
    assert receipt["refusal"]["issuing_unit"] == DESK

    (event,) = await intake.published(expect=1)
    assert event.type == "dossier.denied.v2"
    assert event.data["reason"] == "Thiếu giấy chứng sinh"
    assert event.data["state"] == "DENIED"

    view = await intake.client.get(
        f"/v1/dossiers/{receipt['code']}", headers={"X-Lookup-Token": receipt["lookup_token"]}
    )
    assert view.json()["state"] == "DENIED"
    assert view.json()["refusal"]["reason"] == "Thiếu giấy chứng sinh"


async def test_an_online_submission_waits_for_the_desk_then_is_received(
    intake: RunningIntake,
) -> None:
    submitted = (await intake.client.post("/v1/dossiers", json=submission(channel="online"))).json()
    assert submitted["state"] == "SUBMITTED"
    assert submitted["appointment_date"] is None

    intake.clock.advance(timedelta(hours=7))  # 16:00: after 15:00, counted from reception
    received = await intake.client.post(f"/v1/dossiers/{submitted['code']}/reception")
    again = await intake.client.post(f"/v1/dossiers/{submitted['code']}/reception")

    assert received.status_code == 200, received.text
    assert received.json()["state"] == "RECEIVED"
    # Birth registration is done on receipt: no cut-off (docs/legal.md), so day 0 is this
    # Thursday although it is 16:00, and the one-day budget is due on Friday.
    assert received.json()["appointment_date"] == "2026-11-27"
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_state"
    types = [e.type for e in await intake.published(expect=2)]
    assert types == ["dossier.submitted.v2", "dossier.received.v2"]


async def test_a_desk_refuses_an_online_submission(intake: RunningIntake) -> None:
    submitted = (await intake.client.post("/v1/dossiers", json=submission(channel="online"))).json()
    denied = await intake.client.post(
        f"/v1/dossiers/{submitted['code']}/denial", json={"reason": "Không đúng thẩm quyền"}
    )

    assert denied.status_code == 200, denied.text
    assert denied.json()["state"] == "DENIED"
    assert denied.json()["refusal"]["reason"] == "Không đúng thẩm quyền"
    events = await intake.published(expect=2)
    assert [e.type for e in events] == ["dossier.submitted.v2", "dossier.denied.v2"]
    assert events[1].correlationid == events[0].id
