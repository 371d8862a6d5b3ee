"""An incomplete dossier at the desk is asked to supplement (Mẫu 02), not refused: the
applicant supplements with the look-up token, then the desk receives (or refuses) it.
Through intake's HTTP API, with the facts it publishes."""

from __future__ import annotations

import copy

from intake.examples import EXAMPLE_DOCUMENTS

from tests.integration.intake.helpers import DESK, RunningIntake, submission

MISSING = EXAMPLE_DOCUMENTS[-1]  # the birth certificate


def desk_request(**changes: object) -> dict[str, object]:
    body = submission(documents=copy.deepcopy(EXAMPLE_DOCUMENTS[:1]), **changes)
    body["applicant"]["address"] = "Số 5, ấp Tân Hòa"
    return {**body, "missing_documents": ["birth_certificate"], "guidance": "Bản chính"}


async def test_desk_asks_applicant_supplements_desk_receives(intake: RunningIntake) -> None:
    key = {"Idempotency-Key": "supplement-desk-0001"}
    created = await intake.client.post(
        "/v1/dossiers/supplement-requests", json=desk_request(), headers=key
    )
    assert created.status_code == 201, created.text
    receipt = created.json()
    code, token = receipt["code"], {"X-Lookup-Token": receipt["lookup_token"]}
    assert receipt["state"] == "SUPPLEMENT_REQUESTED" and receipt["appointment_date"] is None
    replay = await intake.client.post(
        "/v1/dossiers/supplement-requests", json=desk_request(), headers=key
    )
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json()["code"] == code

    view = (await intake.client.get(f"/v1/dossiers/{code}", headers=token)).json()
    assert view["portal_status"] == 5
    (pending,) = view["supplement_requests"]
    assert pending["missing_documents"] == ["Giấy chứng sinh do cơ sở y tế cấp"]
    assert pending["provided_at"] is None
    form = await intake.client.get(f"/v1/dossiers/{code}/forms/02", headers=token)
    assert form.status_code == 200, form.text
    assert "Mẫu 02" in form.text and "Số 5, ấp Tân Hòa" in form.text
    early = await intake.client.post(f"/v1/dossiers/{code}/reception")
    assert (early.status_code, early.json()["code"]) == (409, "invalid_state")

    supplied = await intake.client.post(
        f"/v1/dossiers/{code}/supplement", json={"documents": [MISSING]}, headers=token
    )
    assert supplied.status_code == 200, supplied.text
    assert supplied.json()["state"] == "SUBMITTED"
    twice = await intake.client.post(
        f"/v1/dossiers/{code}/supplement", json={"documents": [MISSING]}, headers=token
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "invalid_state")

    received = await intake.client.post(f"/v1/dossiers/{code}/reception")
    assert received.status_code == 200, received.text
    assert received.json()["state"] == "RECEIVED" and received.json()["appointment_date"]

    types = [e.type for e in await intake.published(expect=3)]
    assert types == [
        "dossier.intake.supplement.requested.v1",
        "dossier.intake.supplement.provided.v1",
        "dossier.received.v2",
    ]


async def test_an_online_submission_is_asked_to_supplement_or_refused(
    intake: RunningIntake,
) -> None:
    online = (await intake.client.post("/v1/dossiers", json=submission(channel="online"))).json()
    code, token = online["code"], {"X-Lookup-Token": online["lookup_token"]}
    bad = await intake.client.post(
        f"/v1/dossiers/{code}/supplement-request", json={"missing_documents": [], "guidance": "x"}
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_request")
    asked = await intake.client.post(
        f"/v1/dossiers/{code}/supplement-request",
        json={"missing_documents": ["Bản sao giấy đăng ký kết hôn"], "guidance": "Có chứng thực"},
    )
    assert asked.status_code == 200, asked.text
    assert asked.json()["state"] == "SUPPLEMENT_REQUESTED"
    again = await intake.client.post(
        f"/v1/dossiers/{code}/supplement-request",
        json={"missing_documents": ["x"], "guidance": "y"},
    )
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")
    await intake.client.post(
        f"/v1/dossiers/{code}/supplement", json={"documents": [MISSING]}, headers=token
    )
    denied = await intake.client.post(
        f"/v1/dossiers/{code}/denial", json={"reason": "Giấy tờ giả mạo"}
    )
    assert denied.status_code == 200 and denied.json()["state"] == "DENIED"
    assert DESK in denied.text
