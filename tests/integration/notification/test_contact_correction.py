"""A contact corrected at intake reaches notification through the platform's own path,
over the real broker, store, SMTP sink and Keycloak tokens: intake registers the
corrected contact again on ``applicant.contacts``, notification keeps it over the first
one, and the applicant's later notifications go to the corrected address only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from intake.examples import EXAMPLE_APPLICANT
from notification.config import NotificationSettings
from notification.main import create_app

from shared.clock import ManualClock
from shared.runtime import CommonSettings
from shared.testing import ActAs, auth_headers, eventually, running_app
from tests.integration.intake.helpers import MORNING, intake_settings, running_intake, submission
from tests.integration.notification.helpers import notifications, publish, sms_lines
from tests.integration.notification.servers import _Collector
from tests.samples import envelope_of, result_ready

FIRST_EMAIL = str(EXAMPLE_APPLICANT["email"])
CORRECTED = "an.dung@example.vn"


async def kept_contact(client: httpx.AsyncClient, code: str) -> dict[str, Any] | None:
    """The contact notification keeps for the dossier, as its subject access shows it."""
    answer = await client.post(
        "/v1/subject-access", json={"dossier_codes": [code]}, headers=auth_headers("privacy")
    )
    assert answer.status_code == 200, answer.text
    [held] = answer.json()["dossiers"]
    contact: dict[str, Any] | None = held["contact"]
    return contact


async def test_later_notifications_go_to_the_corrected_address(
    common_settings: CommonSettings,
    settings: NotificationSettings,
    smtp: _Collector,
    sms_file: Path,
) -> None:
    intake_at = intake_settings(common_settings)
    async with (
        running_app(create_app(settings), ActAs("admin")) as notification,
        running_intake(intake_at, ManualClock(MORNING)) as intake,
    ):
        taken = await intake.client.post("/v1/dossiers", json=submission())
        assert taken.status_code == 201, taken.text
        code = taken.json()["code"]
        # The reception is told at the address given at submission (email and SMS).
        await eventually(lambda: _count(smtp.to(FIRST_EMAIL), 1))
        await eventually(lambda: _count(sms_lines(sms_file), 1))

        corrected = await intake.client.post(
            f"/v1/dossiers/{code}/contact-correction",
            json={"email": CORRECTED, "channels": ["email"], "reason": "Đương sự báo sai email"},
            headers=auth_headers("privacy"),
        )
        assert corrected.status_code == 200, corrected.text

        async def kept_corrected() -> bool:
            contact = await kept_contact(notification, code)
            return contact is not None and contact["email"] == CORRECTED

        await eventually(kept_corrected)  # notification handled the second registration
        contact = await kept_contact(notification, code)
        assert contact is not None
        assert (contact["channels"], contact["phone"]) == (["email"], EXAMPLE_APPLICANT["phone"])

        await publish(settings, envelope_of(result_ready(code)))  # as routing would
        [told] = await eventually(lambda: _messages(smtp, CORRECTED, 1))
        assert told.subject == f"Hồ sơ {code} đã có kết quả"
        assert "Kính gửi Ông/Bà Nguyễn Văn An" in told.body
        # Planned together when the fact was handled: email only, SMS no longer preferred.
        items = await notifications(notification, code)
        result = [i for i in items if i["source_event_type"] == "dossier.result.ready.v1"]
        assert [(i["recipient_kind"], i["channel"]) for i in result] == [("applicant", "email")]

    assert len(smtp.to(FIRST_EMAIL)) == 1  # the reception only


async def _count(items: list[Any], n: int) -> bool:
    return len(items) >= n


async def _messages(smtp: _Collector, address: str, n: int) -> list[Any] | None:
    found = smtp.to(address)
    return found if len(found) >= n else None
