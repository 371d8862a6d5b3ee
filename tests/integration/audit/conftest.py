"""Fixtures of the audit service's integration tests: settings, a manual clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from audit.config import AuditSettings

from shared.clock import ManualClock
from shared.runtime import CommonSettings
from tests.integration.audit.helpers import audit_settings_for


@pytest.fixture
def audit_settings(common_settings: CommonSettings, tmp_path: Path) -> AuditSettings:
    return audit_settings_for(common_settings, tmp_path / "audit-key.pem")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
