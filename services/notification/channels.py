"""Channels: how a message leaves the service, behind one small Protocol.

``send(message)`` returns when the channel accepted the message and raises
``DeliveryError`` otherwise (``permanent`` when retrying cannot help). Email goes
over SMTP (aiosmtplib); SMS through a provider adapter (``sms``: no real provider is
written yet: by default the SMS channel is disabled and its deliveries fail, and the
file adapter stands in for a provider in local development only); webhooks are signed
HTTP POSTs.
Channels never log addresses, and a ``DeliveryError``'s text is made of codes and fixed
wording only (``delivery_errors``): never what a relay or a receiver wrote.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.header import Header
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from typing import Protocol, runtime_checkable

import aiosmtplib
import httpx

from notification.config import SmtpSettings, WebhookSettings
from notification.delivery_errors import (
    smtp_answer,
    smtp_refused,
    smtp_unavailable,
    transport_error,
)
from notification.egress import EgressRefused
from notification.signing import (
    DELIVERY_ID_HEADER,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    sign,
)
from notification.smtp import SmtpPool
from shared.clock import Clock
from shared.events.dossier import Channel

RETRYABLE_HTTP = frozenset({408, 425, 429})


@dataclass(frozen=True)
class OutgoingMessage:
    """One message for one recipient on one channel."""

    notification_id: str
    channel: Channel
    address: str
    dossier_code: str
    event_id: str
    event_type: str
    subject: str = ""
    body: str = ""
    payload: bytes = b""
    language: str | None = None
    secret: str | None = None


class DeliveryError(Exception):
    """The channel did not accept the message.

    ``reason``: a code for a failure the dispatcher treats apart (``SMS_DISABLED_REASON``),
    stored with the attempt so that an outcome rebuilt from it after a restart keeps it;
    None for any other failure. The message is codes and fixed wording
    (``delivery_errors``). ``message_in_clear``: its maker passed it through
    ``delivery_errors.shown`` (and scrubbed the address), so a dead letter may keep it
    whole (``shared.error_text``)."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        reason: str | None = None,
        message_in_clear: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.reason = reason
        self.message_in_clear = message_in_clear


class MessageChannel(Protocol):
    async def send(self, message: OutgoingMessage) -> None:
        """Hand the message over, or raise DeliveryError."""
        ...


@runtime_checkable
class ClosableChannel(Protocol):
    """A channel holding connections, closed when the dispatcher is."""

    async def close(self) -> None: ...


class EmailChannel:
    """Plain-text email through an SMTP relay, on connections kept open (``smtp``)."""

    def __init__(self, settings: SmtpSettings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        self._connections = SmtpPool(settings, settings.connections)

    def build(self, message: OutgoingMessage) -> MIMEText:
        """The wire form. compat32 ``Header`` folds long Vietnamese subjects into encoded
        words correctly; ``EmailMessage`` (CPython 3.11) drops the space between them."""
        email = MIMEText(message.body, "plain", "utf-8")
        name, sender = parseaddr(self._settings.sender)
        email["From"] = formataddr((name, sender), charset="utf-8")
        email["To"] = message.address
        email["Subject"] = Header(message.subject, "utf-8", header_name="Subject")  # type: ignore[assignment]
        email["Date"] = format_datetime(self._clock.now())
        # A stable id: a resend after a crash is recognisable as the same message.
        email["Message-ID"] = f"<{message.notification_id}@notification.lienthong>"
        email["Content-Language"] = message.language or "vi"
        email["X-LT-Dossier"] = message.dossier_code
        email["X-LT-Event-Id"] = message.event_id
        return email

    async def send(self, message: OutgoingMessage) -> None:
        try:
            await self._connections.send(self.build(message))
        except aiosmtplib.SMTPRecipientsRefused as exc:
            # The relay's codes only (``delivery_errors``): its text may name the recipient.
            permanent = all(err.code >= 500 for err in exc.recipients)
            raise DeliveryError(smtp_refused(exc), permanent=permanent) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(smtp_answer(exc), permanent=exc.code >= 500) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(smtp_unavailable(exc)) from exc

    async def close(self) -> None:
        await self._connections.close()


class WebhookChannel:
    """Signed HTTP POSTs of the event envelope to agency systems."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: WebhookSettings,
        wall_time: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._settings = settings
        # Signatures carry real time: receivers compare it with their own clocks.
        self._wall_time = wall_time

    def headers(self, message: OutgoingMessage) -> dict[str, str]:
        if not message.secret:
            raise DeliveryError("subscription has no secret", permanent=True)
        return {
            "Content-Type": "application/cloudevents+json",
            "User-Agent": self._settings.user_agent,
            SIGNATURE_HEADER: sign(message.secret, int(self._wall_time()), message.payload),
            EVENT_ID_HEADER: message.event_id,
            EVENT_TYPE_HEADER: message.event_type,
            DELIVERY_ID_HEADER: message.notification_id,
        }

    async def send(self, message: OutgoingMessage) -> None:
        try:
            # Read as the client will read it: ``HTTPS://`` is https too.
            scheme = httpx.URL(message.address).scheme
        except httpx.InvalidURL:  # stored before subscriptions were checked with httpx
            raise DeliveryError("invalid webhook URL", permanent=True) from None
        # The setting may have changed since the subscription was checked.
        if not (scheme == "https" or self._settings.allow_http):
            raise DeliveryError("plain-http webhook URLs are not allowed", permanent=True)
        status = await self._post(message, self.headers(message))
        if 200 <= status < 300:
            return
        permanent = 300 <= status < 500 and status not in RETRYABLE_HTTP
        # The status code and its standard phrase; never what the receiver wrote, on its
        # status line or in its body.
        phrase = httpx.codes.get_reason_phrase(status)
        raise DeliveryError(f"HTTP {status} {phrase}".strip(), permanent=permanent)

    async def _post(self, message: OutgoingMessage, headers: dict[str, str]) -> int:
        """POST and read the answer's status line and headers only, all within timeout_s.

        httpx's timeout bounds each network operation, not the attempt: a receiver
        dripping bytes, or an endless body, would hold a delivery slot (and memory). The
        body decides nothing, so it is never read; the connection is closed instead.
        """
        timeout_s = self._settings.timeout_s
        try:
            async with asyncio.timeout(timeout_s):
                async with self._client.stream(
                    "POST",
                    message.address,
                    content=message.payload,
                    headers=headers,
                    timeout=timeout_s,
                ) as response:
                    return response.status_code
        except (TimeoutError, httpx.TimeoutException) as exc:
            # Retryable like any timeout; not a channel bug, which retry.py makes permanent.
            raise DeliveryError(f"timeout after {timeout_s}s") from exc
        except httpx.HTTPError as exc:
            # The class only (a protocol error may quote the receiver's bytes); the egress
            # guard's refusal, our own words, names the address class.
            raise DeliveryError(transport_error(exc, _egress_refusal(exc))) from exc


def _egress_refusal(exc: BaseException) -> str | None:
    """The egress guard's reason, when it refused the connection (without the host)."""
    link: BaseException | None = exc
    for _ in range(5):  # httpx's error, httpcore's, the guard's
        if link is None:
            return None
        if isinstance(link, EgressRefused):
            return link.reason
        link = link.__cause__ or link.__context__
    return None
