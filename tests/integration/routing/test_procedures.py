"""Payment (unit and gateway callback) and the apology (Mẫu 04) over HTTP and the commands topic."""

from __future__ import annotations

from datetime import timedelta

import httpx
from routing.applicants import IntakeApplicantNames
from routing.forms import ERASED_NAME

from shared.clock import ManualClock
from shared.events.commands import IssueApology
from shared.runtime import CommonSettings
from shared.testing import auth_headers
from tests.integration.routing.helpers import (
    command,
    publisher,
    read_events,
    receive,
    routing_app,
    routing_settings,
    wait_for,
)
from tests.unit.routing.builders import DISTRICT_COMMITTEE, MONDAY_9AM, TAN_HOA_DESK

CODE = "001.21.31.H59-260302-0007"
DESK = {"unit": TAN_HOA_DESK, "actor": "Trần Thị B"}
DISTRICT = {"unit": DISTRICT_COMMITTEE, "actor": "Lê Văn C"}
GATEWAY = auth_headers("payment-gateway")  # the gateway adapter's own client


async def test_payment_by_gateway_then_apology_before_the_appointment(
    common_settings: CommonSettings,
) -> None:
    clock = ManualClock(MONDAY_9AM)
    settings = routing_settings(common_settings)
    async with routing_app(settings, clock) as (client, app), publisher(settings.kafka) as pub:
        await receive(pub, client, CODE)
        base = f"/v1/dossiers/{CODE}"
        sent = await client.post(f"{base}/step/complete", json={**DESK, "outcome": "approve"})
        assert sent.status_code == 200, sent.text
        taken = await client.post(f"{base}/transfer/accept", json=DISTRICT)
        assert taken.status_code == 200, taken.text
        before = taken.json()["dossier"]

        # The district asks for the fee (Wednesday 4 March); the clock stops.
        clock.set(MONDAY_9AM + timedelta(days=2))
        asked = await client.post(
            f"{base}/payment/request",
            json={**DISTRICT, "amount_vnd": 150_000, "description": "Lệ phí"},
        )
        assert asked.status_code == 200, asked.text
        assert asked.json()["dossier"]["state"] == "AWAITING_PAYMENT"

        # The gateway reports a payment on Monday 9 March: wrong amount refused, then paid.
        clock.set(MONDAY_9AM + timedelta(days=7))
        callback = {  # the longest transaction id the contract allows: its key is hashed
            "dossier_code": CODE,
            "transaction_id": "VNP-42-".ljust(200, "0"),
            "paid_at": (MONDAY_9AM + timedelta(days=7)).isoformat(),
            "provider": "vnpay",
        }
        naive = {**callback, "amount_vnd": 150_000, "paid_at": "2026-03-09T09:00:00"}
        unzoned = await client.post("/v1/payments/callback", json=naive, headers=GATEWAY)
        assert unzoned.status_code == 422, unzoned.text  # a time needs its offset
        # A payment the next day, or before it was asked for: refused, nothing written
        # (the same transaction, reported right below, is taken: its key is not used up).
        for impossible in [MONDAY_9AM + timedelta(days=8), MONDAY_9AM + timedelta(days=1)]:
            report = {**callback, "amount_vnd": 150_000, "paid_at": impossible.isoformat()}
            refused = await client.post("/v1/payments/callback", json=report, headers=GATEWAY)
            assert refused.status_code == 422, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            problem = refused.json()
            assert (problem["code"], problem["field"]) == ("invalid_paid_at", "paid_at")
        by_desk = await client.post(
            f"{base}/payment/confirm",
            json={
                **DISTRICT,
                "amount_vnd": 150_000,
                "reference": "BL-1",
                "paid_at": report["paid_at"],
            },
        )
        assert (by_desk.status_code, by_desk.json()["code"]) == (422, "invalid_paid_at")
        assert (await client.get(base)).json()["state"] == "AWAITING_PAYMENT"
        wrong = await client.post(
            "/v1/payments/callback", json={**callback, "amount_vnd": 1}, headers=GATEWAY
        )
        assert wrong.status_code == 409 and wrong.json()["code"] == "payment_mismatch"
        wrong_again = {**callback, "amount_vnd": 1, "transaction_id": "VNP-41"}
        assert (
            await client.post("/v1/payments/callback", json=wrong_again, headers=GATEWAY)
        ).status_code == 409
        paid = await client.post(
            "/v1/payments/callback", json={**callback, "amount_vnd": 150_000}, headers=GATEWAY
        )
        assert paid.status_code == 200, paid.text
        after = paid.json()["dossier"]
        assert after["state"] == "PROCESSING"
        assert after["appointment_date"] > before["appointment_date"]  # 3 working days later
        again = await client.post(
            "/v1/payments/callback", json={**callback, "amount_vnd": 150_000}, headers=GATEWAY
        )
        assert again.status_code == 200 and again.json()["replayed"] is True
        # The same transaction reported with another amount is not the same report.
        altered = await client.post(
            "/v1/payments/callback", json={**callback, "amount_vnd": 150_001}, headers=GATEWAY
        )
        assert altered.status_code == 409, altered.text
        assert altered.headers["content-type"] == "application/problem+json"
        # It names the body's field at fault: the gateway sends no Idempotency-Key header.
        problem = altered.json()
        assert (problem["code"], problem["field"]) == ("idempotency_key_reused", "transaction_id")

        # The district will be late: Mẫu 04 over HTTP, then a second one on the topic.
        late = await client.post(
            f"{base}/apology",
            json={**DESK, "reason": "r", "new_appointment_date": "2026-04-10"},
        )
        assert late.status_code == 403 and late.json()["code"] == "not_responsible_unit"
        saturday = await client.post(
            f"{base}/apology",
            json={**DISTRICT, "reason": "r", "new_appointment_date": "2026-04-11"},
        )
        assert saturday.status_code == 422 and saturday.json()["code"] == "invalid_new_date"
        first = await client.post(
            f"{base}/apology",
            json={**DISTRICT, "reason": "Chờ ý kiến Sở", "new_appointment_date": "2026-04-10"},
        )
        assert first.status_code == 200, first.text
        assert first.json()["events"] == ["dossier.apology.issued.v1"]
        await command(
            pub,
            IssueApology(
                dossier_code=CODE,
                unit=DISTRICT_COMMITTEE,
                reason="Chờ ý kiến Sở lần hai",
                new_appointment_date=MONDAY_9AM.date() + timedelta(days=45),  # Thu 16 April
            ),
        )
        await wait_for(client, CODE, "PROCESSING", appointment_date="2026-04-16")

        # The printable forms of the dossier: both apologies, the tracking slip; no Mẫu 02.
        second = await client.get(f"{base}/forms/04")
        assert second.status_code == 200 and "16/04/2026" in second.text
        assert "Ủy ban nhân dân huyện Gò Công Đông" in second.text
        first_form = await client.get(f"{base}/forms/04", params={"nth": 1})
        assert "Chờ ý kiến Sở" in first_form.text and "10/04/2026" in first_form.text
        slip = await client.get(f"{base}/forms/05")
        assert slip.status_code == 200 and "Biên nhận" in slip.text
        none = await client.get(f"{base}/forms/02")
        assert none.status_code == 404 and none.json()["code"] == "form_unavailable"
        # Once intake erased the applicant's personal data (410), the slip says so.
        app.state.applicant_names = IntakeApplicantNames(
            httpx.AsyncClient(transport=httpx.MockTransport(erased_answer)), "http://intake"
        )
        erased = await client.get(f"{base}/forms/05")
        assert erased.status_code == 200 and f"<i>{ERASED_NAME}</i>" in erased.text

        # The on-time view lists both apologies, with their units and dates; the desk's
        # step was rated (completed on the day it was due at the latest).
        ontime = (await client.get("/v1/ontime")).json()
        assert [
            (a["number"], a["issuing_unit"], a["appointment_date"]) for a in ontime["apologies"]
        ] == [
            (1, DISTRICT_COMMITTEE, "2026-04-10"),
            (2, DISTRICT_COMMITTEE, "2026-04-16"),
        ]
        assert any(row["key"] == TAN_HOA_DESK and row["on_time"] == 1 for row in ontime["by_unit"])

        events = await read_events(settings.kafka, CODE, expect=8)
        facts = [e for e in events if e.type.startswith(("dossier.payment", "dossier.apology"))]
        assert [e.type for e in facts] == [
            "dossier.payment.requested.v1",
            "dossier.payment.received.v1",
            "dossier.apology.issued.v1",
            "dossier.apology.issued.v1",
        ]
        assert facts[0].data["portal_status"] == 6 and facts[0].data["amount_vnd"] == 150_000
        assert facts[1].data["paused_working_days"] == 3
        assert (
            facts[1].data["reference"] == callback["transaction_id"]
            and facts[1].data["method"] == "gateway"
        )
        assert [f.data["apology"]["number"] for f in facts[2:]] == [1, 2]


def erased_answer(request: httpx.Request) -> httpx.Response:
    """Intake's answer for the name of a dossier whose personal data it erased."""
    return httpx.Response(410, json={"status": 410, "code": "personal_data_erased"})
