"""A relay's refusal that echoes the applicant (address and name) is kept as its codes:
the attempt, the notification's error, ``notification.failed.v1``, the dead letter and
every log line above DEBUG say ``SMTP recipient refused: 550 5.1.1``, nothing the relay
wrote. Against a real SMTP server, broker and store."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from notification.config import NotificationSettings
from notification.main import create_app

from shared.app import runtime_of
from shared.events.dossier import Channel, Language
from shared.kafka.deadletter import read_dead_letters
from shared.testing import ActAs, envelopes, eventually, read_topic, running_app
from shared.topics import NOTIFICATION_EVENTS
from tests.integration.notification.helpers import notifications, publish
from tests.integration.notification.servers import _Collector, smtp_sink
from tests.samples import contact, envelope_of, received, registered

CODE = "001.21.31.H59-261201-0007"
EMAIL, NAME, PHONE = "nguyen.thi.hoa@example.vn", "Nguyen Thi Hoa", "0912345678"
# What a relay may answer (SMTP replies are ASCII: the name without its diacritics).
REPLY = f"5.1.1 <{EMAIL}>: Recipient address rejected: user {NAME} unknown ({PHONE})"
HOA = contact(
    name="Nguyễn Thị Hoa", email=EMAIL, phone=PHONE, channels=(Channel.EMAIL,), language=Language.VI
)


class _Refusing(_Collector):
    """Refuses the applicant's address with a reply that names her; takes the others."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.lower() == EMAIL:
            return f"550 {REPLY}"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[_Collector]:
    with smtp_sink(handler=_Refusing()) as sink:
        yield sink


async def test_a_relays_reply_naming_the_recipient_is_kept_as_its_codes(
    settings: NotificationSettings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # production level
    app = create_app(settings)
    async with running_app(app, ActAs("admin")) as client:
        await publish(settings, envelope_of(registered(CODE, HOA)), envelope_of(received(CODE)))

        async def settled() -> list[dict[str, Any]] | None:
            items = await notifications(client, CODE)
            mine = [i for i in items if i["recipient_kind"] == "applicant"]
            done = all(i["status"] in ("sent", "failed") for i in items)
            return items if mine and mine[0]["status"] == "failed" and done else None

        items = await eventually(settled)
        [item] = [i for i in items if i["recipient_kind"] == "applicant"]

        async def relayed() -> bool:
            return await runtime_of(app).outbox.count_pending() == 0

        await eventually(relayed)
        answer = json.dumps(await notifications(client, CODE), ensure_ascii=False)

    expected = "SMTP recipient refused: 550 5.1.1"
    # Permanent (5xx): one attempt, no retry.
    assert [(a["outcome"], a["error"]) for a in item["attempts"]] == [("failed", expected)]
    assert item["error"] == expected
    [letter] = await read_dead_letters(settings.kafka)
    assert letter.error == f"DeliveryError: {expected}" and letter.error_redacted
    outcomes = envelopes(await read_topic(settings.kafka, NOTIFICATION_EVENTS, expect=len(items)))
    [failure] = [o for o in outcomes if o.type == "notification.failed.v1"]
    assert failure.data["error"] == expected

    kept = [answer, letter.error, json.dumps(failure.data, ensure_ascii=False)]
    logged = [
        f"{r.getMessage()} {r.__dict__} {r.exc_text or ''}"
        for r in caplog.records
        if r.levelno > logging.DEBUG and not r.name.startswith("mail.log")
    ]
    assert any("notification failed" in line and expected in line for line in logged)
    for text in kept + logged:
        for personal in (EMAIL, NAME, PHONE, "Recipient address rejected"):
            assert personal not in text
