"""The SMS channel and its provider adapters. No real provider is written yet: by
default the channel is disabled and its deliveries fail permanently with the reason
``sms_disabled``; the file adapter stands in for a provider in local development only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from notification.channels import DeliveryError, OutgoingMessage
from notification.config import SmsSettings


class SmsProvider(Protocol):
    """A provider's API: a real one is another class with this method."""

    async def send_sms(self, phone: str, text: str, *, reference: str) -> None: ...


class FileSmsProvider:
    """The local stand-in for a provider: appends one JSON line per SMS to a file.

    The append runs on the event loop: one short line to a local file (about 20 us)
    costs less than handing it to a thread and back (about 120 us of CPU, measured),
    and nothing else can interleave with it.
    """

    def __init__(self, path: Path, sender_id: str) -> None:
        self._path = path
        self._sender_id = sender_id

    async def send_sms(self, phone: str, text: str, *, reference: str) -> None:
        line = json.dumps(
            {"to": phone, "from": self._sender_id, "text": text, "reference": reference},
            ensure_ascii=False,
        )
        try:
            self._append(line)
        except OSError as exc:
            raise DeliveryError(f"SMS file unavailable: {type(exc).__name__}") from exc

    def _append(self, line: str) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with self._path.open("a", encoding="utf-8") as file:
            file.write(line + "\n")


SMS_DISABLED = "SMS channel disabled: no SMS provider configured (LT_NOTIFICATION_SMS_PROVIDER)"
SMS_DISABLED_REASON = "sms_disabled"


def stored_reason(attempt: Mapping[str, Any]) -> str | None:
    """The reason of a stored attempt (``DeliveryError.reason``). Attempts stored before
    reasons were (they hold only the error text) are read by that text: a legacy fallback
    for those records, which the records' retention ends."""
    reason = attempt.get("reason")
    if reason is None and attempt.get("error") == SMS_DISABLED:
        return SMS_DISABLED_REASON
    return str(reason) if reason is not None else None


class DisabledSmsProvider:
    """No provider: an SMS is never handed to anyone, so its delivery fails at once
    (permanently: retrying cannot help) and is recorded as failed with the reason, never
    as sent. Nothing about the message is kept outside the delivery record."""

    async def send_sms(self, phone: str, text: str, *, reference: str) -> None:
        raise DeliveryError(SMS_DISABLED, permanent=True, reason=SMS_DISABLED_REASON)


def build_sms_provider(settings: SmsSettings) -> SmsProvider:
    """The configured provider adapter."""
    if settings.provider == "none":
        return DisabledSmsProvider()
    if settings.provider == "file":
        return FileSmsProvider(settings.file, settings.sender_id)
    raise ValueError(f"unknown SMS provider {settings.provider!r}")


class SmsChannel:
    """Text messages through a provider adapter."""

    def __init__(self, provider: SmsProvider) -> None:
        self._provider = provider

    async def send(self, message: OutgoingMessage) -> None:
        await self._provider.send_sms(
            message.address, message.body, reference=message.notification_id
        )
