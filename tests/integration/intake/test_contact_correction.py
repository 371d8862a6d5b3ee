"""Correcting an applicant's contact on request at intake, against the real store,
broker and Keycloak tokens: the stored dossier, the contact registered again for
notification and the audited operations fact change in one unit of work; every refusal
writes nothing; an Idempotency-Key makes a retry answer the first result."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from intake.examples import EXAMPLE_APPLICANT

from shared.events.applicant import ApplicantContactRegistered
from shared.testing import auth_headers, envelopes, read_topic
from shared.topics import APPLICANT_CONTACTS, OPERATIONS_EVENTS
from tests.integration.intake.helpers import MORNING, RunningIntake
from tests.integration.intake.test_outbox_sequences import entries, stored_seq
from tests.integration.intake.test_retention import RETENTION, apply, eraser, taken
from tests.samples import done

NEW_EMAIL = "an.moi@example.vn"
REASON = "Đương sự yêu cầu sửa email (phiếu số 12/2026)"
CORRECTION = {"email": NEW_EMAIL, "channels": ["email"], "reason": REASON}


def path(code: str) -> str:
    return f"/v1/dossiers/{code}/contact-correction"


async def snapshot(intake: RunningIntake, code: str) -> tuple[Any, ...]:
    """What a refused correction must leave as it was."""
    db = intake.ctx.runtime.db
    document = await db["dossiers"].find_one({"_id": code})
    return document, await intake.outbox_entries(), await db["idempotency"].count_documents({})


async def test_the_officer_corrects_the_contact_in_one_unit_of_work(
    intake: RunningIntake, caplog: pytest.LogCaptureFixture
) -> None:
    code, _ = await taken(intake)
    with caplog.at_level(logging.INFO):
        answer = await intake.client.post(
            path(code), json=CORRECTION, headers=auth_headers("privacy")
        )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["dossier_code"] == code and body["corrected_by"] == "dpo"
    assert body["corrected_fields"] == ["email", "channels"]  # from ["sms", "email"]
    assert NEW_EMAIL not in answer.text

    stored = await intake.ctx.store.get_dossier(code)
    assert stored is not None
    assert (stored.applicant.email, stored.applicant.channels) == (NEW_EMAIL, ["email"])
    assert stored.applicant.phone == EXAMPLE_APPLICANT["phone"]  # not named: kept
    # The dossier's own sequence numbers both facts, by the dossier's write.
    assert (await entries(intake, code))[-2:] == [
        (3, "applicant.contact.registered.v1"),
        (4, "operations.applicant-contact.corrected.v1"),
    ]
    assert await stored_seq(intake, code) == 4

    await intake.relay_idle()
    records = await read_topic(intake.settings.kafka, APPLICANT_CONTACTS, expect=2)
    first, again = envelopes(records)
    assert records[1].key == code.encode()
    assert again.correlationid == first.correlationid
    contact = ApplicantContactRegistered.model_validate(again.data).contact
    assert (contact.email, contact.channels) == (NEW_EMAIL, ["email"])
    assert contact.name == EXAMPLE_APPLICANT["name"]

    [fact] = envelopes(await read_topic(intake.settings.kafka, OPERATIONS_EVENTS, expect=1))
    assert (fact.type, fact.subject) == ("operations.applicant-contact.corrected.v1", code)
    assert fact.data["operator"] == "dpo" and fact.data["service"] == "intake"
    assert fact.data["corrected_fields"] == ["email", "channels"]
    assert fact.data["reason"] == REASON
    published = fact.model_dump_json()
    assert NEW_EMAIL not in published and str(EXAMPLE_APPLICANT["email"]) not in published

    [record] = [r for r in caplog.records if r.getMessage() == "applicant contact corrected"]
    assert (record.operator, record.dossier) == ("dpo", code)  # type: ignore[attr-defined]
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert NEW_EMAIL not in logged and REASON not in logged


async def test_the_dossier_s_desk_corrects_its_own_unit_s_dossiers_only(
    intake: RunningIntake,
) -> None:
    code, _ = await taken(intake)
    own = await intake.client.post(path(code), json={"phone": "0987654321", "reason": "x"})
    assert own.status_code == 200, own.text
    assert own.json()["corrected_by"] == "desk.tanhoa"

    before = await snapshot(intake, code)
    neighbour = await intake.client.post(
        path(code),
        json={"phone": "0911111111", "reason": "x"},
        headers=auth_headers("agency:001.22.31.H59"),
    )
    assert (neighbour.status_code, neighbour.json()["code"]) == (403, "wrong_unit")
    assert await snapshot(intake, code) == before


@pytest.mark.parametrize("identity", ["operations", "auditor", "admin", "officer"])
async def test_other_roles_are_refused(intake: RunningIntake, identity: str) -> None:
    code, _ = await taken(intake)
    before = await snapshot(intake, code)
    refused = await intake.client.post(path(code), json=CORRECTION, headers=auth_headers(identity))
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert await snapshot(intake, code) == before


@pytest.mark.parametrize(
    ("correction", "status", "code", "field"),
    [
        ({"email": "not-an-address", "reason": "x"}, 422, "invalid_request", "email"),
        ({"email": NEW_EMAIL}, 422, "invalid_request", "reason"),
        ({"email": None, "reason": "x"}, 422, "invalid_request", "channels"),
        ({"email": EXAMPLE_APPLICANT["email"], "reason": "x"}, 422, "nothing_to_correct", None),
        ({"reason": "x"}, 422, "nothing_to_correct", None),
    ],
)
async def test_a_refused_correction_writes_nothing(
    intake: RunningIntake,
    correction: dict[str, Any],
    status: int,
    code: str,
    field: str | None,
) -> None:
    dossier, _ = await taken(intake)
    before = await snapshot(intake, dossier)
    refused = await intake.client.post(
        path(dossier), json=correction, headers=auth_headers("privacy")
    )
    assert refused.status_code == status, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert (refused.json()["code"], refused.json().get("field")) == (code, field)
    assert "not-an-address" not in refused.text
    assert await snapshot(intake, dossier) == before


async def test_an_unknown_dossier_is_404(intake: RunningIntake) -> None:
    for identity in ("privacy", "desk"):
        refused = await intake.client.post(
            path("001.21.31.H59-261126-0999"), json=CORRECTION, headers=auth_headers(identity)
        )
        assert (refused.status_code, refused.json()["code"]) == (404, "not_found")
    assert await intake.outbox_entries() == 0


async def test_a_dossier_erased_by_the_retention_is_410(intake: RunningIntake) -> None:
    code, _ = await taken(intake)
    await apply(intake, done(code), timedelta(hours=1))
    intake.clock.set(MORNING + RETENTION + timedelta(days=1))
    assert await eraser(intake).erase_due() == [code]
    before = await snapshot(intake, code)

    refused = await intake.client.post(path(code), json=CORRECTION, headers=auth_headers("privacy"))
    assert (refused.status_code, refused.json()["code"]) == (410, "personal_data_erased")
    assert await snapshot(intake, code) == before


async def test_a_retry_with_the_same_key_answers_the_first_result_once(
    intake: RunningIntake,
) -> None:
    code, _ = await taken(intake)
    headers = {**auth_headers("privacy"), "Idempotency-Key": "correction-0001"}
    first = await intake.client.post(path(code), json=CORRECTION, headers=headers)
    assert first.status_code == 200, first.text
    assert "Idempotent-Replayed" not in first.headers
    entries_after_first = await intake.outbox_entries()

    again = await intake.client.post(path(code), json=CORRECTION, headers=headers)
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert await intake.outbox_entries() == entries_after_first

    other = {**CORRECTION, "email": "an.khac@example.vn"}
    reused = await intake.client.post(path(code), json=other, headers=headers)
    assert (reused.status_code, reused.json()["code"]) == (409, "idempotency_key_reused")
    bad_key = {**headers, "Idempotency-Key": "x"}
    invalid = await intake.client.post(path(code), json=other, headers=bad_key)
    assert (invalid.status_code, invalid.json()["code"]) == (422, "invalid_idempotency_key")
    assert await intake.outbox_entries() == entries_after_first
    record = await intake.ctx.runtime.db["idempotency"].find_one({"dossier_code": code})
    assert record is not None and NEW_EMAIL not in json.dumps(record, default=str)


async def test_concurrent_twins_with_one_key_correct_once(intake: RunningIntake) -> None:
    code, _ = await taken(intake)
    headers = {**auth_headers("privacy"), "Idempotency-Key": "correction-twins"}
    entries_before = await intake.outbox_entries()
    answers = await asyncio.gather(
        *(intake.client.post(path(code), json=CORRECTION, headers=headers) for _ in range(4))
    )
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    assert len({json.dumps(a.json(), sort_keys=True) for a in answers}) == 1
    assert sum("Idempotent-Replayed" not in a.headers for a in answers) == 1
    assert await intake.outbox_entries() == entries_before + 2


async def test_concurrent_corrections_of_one_dossier_each_apply_in_turn(
    intake: RunningIntake,
) -> None:
    """Without a key: each is decided on the dossier as the one before left it."""
    code, _ = await taken(intake)
    corrections = [{"phone": f"091234567{n}", "reason": "x"} for n in range(4)]
    answers = await asyncio.gather(
        *(
            intake.client.post(path(code), json=body, headers=auth_headers("privacy"))
            for body in corrections
        )
    )
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    seqs = [seq for seq, _ in await entries(intake, code)]
    assert seqs == list(range(1, 3 + 2 * 4))  # no gap, no number taken twice
    stored = await intake.ctx.store.get_dossier(code)
    assert stored is not None and stored.outbox_seq == 2 + 2 * 4
    assert stored.applicant.phone in {body["phone"] for body in corrections}


async def test_the_postal_address_alone_is_not_registered_again(intake: RunningIntake) -> None:
    """It stays in intake (forms only): notification is not sent the contact again."""
    code, _ = await taken(intake)
    answer = await intake.client.post(
        path(code), json={"address": "3 Lý Thái Tổ", "reason": "x"}, headers=auth_headers("desk")
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["corrected_fields"] == ["address"]
    assert (await entries(intake, code))[-1] == (3, "operations.applicant-contact.corrected.v1")
    assert await stored_seq(intake, code) == 3
    stored = await intake.ctx.store.get_dossier(code)
    assert stored is not None and stored.applicant_address == "3 Lý Thái Tổ"


async def test_a_correction_dated_before_the_last_one_is_registered_after_it(
    intake: RunningIntake,
) -> None:
    """Concurrent corrections: one takes its time, another takes a later one and commits
    first, then the first commits (its transaction retried) and is what intake keeps.
    Notification keeps the registration with the latest ``registered_at``: the one
    committed last must say so, or notification would notify the other's phone."""
    code, _ = await taken(intake)
    intake.clock.advance(timedelta(seconds=1))
    later = await intake.client.post(
        path(code), json={"phone": "0912345670", "reason": "x"}, headers=auth_headers("privacy")
    )
    assert later.status_code == 200, later.text
    intake.clock.advance(timedelta(seconds=-1))  # the one whose time was taken first
    last = await intake.client.post(
        path(code), json={"phone": "0912345671", "reason": "x"}, headers=auth_headers("privacy")
    )
    assert last.status_code == 200, last.text
    stored = await intake.ctx.store.get_dossier(code)
    assert stored is not None and stored.applicant.phone == "0912345671"

    await intake.relay_idle()
    records = await read_topic(intake.settings.kafka, APPLICANT_CONTACTS, expect=3)
    registrations = [ApplicantContactRegistered.model_validate(e.data) for e in envelopes(records)]
    kept = max(registrations, key=lambda r: r.registered_at)  # as notification keeps
    assert kept.contact.phone == "0912345671"
    assert stored.contact_registered_at == kept.registered_at.replace(
        microsecond=kept.registered_at.microsecond // 1000 * 1000
    )
