"""Fixtures of intake's integration tests: a manual clock and a running intake."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.clock import ManualClock
from shared.runtime import CommonSettings
from tests.integration.intake.helpers import (
    MORNING,
    RunningIntake,
    intake_settings,
    running_intake,
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MORNING)


@pytest.fixture
async def intake(
    common_settings: CommonSettings, clock: ManualClock
) -> AsyncIterator[RunningIntake]:
    async with running_intake(intake_settings(common_settings), clock) as running:
        yield running
