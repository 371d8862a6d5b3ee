"""A delivery error is made of codes and fixed wording: a relay's or receiver's text that
echoes the recipient (name, address, phone) never reaches the attempt, the log, the event,
the dead letter or the API; texts stored before are shown by the same rule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiosmtplib
import httpx
import pytest
from notification.api import NotificationOut, SubscriptionOut
from notification.channels import DeliveryError, EmailChannel, WebhookChannel
from notification.config import SmtpSettings, WebhookSettings
from notification.delivery_errors import OLD_WITHHELD, shown, shown_pause_reason
from notification.egress import GuardedTransport
from notification.retry import CUT_OFF
from notification.sms import SMS_DISABLED

from shared.clock import ManualClock
from shared.events.dossier import Channel
from tests.samples import AT
from tests.unit.notification.test_channels import HOOK, message

EMAIL, NAME, PHONE = "nguyen.thi.hoa@example.vn", "Nguyen Thi Hoa", "0912345678"
ECHO = f"<{EMAIL}>: Recipient address rejected: user {NAME} unknown ({PHONE})"
PERSONAL = (EMAIL, NAME, PHONE, "Recipient address rejected")


async def email_failing_with(exc: BaseException) -> DeliveryError:
    channel = EmailChannel(SmtpSettings(host="127.0.0.1", port=1), ManualClock(AT))

    async def send(_: object) -> None:
        raise exc

    channel._connections.send = send  # type: ignore[method-assign,assignment]
    with pytest.raises(DeliveryError) as failed:
        await channel.send(message(Channel.EMAIL, address=EMAIL, subject="s", body="b"))
    return failed.value


@pytest.mark.parametrize(
    ("exc", "expected", "permanent"),
    [
        (
            aiosmtplib.SMTPRecipientsRefused(
                [aiosmtplib.SMTPRecipientRefused(550, f"5.1.1 {ECHO}", EMAIL)]
            ),
            "SMTP recipient refused: 550 5.1.1",
            True,
        ),
        (
            aiosmtplib.SMTPRecipientsRefused(
                [aiosmtplib.SMTPRecipientRefused(450, f"mailbox busy {ECHO}", EMAIL)]
            ),
            "SMTP recipient refused: 450",
            False,
        ),
        (
            aiosmtplib.SMTPDataError(554, f"5.7.1 message for {NAME} refused as spam"),
            "SMTP 554 5.7.1 (SMTPDataError)",
            True,
        ),
        (
            aiosmtplib.SMTPSenderRefused(451, f"4.3.0 try later {ECHO}", "noreply@x.vn"),
            "SMTP 451 4.3.0 (SMTPSenderRefused)",
            False,
        ),
        (
            aiosmtplib.SMTPServerDisconnected(f"closed while sending to {EMAIL}"),
            "SMTP unavailable: SMTPServerDisconnected",
            False,
        ),
        (
            ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 1)"),
            "SMTP unavailable: ConnectionRefusedError [errno 111]",
            False,
        ),
    ],
)
async def test_an_smtp_failure_keeps_its_codes_never_the_relays_words(
    exc: BaseException, expected: str, permanent: bool
) -> None:
    error = await email_failing_with(exc)
    assert (str(error), error.permanent) == (expected, permanent)
    assert shown(str(error)) == str(error)  # kept as it is wherever it goes


async def test_a_webhook_transport_error_keeps_its_class_not_the_receivers_bytes() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError(f"illegal status line: b'HTTP/1.1 500 {NAME}'")

    channel = WebhookChannel(
        httpx.AsyncClient(transport=httpx.MockTransport(answer)),
        WebhookSettings(),
        wall_time=lambda: 1_780_000_000,
    )
    with pytest.raises(DeliveryError) as failed:
        await channel.send(HOOK)
    assert str(failed.value) == "RemoteProtocolError"


@pytest.mark.parametrize(
    "text",
    [
        "SMTP recipient refused: 550 5.1.1",
        "SMTP 554 5.7.1 (SMTPDataError)",
        "SMTP unavailable: ConnectionRefusedError [errno 111]",
        "SMTP unavailable: SMTPTimeoutError",
        "HTTP 503 Service Unavailable",
        "HTTP 599",
        "timeout after 0.05s",
        "ConnectError",
        "ConnectError: egress refused: resolves to 10.0.0.1 is a private address",
        "ConnectError: egress refused: does not resolve",
        "channel error: KeyError at services/notification/channels.py:12 in send: message withheld",
        SMS_DISABLED,
        CUT_OFF,
        "SMS file unavailable: PermissionError",
        "subscription has no secret",
        "no attempts left",
    ],
)
def test_a_delivery_errors_own_forms_are_shown_as_they_are(text: str) -> None:
    assert shown(text) == text


@pytest.mark.parametrize(
    ("old", "expected"),
    [
        # As channels wrote them before (the address scrubbed, nothing else).
        (
            "SMTP recipient refused: [SMTPRecipientRefused(550, '5.1.1 <***>: Recipient "
            f"address rejected: user {NAME} unknown ({PHONE})', '***')]",
            "SMTP recipient refused: 550 5.1.1",
        ),
        (f"SMTP 554: 5.7.1 message for {NAME} refused", "SMTP 554 5.7.1"),
        (f"SMTP 421: service closing, {NAME}", "SMTP 421"),
        (
            f"SMTP unavailable: SMTPConnectError: Error connecting to {PHONE}",
            "SMTP unavailable: SMTPConnectError",
        ),
        (
            f"RemoteProtocolError: illegal status line: b'500 {NAME}'",
            f"RemoteProtocolError: {OLD_WITHHELD}",
        ),
        (f"RuntimeError: no template for {NAME}", f"RuntimeError: {OLD_WITHHELD}"),
        (f"HTTP 500 {NAME}", f"delivery error: {OLD_WITHHELD}"),
        (f"invalid webhook URL: Invalid port: '{PHONE}'", f"delivery error: {OLD_WITHHELD}"),
        (NAME, f"delivery error: {OLD_WITHHELD}"),
    ],
)
def test_a_text_stored_before_is_shown_as_its_codes_or_class(old: str, expected: str) -> None:
    assert shown(old) == expected
    assert shown(expected) == expected  # the rule is applied again wherever it goes
    for personal in PERSONAL:
        assert personal not in expected


def test_the_api_shows_stored_errors_by_the_rule() -> None:
    old = f"SMTP 550: 5.1.1 <***>: user {NAME} unknown"
    now = datetime(2026, 12, 1, tzinfo=UTC)
    doc: dict[str, Any] = {
        "_id": "n-1",
        "dossier_code": "D-1",
        "source_event_id": "e-1",
        "source_event_type": "dossier.received.v2",
        "recipient_kind": "applicant",
        "display": "n***@e***.vn",
        "recipient_ref": "applicant:abc",
        "channel": "email",
        "status": "failed",
        "attempts": [{"number": 1, "at": now, "outcome": "failed", "error": old}],
        "created_at": now,
        "failed_at": now,
        "error": old,
    }
    shown_doc = NotificationOut.of(doc)
    assert shown_doc.error == "SMTP 550 5.1.1"
    assert [a.error for a in shown_doc.attempts] == ["SMTP 550 5.1.1"]
    subscription = SubscriptionOut.of(
        {
            "_id": "s-1",
            "url": "https://a.example/h",
            "event_types": ["dossier.received.v2"],
            "units": [],
            "status": "paused",
            "created_at": now,
            "last_error": f"RemoteProtocolError: illegal status line: b'{NAME}'",
            "paused_reason": f"3 consecutive failed deliveries; last: RuntimeError: {NAME}",
        }
    )
    assert subscription.last_error == f"RemoteProtocolError: {OLD_WITHHELD}"
    assert subscription.paused_reason == (
        f"3 consecutive failed deliveries; last: RuntimeError: {OLD_WITHHELD}"
    )
    assert shown_pause_reason(None) is None


async def test_an_egress_refusal_keeps_the_guards_reason_without_the_host() -> None:
    channel = WebhookChannel(
        httpx.AsyncClient(transport=GuardedTransport([])),
        WebhookSettings(allow_http=True),
        wall_time=lambda: 1_780_000_000,
    )
    hook = message(Channel.WEBHOOK, address="http://127.0.0.1:9/h", payload=b"{}", secret="s")
    with pytest.raises(DeliveryError) as failed:
        await channel.send(hook)
    assert str(failed.value) == (
        "ConnectError: egress refused: resolves to 127.0.0.1 is a loopback address"
    )
    assert shown(str(failed.value)) == str(failed.value)


def test_the_api_shows_the_attempts_before_a_redelivery() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    failed = [
        {"number": n, "at": now, "outcome": "failed", "error": "HTTP 500 Internal Server Error"}
        for n in (1, 2)
    ]
    doc: dict[str, Any] = {
        "_id": "n-2",
        "dossier_code": "D-1",
        "source_event_id": "e-1",
        "source_event_type": "dossier.received.v2",
        "recipient_kind": "subscriber",
        "display": "https://a.example/h",
        "recipient_ref": "subscription:s-1",
        "channel": "webhook",
        "status": "sent",
        # As a queued redelivery leaves it (redelivery.py), then its sent attempt.
        "attempts": [{"number": 1, "at": now, "outcome": "ok"}],
        "earlier_attempts": [*failed[:1], {**failed[1], "error": f"RuntimeError: {NAME}"}],
        "redeliveries": 1,
        "created_at": now,
        "sent_at": now,
    }
    shown_doc = NotificationOut.of(doc)
    assert [a.outcome for a in shown_doc.attempts] == ["ok"]
    assert [(a.number, a.outcome) for a in shown_doc.earlier_attempts] == [
        (1, "failed"),
        (2, "failed"),
    ]
    assert [a.error for a in shown_doc.earlier_attempts] == [
        "HTTP 500 Internal Server Error",
        f"RuntimeError: {OLD_WITHHELD}",
    ]
