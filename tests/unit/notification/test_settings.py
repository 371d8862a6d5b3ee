"""The dispatcher's stop settings: a send in flight may last the channels' timeouts, and
the budget leaves time after the grace to store what the sends did. The SMTP relay's
kind of TLS is one or the other."""

from __future__ import annotations

import pytest
from notification.config import (
    DispatchSettings,
    NotificationSettings,
    SmtpSettings,
    WebhookSettings,
)
from pydantic import ValidationError


def test_the_defaults_let_a_send_in_flight_end_on_stop() -> None:
    settings = NotificationSettings()
    timeout = max(settings.smtp.timeout_s, settings.webhook.timeout_s)
    assert settings.dispatch.shutdown_grace_s >= timeout
    assert settings.dispatch.stop_budget_s > settings.dispatch.shutdown_grace_s


def test_a_grace_shorter_than_a_channels_timeout_is_refused() -> None:
    """Found by review: the 5 s grace cut off 10 s webhook and SMTP sends, and the record
    given back without an attempt was sent again."""
    with pytest.raises(ValidationError, match="SHUTDOWN_GRACE_S"):
        NotificationSettings(
            webhook=WebhookSettings(timeout_s=20),
            dispatch=DispatchSettings(shutdown_grace_s=15, stop_budget_s=30),
        )
    with pytest.raises(ValidationError, match="SHUTDOWN_GRACE_S"):
        NotificationSettings(smtp=SmtpSettings(timeout_s=12))


def test_a_budget_no_longer_than_the_grace_is_refused() -> None:
    with pytest.raises(ValidationError, match="STOP_BUDGET_S"):
        NotificationSettings(dispatch=DispatchSettings(shutdown_grace_s=10, stop_budget_s=10))


def test_an_instance_without_a_dispatcher_needs_no_stop_budget() -> None:
    settings = NotificationSettings(
        dispatch=DispatchSettings(enabled=False, shutdown_grace_s=1, stop_budget_s=1)
    )
    assert not settings.dispatch.enabled


def test_implicit_tls_and_starttls_together_are_refused() -> None:
    with pytest.raises(ValidationError, match="USE_TLS and LT_NOTIFICATION_SMTP_START_TLS"):
        SmtpSettings(use_tls=True, start_tls=True)
    assert SmtpSettings(use_tls=True, start_tls=False).use_tls
    assert SmtpSettings(use_tls=False, start_tls=True).start_tls
