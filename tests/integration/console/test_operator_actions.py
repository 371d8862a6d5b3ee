"""Operator actions through the console's API, against the real broker and store, with
notification served over HTTP (the console reads it by URL, with its own token).

A unit e-mail fails while the SMTP relay is down, so notification dead-letters it.
Replaying that dead letter from the console becomes a redelivery request (a plain
replay would be skipped by notification's inbox): once the relay is back, the e-mail is
sent and proven, and the action says ``sent``. The action is recorded as the caller
(the demo operator ``ops``, from its token) with when, and published on
``operations.events`` for audit. Replaying the letter of a notification redelivered
since from the dossier's page is refused, not recorded again; so is a redelivery of a
notification notification does not have, or of one that is not failed: nothing is
recorded or audited. While actions are off, the console refuses them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from console.config import ConsoleOptions, ConsoleSettings
from console.main import create_app as console_app
from notification.config import (
    DispatchSettings,
    NotificationSettings,
    RetrySettings,
    SmsSettings,
    SmtpSettings,
)
from notification.main import create_app as notification_app

from shared.envelope import Envelope
from shared.kafka.deadletter import read_dead_letters
from shared.runtime import CommonSettings
from shared.telemetry.messaging import header_value
from shared.testing import ActAs, eventually, free_port, read_topic, running_app
from shared.topics import OPERATIONS_EVENTS
from tests.integration.notification.helpers import notifications, publish
from tests.integration.notification.servers import smtp_sink
from tests.integration.serving import served
from tests.samples import envelope_of, transfer_requested

CODE = "000.00.01.H59-261130-0042"


@pytest.fixture
async def apps(
    common_settings: CommonSettings, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, int]]:
    smtp_port = free_port()  # nothing listens yet: the relay is "down"
    common = common_settings.model_dump()
    notification = NotificationSettings(
        **common,
        smtp=SmtpSettings(host="127.0.0.1", port=smtp_port, timeout_s=2),
        sms=SmsSettings(provider="file", file=tmp_path / "sms.log"),
        retry=RetrySettings(max_attempts=2, initial_s=0.01, max_s=0.02, jitter_s=0.0),
        dispatch=DispatchSettings(poll_interval_s=0.05, lease_s=30),
    )
    async with served(notification_app(notification)) as notification_url:
        console = ConsoleSettings(
            **common,
            console=ConsoleOptions(actions_enabled=True, notification_url=notification_url),
        )
        async with (
            httpx.AsyncClient(base_url=notification_url, auth=ActAs("admin")) as notifier,
            running_app(console_app(console), ActAs("operations")) as desk,
        ):
            yield notifier, desk, smtp_port


async def failed_notification(
    notifier: httpx.AsyncClient, common_settings: CommonSettings
) -> dict[str, Any]:
    """The one notification of a hand-over, failed: nothing listens on the mail port yet."""
    await publish(common_settings, envelope_of(transfer_requested(CODE)))

    async def failed() -> Any:
        items = await notifications(notifier, CODE)
        return items if items and all(i["status"] == "failed" for i in items) else None

    [failure] = await eventually(failed, timeout=30)
    return dict(failure)


async def test_a_failed_email_is_redelivered_from_its_dead_letter(
    apps: tuple[httpx.AsyncClient, httpx.AsyncClient, int], common_settings: CommonSettings
) -> None:
    notifier, desk, smtp_port = apps
    failure = await failed_notification(notifier, common_settings)
    letters = await eventually(lambda: _letters_for(common_settings, failure["id"]))
    listed = (await desk.get("/api/deadletters", params={"error_kind": "delivery_failed"})).json()
    assert [item["notification_id"] for item in listed["items"]] == [failure["id"]]

    with smtp_sink(port=smtp_port) as smtp:
        position = f"{letters[0].partition}:{letters[0].offset}"
        answer = await desk.post("/api/deadletters/replay", json={"positions": [position]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["replayed"][0]["action"] == "redelivery"

        async def sent() -> Any:
            items = await notifications(notifier, CODE)
            return items if items[0]["status"] == "sent" else None

        [delivered] = await eventually(sent, timeout=30)
        assert len(smtp.messages) == 1
    assert delivered["id"] == failure["id"] and len(delivered["attempts"]) == 1

    recorded = (await desk.get("/api/actions")).json()["items"]
    assert [(a["action"], a["operator"], a["notification_id"], a["status"]) for a in recorded] == [
        ("redelivery", "ops", failure["id"], "sent")
    ]
    facts = [
        Envelope.from_bytes(r.value)
        for r in await read_topic(common_settings.kafka, OPERATIONS_EVENTS, expect=1)
    ]
    assert [(f.type, f.subject, f.data["operator"]) for f in facts] == [
        ("operations.notification.redelivery.requested.v1", CODE, "ops")
    ]


async def test_a_letter_of_a_notification_redelivered_since_is_refused_not_recorded(
    apps: tuple[httpx.AsyncClient, httpx.AsyncClient, int], common_settings: CommonSettings
) -> None:
    notifier, desk, smtp_port = apps
    failure = await failed_notification(notifier, common_settings)
    [letter] = await eventually(lambda: _letters_for(common_settings, failure["id"]))
    with smtp_sink(port=smtp_port) as smtp:  # redelivered from the dossier's page first
        asked = await desk.post(f"/api/notifications/{failure['id']}/redeliver", json={})
        assert asked.status_code == 200, asked.text

        async def sent() -> Any:
            [item] = (await desk.get("/api/actions")).json()["items"]
            return item if item["status"] == "sent" else None

        await eventually(sent, timeout=30)
        assert len(smtp.messages) == 1

    position = f"{letter.partition}:{letter.offset}"
    answer = await desk.post("/api/deadletters/replay", json={"positions": [position]})
    assert answer.status_code == 200, answer.text
    [outcome] = answer.json()["replayed"]
    assert (outcome["id"], outcome["status"], outcome["code"]) == (
        None,
        "refused",
        "not_redeliverable",
    )
    assert outcome["notification_status"] == "sent"
    recorded = (await desk.get("/api/actions")).json()["items"]
    assert [a["_id"] for a in recorded] == [asked.json()["id"]]
    facts = await read_topic(common_settings.kafka, OPERATIONS_EVENTS, expect=1)
    assert [Envelope.from_bytes(r.value).id for r in facts] == [asked.json()["id"]]


async def test_a_redelivery_notification_would_not_carry_out_is_refused_up_front(
    apps: tuple[httpx.AsyncClient, httpx.AsyncClient, int], common_settings: CommonSettings
) -> None:
    notifier, desk, smtp_port = apps
    unknown = await desk.post("/api/notifications/does-not-exist/redeliver", json={})
    assert unknown.status_code == 404, unknown.text
    assert unknown.headers["content-type"] == "application/problem+json"
    assert (unknown.json()["code"], unknown.json()["field"]) == (
        "notification_not_found",
        "notification_id",
    )

    with smtp_sink(port=smtp_port) as smtp:  # the relay is up: the e-mail goes out
        await publish(common_settings, envelope_of(transfer_requested(CODE)))

        async def sent() -> Any:
            items = await notifications(notifier, CODE)
            return items if items and items[0]["status"] == "sent" else None

        [delivered] = await eventually(sent, timeout=30)
        again = await desk.post(f"/api/notifications/{delivered['id']}/redeliver", json={})
    assert again.status_code == 409, again.text
    assert (again.json()["code"], again.json()["notification_status"]) == (
        "not_redeliverable",
        "sent",
    )
    assert len(smtp.messages) == 1
    # Nothing was recorded, audited, or asked of notification.
    assert (await desk.get("/api/actions")).json()["items"] == []
    assert await read_topic(common_settings.kafka, OPERATIONS_EVENTS, expect=0) == []
    [after] = await notifications(notifier, CODE)
    assert after["redelivery_requests"] == [] and len(after["attempts"]) == 1


async def test_actions_are_refused_while_the_console_is_read_only(
    common_settings: CommonSettings,
) -> None:
    settings = ConsoleSettings(
        **common_settings.model_dump(), console=ConsoleOptions(actions_enabled=False)
    )
    async with running_app(console_app(settings), ActAs("operations")) as desk:
        refused = await desk.post("/api/deadletters/replay", json={"positions": ["0:0"]})
        assert refused.status_code == 403
        assert refused.json()["code"] == "actions_disabled"
        assert (await desk.get("/api/config")).json()["actions_enabled"] is False
        page = await desk.get("/")
        assert page.status_code == 200 and "/static/vendor/echarts.min.js" in page.text
        assert (await desk.get("/static/vendor/echarts.min.js")).status_code == 200


async def _letters_for(common: CommonSettings, notification_id: str) -> Any:
    letters = await read_dead_letters(common.kafka)
    wanted = [
        dl for dl in letters if header_value(dl.headers, "dlq_notification_id") == notification_id
    ]
    return wanted or None
