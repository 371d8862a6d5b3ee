"""A data subject access request at notification, against the real broker, store and
Keycloak tokens: for the subject's dossiers (the codes intake answered), the contact as
kept to send, the delivery records (the subject's own addresses only) and the portal's
messages; another dossier's data never; other roles 403; malformed codes 422; the access
recorded (an operations fact, published by the relay) and logged without a contact."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from notification.config import NotificationSettings
from notification.main import create_app

from shared.testing import ActAs, auth_headers, envelopes, eventually, read_topic, running_app
from shared.topics import OPERATIONS_EVENTS
from tests.integration.notification.helpers import notifications, publish
from tests.samples import contact, envelope_of, received, registered, transfer_requested

PATH = "/v1/subject-access"
MINE = "001.21.31.H59-261126-0501"
OTHERS = "001.21.31.H59-261126-0502"
AN = contact(name="Nguyễn Văn An", email="an.sar@example.vn", phone="0901234500")
BINH = contact(name="Trần Thị Bình", email="binh.sar@example.vn", phone=None)


async def all_settled(client: httpx.AsyncClient, code: str, kinds: set[str]) -> bool:
    items = await notifications(client, code)
    settled = [i for i in items if i["status"] in {"sent", "failed"}]
    return len(settled) == len(items) and {i["recipient_kind"] for i in items} >= kinds


async def test_the_officer_gets_what_is_kept_for_the_subjects_dossiers(
    settings: NotificationSettings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running_app(create_app(settings), ActAs("admin")) as client:
        await publish(
            settings,
            *(
                envelope_of(event)
                for event in (
                    registered(MINE, AN),
                    received(MINE),
                    transfer_requested(MINE),
                    registered(OTHERS, BINH),
                    received(OTHERS),
                )
            ),
        )
        await eventually(lambda: all_settled(client, MINE, {"applicant", "unit"}))
        await eventually(lambda: all_settled(client, OTHERS, {"applicant"}))

        answer = await client.post(
            PATH, json={"dossier_codes": [MINE, MINE]}, headers=auth_headers("privacy")
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        [held] = body["dossiers"]  # a code named twice is answered once
        assert held["dossier_code"] == MINE
        assert held["contact"]["name"] == "Nguyễn Văn An"
        assert held["contact"]["email"] == "an.sar@example.vn"
        assert held["contact"]["phone"] == "0901234500"
        assert held["contact"]["expires_at"] is not None
        kinds = {d["recipient_kind"] for d in held["deliveries"]}
        assert kinds >= {"applicant", "unit"}
        for delivery in held["deliveries"]:
            if delivery["recipient_kind"] == "applicant":
                assert delivery["address"] in {"an.sar@example.vn", "0901234500"}
            else:
                assert delivery["address"] is None
            assert delivery["template"] and delivery["status"] in {"sent", "failed"}
        assert held["applicant_deliveries"] >= 1
        assert held["portal_messages"]  # the portal connector's messages for the dossier
        assert "binh.sar@example.vn" not in answer.text and "Trần Thị Bình" not in answer.text

    [fact] = [
        e
        for e in envelopes(
            await read_topic(settings.kafka, OPERATIONS_EVENTS, expect=1, timeout=20)
        )
        if e.type == "operations.subject-access.answered.v1"
    ]
    assert fact.data["operator"] == "dpo" and fact.data["service"] == "notification"
    assert fact.data["dossier_codes"] == [MINE]
    assert "an.sar@example.vn" not in fact.model_dump_json()

    [record] = [r for r in caplog.records if r.getMessage() == "subject access answered"]
    assert record.officer == "dpo"  # type: ignore[attr-defined]
    assert record.dossiers == [MINE]  # type: ignore[attr-defined]
    assert "an.sar@example.vn" not in f"{record.__dict__}"


async def test_an_unknown_dossier_holds_nothing(settings: NotificationSettings) -> None:
    async with running_app(create_app(settings), ActAs("privacy")) as client:
        answer = await client.post(PATH, json={"dossier_codes": [OTHERS]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["dossiers"] == [
            {
                "dossier_code": OTHERS,
                "contact": None,
                "deliveries": [],
                "applicant_deliveries": 0,
                "portal_messages": [],
            }
        ]


@pytest.mark.parametrize("identity", ["operations", "admin", "auditor", "desk"])
async def test_other_roles_are_refused(settings: NotificationSettings, identity: str) -> None:
    async with running_app(create_app(settings), ActAs(identity)) as client:
        refused = await client.post(PATH, json={"dossier_codes": [MINE]})
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "forbidden"


@pytest.mark.parametrize(
    "body", [{}, {"dossier_codes": []}, {"dossier_codes": ["not a code"]}, {"codes": [MINE]}]
)
async def test_a_malformed_request_is_refused(
    settings: NotificationSettings, body: dict[str, Any]
) -> None:
    async with running_app(create_app(settings), ActAs("privacy")) as client:
        refused = await client.post(PATH, json=body)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "invalid_request"
