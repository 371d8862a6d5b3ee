"""A data subject access request at intake, against the real store, broker and Keycloak
tokens: the data protection officer gets every dossier of the subject (and only theirs),
with the personal fields as stored; other roles get 403; a malformed number 422 without
the number echoed; the access is recorded (an operations fact) and logged without the
number."""

from __future__ import annotations

import copy
import logging
from datetime import timedelta

import pytest
from intake import subject_access
from intake.erasure import Eraser
from intake.examples import EXAMPLE_APPLICANT

from shared.testing import auth_headers, envelopes, read_topic
from shared.topics import OPERATIONS_EVENTS
from tests.integration.intake.helpers import (
    IDENTITY_NUMBER,
    MORNING,
    RunningIntake,
    submission,
)
from tests.integration.intake.test_retention import RETENTION, apply, taken
from tests.samples import done

PATH = "/v1/subject-access"
OTHER_NUMBER = "001099000042"
ASKED = {"identity_type": "citizen_id", "identity_number": IDENTITY_NUMBER}


def someone_else() -> dict[str, object]:
    applicant = copy.deepcopy(EXAMPLE_APPLICANT)
    applicant |= {"identity_number": OTHER_NUMBER, "name": "Trần Thị Bình"}
    return applicant


async def test_the_officer_gets_every_dossier_of_the_subject_and_only_theirs(
    intake: RunningIntake, caplog: pytest.LogCaptureFixture
) -> None:
    first, _ = await taken(intake)
    second, _ = await taken(intake, "/v1/dossiers/denials", reason="Thiếu giấy chứng sinh")
    other = await intake.client.post("/v1/dossiers", json=submission(applicant=someone_else()))
    assert other.status_code == 201, other.text

    with caplog.at_level(logging.INFO):
        answer = await intake.client.post(PATH, json=ASKED, headers=auth_headers("privacy"))

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["service"] == "intake" and body["identity_type"] == "citizen_id"
    dossiers = {d["code"]: d for d in body["dossiers"]}
    assert sorted(dossiers) == sorted([first, second])
    shown = dossiers[first]
    stored = await intake.ctx.store.get_dossier(first)
    assert stored is not None
    assert shown["personal_data"]["applicant.identity_hash"] == stored.applicant.identity_hash
    assert shown["personal_data"]["applicant.name"] == EXAMPLE_APPLICANT["name"]
    assert shown["personal_data"]["applicant.email"] == EXAMPLE_APPLICANT["email"]
    assert shown["state"] == "RECEIVED" and shown["procedure_code"] == stored.procedure_code
    assert shown["erased"] is False
    assert dossiers[second]["state"] == "DENIED"
    assert dossiers[second]["personal_data"]["refusal.reason"] == "Thiếu giấy chứng sinh"
    assert "lookup_token_hash" not in answer.text  # a secret, not data about the subject
    assert IDENTITY_NUMBER not in answer.text

    await intake.relay_idle()  # the access is recorded as an audited operations fact
    [fact] = envelopes(await read_topic(intake.settings.kafka, OPERATIONS_EVENTS, expect=1))
    assert (fact.type, fact.subject) == ("operations.subject-access.answered.v1", "operations")
    assert fact.data["operator"] == "dpo" and fact.data["service"] == "intake"
    assert sorted(fact.data["dossier_codes"]) == sorted([first, second])
    assert IDENTITY_NUMBER not in fact.model_dump_json()
    assert stored.applicant.identity_hash not in fact.model_dump_json()

    [record] = [r for r in caplog.records if r.getMessage() == "subject access answered"]
    assert record.officer == "dpo"  # type: ignore[attr-defined]
    assert sorted(record.dossiers) == sorted([first, second])  # type: ignore[attr-defined]
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert IDENTITY_NUMBER not in logged and stored.applicant.identity_hash not in logged


async def test_a_subject_with_nothing_stored_gets_an_empty_answer(intake: RunningIntake) -> None:
    await taken(intake)
    asked = {"identity_type": "passport", "identity_number": "C1234567"}
    answer = await intake.client.post(PATH, json=asked, headers=auth_headers("privacy"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["dossiers"] == []


async def test_a_dossier_erased_by_the_retention_is_no_longer_found(
    intake: RunningIntake,
) -> None:
    """The erasure replaces the identity hash too: what is left is not the subject's."""
    erased, _ = await taken(intake)
    await apply(intake, done(erased), timedelta(hours=1))
    intake.clock.set(MORNING + RETENTION + timedelta(days=1))
    kept, _ = await taken(intake)
    eraser = Eraser(
        units=intake.ctx.runtime.units,
        store=intake.ctx.store,
        options=intake.settings.intake,
        clock=intake.clock,
    )
    assert await eraser.erase_due() == [erased]

    answer = await intake.client.post(PATH, json=ASKED, headers=auth_headers("privacy"))
    assert [d["code"] for d in answer.json()["dossiers"]] == [kept]


@pytest.mark.parametrize(
    "identity", ["desk", "operations", "auditor", "admin", "agency:001.21.31.H59"]
)
async def test_other_roles_are_refused(intake: RunningIntake, identity: str) -> None:
    await taken(intake)
    refused = await intake.client.post(PATH, json=ASKED, headers=auth_headers(identity))
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "forbidden"
    assert IDENTITY_NUMBER not in refused.text


@pytest.mark.parametrize(
    "body",
    [
        {"identity_type": "citizen_id", "identity_number": "07930100123"},
        {"identity_type": "passport", "identity_number": "07930100123"},
        {"identity_type": "driving_licence", "identity_number": "07930100123"},
        {"identity_number": "07930100123", "name": "Nguyễn Văn An"},
        {},
    ],
)
async def test_a_malformed_request_is_refused_without_echoing_it(
    intake: RunningIntake, body: dict[str, str]
) -> None:
    refused = await intake.client.post(PATH, json=body, headers=auth_headers("privacy"))
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "invalid_request"
    assert "07930100123" not in refused.text


async def test_an_answer_past_its_bound_lists_the_oldest_and_says_it_left_some_out(
    intake: RunningIntake, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = await taken(intake)
    second, _ = await taken(intake)
    monkeypatch.setattr(subject_access, "SUBJECT_ACCESS_LIMIT", 1)

    answer = await intake.client.post(PATH, json=ASKED, headers=auth_headers("privacy"))

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [d["code"] for d in body["dossiers"]] == [first] and body["truncated"] is True
    monkeypatch.setattr(subject_access, "SUBJECT_ACCESS_LIMIT", 2)
    answer = await intake.client.post(PATH, json=ASKED, headers=auth_headers("privacy"))
    assert [d["code"] for d in answer.json()["dossiers"]] == [first, second]
    assert answer.json()["truncated"] is False
