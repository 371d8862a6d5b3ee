"""A dossier's journey on the real broker and store tells applicants, units and agencies.

Messages land in a real SMTP server, the SMS file and a real webhook receiver, each in
the recipient's language; a duplicate event sends nothing more; audit gets one
notification.sent.v1 per message; contact data never appears in logs.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from notification.config import NotificationSettings
from notification.main import create_app

from shared.app import runtime_of
from shared.envelope import Envelope
from shared.events.dossier import Channel, Language
from shared.testing import ActAs, envelopes, eventually, read_topic, running_app
from shared.topics import NOTIFICATION_EVENTS
from tests.integration.notification.helpers import notifications, publish, sms_lines
from tests.integration.notification.servers import WebhookReceiver, _Collector
from tests.samples import (
    COMMUNE_DESK,
    contact,
    denied,
    done,
    envelope_of,
    overdue,
    received,
    registered,
    result_ready,
    step_due_soon,
    step_overdue,
    stopped,
    supplement_provided,
    supplement_requested,
    transfer_accepted,
    transfer_requested,
)

A, B, C = (f"001.21.31.H59-261126-000{n}" for n in (1, 2, 3))
LAND_UNIT_EMAIL = "000-06-31-h59@tiengiang.example"  # from data/notification/unit-channels.json
AN = contact(
    name="Nguyễn Văn An",
    email="an.nguyen@example.vn",
    phone="0901234567",
    channels=(Channel.EMAIL, Channel.SMS),
    language=Language.VI,
)
JANE = contact(
    name="Jane Tran",
    email="jane.tran@example.com",
    phone="0912345678",
    channels=(Channel.EMAIL,),
    language=Language.EN,
)
PETER = contact(
    name="Peter Le", email="peter.le@example.com", phone=None, channels=(), language=Language.EN
)
PERSONAL = [
    "an.nguyen@example.vn",
    "0901234567",
    "jane.tran@example.com",
    "0912345678",
    "peter.le@example.com",
]


def journey() -> list[Envelope]:
    return [
        envelope_of(event)
        for event in (
            registered(A, AN),  # A's contact comes first, B's and C's after their facts
            received(A),
            transfer_requested(A),
            transfer_accepted(A),
            supplement_requested(A),
            supplement_provided(A),
            step_due_soon(A),
            step_overdue(A),
            overdue(A),
            result_ready(A),
            done(A),
            received(B),
            stopped(B),
            denied(C),
            registered(B, JANE),
            registered(C, PETER),
        )
    ]


def subjects(smtp: _Collector, address: str) -> set[str]:
    return {m.subject for m in smtp.to(address)}


async def test_full_journey_tells_everyone_once_in_their_language(
    settings: NotificationSettings,
    smtp: _Collector,
    receiver: WebhookReceiver,
    sms_file: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)  # production level; our own loggers fully
    caplog.set_level(logging.DEBUG, logger="notification")
    portal = receiver.endpoint("portal")
    events = journey()

    app = create_app(settings)
    async with running_app(app, ActAs("admin")) as client:
        created = await client.post(
            "/v1/subscriptions",
            json={
                "url": receiver.url("portal"),
                "event_types": ["dossier.received.v2", "dossier.result.ready.v1"],
                "units": [COMMUNE_DESK],
            },
        )
        assert created.status_code == 201, created.text
        portal.secret = created.json()["secret"]
        await publish(settings, *events)

        # 4 to An, 3 to the land registry, 2 to Jane, 1 to Peter; 4 SMS to An; 3 webhooks.
        await eventually(lambda: _count(smtp, 10))
        await eventually(lambda: _count(portal.accepted, 3))
        await eventually(lambda: _lines(sms_file, 4))

        assert subjects(smtp, "an.nguyen@example.vn") == {
            f"Hồ sơ {A} đã được tiếp nhận",
            f"Yêu cầu bổ sung hồ sơ {A}",
            f"Phiếu xin lỗi và hẹn lại ngày trả kết quả hồ sơ {A}",
            f"Hồ sơ {A} đã có kết quả",
        }
        assert all("Kính gửi Ông/Bà Nguyễn Văn An" in m.body for m in smtp.to(AN.email or ""))
        assert subjects(smtp, LAND_UNIT_EMAIL) == {
            f"[Liên thông] Hồ sơ {A} chờ tiếp nhận",
            f"[Sắp đến hạn] Hồ sơ {A} sắp đến hạn xử lý bước 2",
            f"[Quá hạn] Hồ sơ {A} quá hạn xử lý bước 2",
        }
        [due_soon] = [m for m in smtp.to(LAND_UNIT_EMAIL) if m.subject.startswith("[Sắp")]
        assert "Hạn xử lý: 09/12/2026" in due_soon.body
        assert "Thời gian còn lại: 1 ngày làm việc" in due_soon.body
        assert subjects(smtp, "jane.tran@example.com") == {
            f"Your dossier {B} has been received",
            f"Processing of dossier {B} has stopped",
        }
        assert all("Dear Jane Tran" in m.body for m in smtp.to("jane.tran@example.com"))
        assert subjects(smtp, "peter.le@example.com") == {f"Dossier {C} was not accepted"}
        reception = smtp.to("an.nguyen@example.vn")
        assert any(f"/v1/dossiers/{A}" in m.body and "18/12/2026" in m.body for m in reception)

        texts = [json.loads(line) for line in sms_lines(sms_file)]
        assert {t["to"] for t in texts} == {"0901234567"}  # Jane chose email only
        assert any(t["text"].startswith(f"Ho so {A} da duoc tiep nhan") for t in texts)

        assert sorted((a["event_type"], a["event_id"]) for a in portal.accepted) == sorted(
            (e.type, e.id)
            for e in events
            if e.type in ("dossier.received.v2", "dossier.result.ready.v1")
        )
        assert portal.rejected == [] and portal.duplicates == 0

        # email, SMS, unit emails, webhooks; all settled once the channels accepted them
        items = await eventually(lambda: _settled(client, A, 4 + 4 + 3 + 2))
        assert all(len(i["attempts"]) == 1 and i["attempts"][0]["outcome"] == "ok" for i in items)
        shown = {(i["recipient_kind"], i["channel"], i["recipient"]) for i in items}
        assert ("applicant", "email", "a***@e***.vn") in shown
        assert ("applicant", "sms", "*******567") in shown
        listing = json.dumps(items)
        assert not [p for p in PERSONAL if p in listing]

        # The same event again (a redelivery), then a new one on the same dossier as a barrier.
        barrier = envelope_of(step_overdue(A).model_copy(update={"step_index": 2}))
        await publish(settings, events[0], barrier)
        await eventually(lambda: _count(smtp, 11))
        await eventually(lambda: _settled(client, A, 14))
        await eventually(lambda: _relayed(app))
        assert len(smtp.to("an.nguyen@example.vn")) == 4
        assert len(sms_lines(sms_file)) == 4
        assert len(portal.accepted) == 3 and portal.duplicates == 0

    outcomes = envelopes(await read_topic(settings.kafka, NOTIFICATION_EVENTS, expect=18))
    assert len(outcomes) == 11 + 4 + 3  # emails (with the barrier's), SMS, webhooks
    _check_outcomes(outcomes)
    _check_logs(caplog)


def _check_outcomes(outcomes: list[Envelope]) -> None:
    assert {o.type for o in outcomes} == {"notification.sent.v1"}
    refs = [o.data["recipient_ref"] for o in outcomes]
    assert not [r for r in refs if any(p in r for p in PERSONAL)]
    assert len({o.data["notification_id"] for o in outcomes}) == len(outcomes)


def _check_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Contact data never reaches a log line (aiosmtpd's own log is the test's SMTP server)."""
    ours = [r for r in caplog.records if not r.name.startswith("mail.log")]
    assert any(r.name.startswith("notification") for r in ours)
    for record in ours:
        text = f"{record.getMessage()} {record.__dict__} {record.exc_text or ''}"
        leaked = [p for p in PERSONAL if p in text]
        assert not leaked, f"{record.name}: {leaked}"


async def _count(items: object, n: int) -> bool:
    messages = items.messages if isinstance(items, _Collector) else items
    assert isinstance(messages, list)
    assert len(messages) <= n, f"more than {n}: {len(messages)}"
    return len(messages) == n


async def _settled(client: httpx.AsyncClient, dossier: str, n: int) -> list[dict[str, Any]]:
    items = await notifications(client, dossier)
    assert len(items) <= n
    done = len(items) == n and all(i["status"] == "sent" for i in items)
    return items if done else []


async def _relayed(app: FastAPI) -> bool:
    return await runtime_of(app).outbox.count_pending() == 0


async def _lines(path: Path, n: int) -> bool:
    return len(sms_lines(path)) == n
