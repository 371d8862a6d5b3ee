"""Channels without servers: email headers, SMS file adapter, webhook signing and status mapping."""

from __future__ import annotations

import json
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import httpx
import pytest
from notification.channels import (
    DeliveryError,
    EmailChannel,
    FileSmsProvider,
    OutgoingMessage,
    SmsChannel,
    WebhookChannel,
)
from notification.config import SmtpSettings, WebhookSettings
from notification.signing import verify

from shared.clock import ManualClock
from shared.events.dossier import Channel
from tests.samples import AT

SECRET = "agency-shared-secret-0001"


def message(channel: Channel, **extra: object) -> OutgoingMessage:
    return OutgoingMessage(
        notification_id="n-1",
        channel=channel,
        address=str(extra.pop("address", "an@example.vn")),
        dossier_code="D-1",
        event_id="e-1",
        event_type="dossier.received.v1",
        **extra,  # type: ignore[arg-type]
    )


def test_email_carries_a_stable_message_id_language_and_dossier() -> None:
    channel = EmailChannel(
        SmtpSettings(sender="Một cửa liên thông <desk@x.example>"), ManualClock(AT)
    )
    subject = "Thư xin lỗi và hẹn lại ngày trả kết quả hồ sơ 001.21.31.H59-261126-0001"
    built = channel.build(message(Channel.EMAIL, subject=subject, body="Nội dung", language="vi"))
    wire = built.as_bytes()
    assert max(len(line) for line in wire.splitlines()) <= 78
    email = message_from_bytes(wire, policy=default)
    assert email["Subject"] == subject  # folded into encoded words, spaces kept
    assert email["From"] == "Một cửa liên thông <desk@x.example>"
    assert (email["To"], email["Content-Language"]) == ("an@example.vn", "vi")
    assert email["Message-ID"] == "<n-1@notification.lienthong>"
    assert email["X-LT-Dossier"] == "D-1" and email["X-LT-Event-Id"] == "e-1"
    assert email.get_content().strip() == "Nội dung"


async def test_file_sms_provider_appends_one_json_line_per_message(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "sms.log"
    channel = SmsChannel(FileSmsProvider(path, "LIENTHONG"))
    await channel.send(message(Channel.SMS, address="0901234567", body="Ho so D-1"))
    await channel.send(message(Channel.SMS, address="0907654321", body="Ho so D-2"))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [
        {"to": "0901234567", "from": "LIENTHONG", "text": "Ho so D-1", "reference": "n-1"},
        {"to": "0907654321", "from": "LIENTHONG", "text": "Ho so D-2", "reference": "n-1"},
    ]


RECEIVER_BODY = "stack trace of the receiver: db password=hunter2"


def webhook(
    status: int, seen: list[httpx.Request], settings: WebhookSettings | None = None
) -> WebhookChannel:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, text=RECEIVER_BODY)

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    return WebhookChannel(client, settings or WebhookSettings(), wall_time=lambda: 1_780_000_000)


async def test_webhook_posts_the_envelope_signed_with_the_subscription_secret() -> None:
    seen: list[httpx.Request] = []
    body = b'{"id":"e-1"}'
    await webhook(200, seen).send(
        message(Channel.WEBHOOK, address="https://a.example/h", payload=body, secret=SECRET)
    )
    [request] = seen
    assert request.content == body
    assert request.headers["X-LT-Event-Id"] == "e-1"
    assert request.headers["X-LT-Event-Type"] == "dossier.received.v1"
    assert request.headers["X-LT-Delivery-Id"] == "n-1"
    assert request.headers["Content-Type"] == "application/cloudevents+json"
    signature = request.headers["X-LT-Signature"]
    assert verify(SECRET, body, signature, now=1_780_000_000) == 1_780_000_000


@pytest.mark.parametrize(
    ("status", "permanent"),
    [
        (500, False),
        (503, False),
        (429, False),
        (408, False),
        (400, True),
        (401, True),
        (404, True),
        (301, True),
    ],
)
async def test_webhook_errors_are_retryable_unless_the_receiver_refuses(
    status: int, permanent: bool
) -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(DeliveryError) as failed:
        await webhook(status, seen).send(
            message(Channel.WEBHOOK, address="https://a.example/h", payload=b"{}", secret=SECRET)
        )
    assert failed.value.permanent is permanent
    # The status code and its standard phrase, never what the receiver answered.
    assert str(failed.value) == f"HTTP {status} {httpx.codes.get_reason_phrase(status)}"
    assert "hunter2" not in str(failed.value)


async def test_plain_http_is_refused_at_delivery_unless_allowed() -> None:
    seen: list[httpx.Request] = []
    plain = message(Channel.WEBHOOK, address="http://a.example/h", payload=b"{}", secret=SECRET)
    with pytest.raises(DeliveryError) as failed:
        await webhook(200, seen).send(plain)
    assert failed.value.permanent and seen == []
    await webhook(200, seen, WebhookSettings(allow_http=True)).send(plain)
    assert len(seen) == 1


async def test_webhook_without_secret_fails_permanently_without_sending() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(DeliveryError) as failed:
        await webhook(200, seen).send(message(Channel.WEBHOOK, address="https://a.example/h"))
    assert failed.value.permanent and seen == []


async def test_unreachable_smtp_server_is_a_retryable_failure() -> None:
    channel = EmailChannel(SmtpSettings(host="127.0.0.1", port=1, timeout_s=2), ManualClock(AT))
    with pytest.raises(DeliveryError) as failed:
        await channel.send(message(Channel.EMAIL, subject="s", body="b"))
    assert not failed.value.permanent
    assert "an@example.vn" not in str(failed.value)
