"""Helpers of intake's integration tests: a running intake, request bodies, topic reads."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from intake.actions import Intake
from intake.config import IntakeOptions, IntakeSettings
from intake.examples import EXAMPLE_APPLICANT, EXAMPLE_DOCUMENTS
from intake.main import create_app

from shared.calendar import LOCAL_TZ
from shared.clock import ManualClock
from shared.envelope import Envelope
from shared.runtime import CommonSettings
from shared.settings import CatalogueSettings
from shared.testing import ActAs, envelopes, eventually, read_topic, running_app
from shared.topics import DOSSIER_EVENTS

# Thursday 26 November 2026, 09:00 in Hà Nội: a working-day morning.
MORNING = datetime(2026, 11, 26, 9, 0, tzinfo=LOCAL_TZ)
DESK = "001.21.31.H59"  # Tân Hòa town one-stop desk (three-level)
BIRTH = "1.001193"
IDENTITY_NUMBER = EXAMPLE_APPLICANT["identity_number"]
TEST_IDENTITY_KEY = "integration-identity-key"


@dataclass
class RunningIntake:
    """An intake app under test: its HTTP client, its actions context and its clock."""

    client: httpx.AsyncClient
    ctx: Intake
    settings: IntakeSettings
    clock: ManualClock

    async def dossiers(self) -> int:
        return await self.ctx.store.count_dossiers()

    async def outbox_entries(self) -> int:
        return await self.ctx.runtime.db["outbox"].count_documents({})

    async def relay_idle(self) -> None:
        """Wait until everything written to the outbox was published."""

        async def drained() -> bool:
            return await self.ctx.runtime.outbox.count_pending() == 0

        await eventually(drained)

    async def published(self, expect: int) -> list[Envelope]:
        """What is on the dossier topic, once the relay has published everything."""
        await self.relay_idle()
        return envelopes(await read_topic(self.settings.kafka, DOSSIER_EVENTS, expect=expect))


def intake_settings(common: CommonSettings, configuration: str = "three-level") -> IntakeSettings:
    return IntakeSettings(
        **common.model_dump(),
        catalogue=CatalogueSettings(configuration=configuration),
        intake=IntakeOptions(identity_hash_key=TEST_IDENTITY_KEY),
    )


@asynccontextmanager
async def running_intake(
    settings: IntakeSettings, clock: ManualClock
) -> AsyncIterator[RunningIntake]:
    app = create_app(settings, clock)
    async with running_app(app, ActAs("desk")) as client:
        yield RunningIntake(client, app.state.intake, settings, clock)


def submission(**changes: Any) -> dict[str, Any]:
    """A valid desk submission of a birth registration at Tân Hòa, with top-level changes."""
    return {
        "procedure_code": BIRTH,
        "receiving_unit": DESK,
        "applicant": copy.deepcopy(EXAMPLE_APPLICANT),
        "documents": copy.deepcopy(EXAMPLE_DOCUMENTS),
        **changes,
    }
