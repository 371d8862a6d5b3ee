"""Channels without servers: email headers, SMS file adapter, webhook signing and status
mapping, and webhook answers bounded in size and time (a local socket plays a receiver
that drips its answer)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import httpx
import pytest
from notification.channels import DeliveryError, EmailChannel, OutgoingMessage, WebhookChannel
from notification.config import SmsSettings, SmtpSettings, WebhookSettings
from notification.retry import Attempt, RetryPolicy, send_with_retries
from notification.signing import verify
from notification.sms import (
    SMS_DISABLED,
    SMS_DISABLED_REASON,
    DisabledSmsProvider,
    FileSmsProvider,
    SmsChannel,
    build_sms_provider,
)

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


async def test_without_a_provider_an_sms_fails_at_once_and_is_written_nowhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LT_NOTIFICATION_SMS_PROVIDER", raising=False)
    settings = SmsSettings(file=tmp_path / "sms.log")
    provider = build_sms_provider(settings)  # the default: no provider
    assert isinstance(provider, DisabledSmsProvider)
    sent: list[Attempt] = []

    async def on_attempt(attempt: Attempt) -> None:
        sent.append(attempt)

    channel = SmsChannel(provider)
    outcome = await send_with_retries(
        lambda: channel.send(message(Channel.SMS, address="0901234567", body="Ho so D-1")),
        RetryPolicy(max_attempts=5, initial_s=0, max_s=0, jitter_s=0),
        now=ManualClock(AT).now,
        on_attempt=on_attempt,
    )
    # Failed, once (retrying cannot help), with the reason; never "sent".
    assert (outcome.delivered, outcome.attempts, outcome.error) == (False, 1, SMS_DISABLED)
    # The reason, not the text, says why: stored with the attempt, carried by the outcome.
    assert outcome.reason == SMS_DISABLED_REASON
    assert [a.reason for a in sent] == [SMS_DISABLED_REASON]
    assert not (tmp_path / "sms.log").exists()


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


async def test_an_upper_case_https_scheme_is_https_at_delivery() -> None:
    """The subscription check reads the scheme as httpx does; so does the delivery."""
    seen: list[httpx.Request] = []
    upper = message(Channel.WEBHOOK, address="HTTPS://a.example/h", payload=b"{}", secret=SECRET)
    await webhook(200, seen).send(upper)
    assert [str(request.url) for request in seen] == ["https://a.example/h"]


async def test_a_stored_url_httpx_cannot_read_fails_permanently_without_sending() -> None:
    seen: list[httpx.Request] = []
    bad = message(Channel.WEBHOOK, address="https://1.1.1.01/h", payload=b"{}", secret=SECRET)
    with pytest.raises(DeliveryError) as failed:
        await webhook(200, seen).send(bad)
    assert failed.value.permanent and seen == []
    assert "invalid webhook URL" in str(failed.value)


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


class LargeBody(httpx.AsyncByteStream):
    """A receiver's answer body of 16 MiB; counts what the client read of it."""

    def __init__(self) -> None:
        self.chunks_read = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(256):
            self.chunks_read += 1
            yield b"x" * 65536

    async def aclose(self) -> None:
        self.closed = True


def webhook_answering(
    answer: httpx.MockTransport, settings: WebhookSettings | None = None
) -> WebhookChannel:
    client = httpx.AsyncClient(transport=answer)
    return WebhookChannel(client, settings or WebhookSettings(), wall_time=lambda: 1_780_000_000)


HOOK = message(Channel.WEBHOOK, address="https://a.example/h", payload=b"{}", secret=SECRET)


async def test_a_webhook_answer_is_judged_by_its_status_without_reading_its_body() -> None:
    body = LargeBody()
    channel = webhook_answering(httpx.MockTransport(lambda _: httpx.Response(200, stream=body)))
    await channel.send(HOOK)
    assert (body.chunks_read, body.closed) == (0, True)


async def test_a_receiver_that_never_answers_is_a_retryable_failed_attempt() -> None:
    """MockTransport has no timeouts of its own: only the channel's whole-attempt bound
    ends these attempts, and each is recorded as failed and retried."""
    never = asyncio.Event()

    async def silent(request: httpx.Request) -> httpx.Response:
        await never.wait()
        raise AssertionError("unreachable")

    channel = webhook_answering(httpx.MockTransport(silent), WebhookSettings(timeout_s=0.05))
    attempts: list[Attempt] = []

    async def record(attempt: Attempt) -> None:
        attempts.append(attempt)

    async def no_wait(_: float) -> None:
        return None

    async with asyncio.timeout(5):
        outcome = await send_with_retries(
            lambda: channel.send(HOOK),
            RetryPolicy(max_attempts=2, initial_s=0, max_s=0, jitter_s=0),
            now=lambda: AT,
            on_attempt=record,
            sleep=no_wait,
        )
    assert (outcome.delivered, outcome.attempts) == (False, 2)
    assert [(a.ok, a.error) for a in attempts] == [(False, "timeout after 0.05s")] * 2


async def test_a_receiver_dripping_its_answer_is_cut_off_after_timeout_s() -> None:
    """Each byte comes well within timeout_s, so only a bound on the whole attempt ends it."""

    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        with contextlib.suppress(ConnectionError):  # until the client hangs up
            while not writer.is_closing():
                writer.write(b"a")
                await writer.drain()
                await asyncio.sleep(0.02)  # the receiver's pace, not a wait for an outcome

    server = await asyncio.start_server(drip, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = httpx.AsyncClient()
    channel = WebhookChannel(client, WebhookSettings(timeout_s=0.3, allow_http=True))
    hook = message(
        Channel.WEBHOOK, address=f"http://127.0.0.1:{port}/h", payload=b"{}", secret=SECRET
    )
    async with server, client:
        with pytest.raises(DeliveryError) as failed:
            async with asyncio.timeout(5):  # without the bound: 16 KiB of header at 50 B/s
                await channel.send(hook)
    assert (str(failed.value), failed.value.permanent) == ("timeout after 0.3s", False)


async def test_a_receivers_own_reason_phrase_is_not_kept() -> None:
    """The status line's phrase is the receiver's text too: the standard one is kept."""
    answer = httpx.Response(503, extensions={"reason_phrase": RECEIVER_BODY.encode()})
    channel = webhook_answering(httpx.MockTransport(lambda _: answer))
    with pytest.raises(DeliveryError) as failed:
        await channel.send(HOOK)
    assert str(failed.value) == "HTTP 503 Service Unavailable"
