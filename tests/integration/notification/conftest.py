"""Fixtures for notification integration tests: real SMTP sink, webhook receiver, settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from notification.config import (
    DispatchSettings,
    NotificationSettings,
    RetrySettings,
    SmsSettings,
    SmtpSettings,
    WebhookSettings,
)
from notification.store import NotificationStore

from shared.clock import ManualClock
from shared.runtime import CommonSettings, ServiceRuntime, service_runtime
from tests.integration.notification.servers import (
    WebhookReceiver,
    _Collector,
    smtp_sink,
    webhook_receiver,
)
from tests.samples import AT


@pytest.fixture
async def runtime(settings: NotificationSettings) -> AsyncIterator[ServiceRuntime]:
    """The service's runtime alone (no consumers, no dispatcher), on a manual clock."""
    clock = ManualClock(AT)
    async with service_runtime("notification", settings, clock) as rt:
        await NotificationStore(rt.db).ensure_indexes()
        yield rt


@pytest.fixture
def smtp() -> Iterator[_Collector]:
    with smtp_sink() as sink:
        yield sink


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with webhook_receiver() as running:
        yield running


@pytest.fixture
def sms_file(tmp_path: Path) -> Path:
    return tmp_path / "sms.log"


@pytest.fixture
def settings(
    common_settings: CommonSettings, smtp: _Collector, sms_file: Path
) -> NotificationSettings:
    """The service against the test's broker topics, store, SMTP sink; tiny retry waits."""
    return NotificationSettings(
        **common_settings.model_dump(),
        smtp=SmtpSettings(host="127.0.0.1", port=smtp.port, timeout_s=5),
        sms=SmsSettings(provider="file", file=sms_file),
        retry=RetrySettings(max_attempts=3, initial_s=0.01, max_s=0.05, jitter_s=0.01),
        # The receiver is a local plain-http server: the development settings admit it.
        webhook=WebhookSettings(
            timeout_s=5,
            pause_after_failures=2,
            allow_http=True,
            allowed_networks=["127.0.0.1/32"],
        ),
        dispatch=DispatchSettings(poll_interval_s=0.05, lease_s=30),
    )
