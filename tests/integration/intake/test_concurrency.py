"""Dossier codes under concurrency: consecutive, no gaps, no duplicates, one per key."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from shared.runtime import CommonSettings
from tests.integration.intake.helpers import (
    DESK,
    RunningIntake,
    intake_settings,
    running_intake,
    submission,
)

CONCURRENT = 50


async def test_concurrent_submissions_at_one_desk_get_consecutive_codes(
    intake: RunningIntake,
) -> None:
    responses = await asyncio.gather(
        *(intake.client.post("/v1/dossiers", json=submission()) for _ in range(CONCURRENT))
    )

    assert [r.status_code for r in responses] == [201] * CONCURRENT
    codes = sorted(r.json()["code"] for r in responses)
    assert codes == [f"{DESK}-261126-{n:04d}" for n in range(1, CONCURRENT + 1)]
    events = await intake.published(expect=CONCURRENT)
    assert sorted(e.subject for e in events) == codes


async def test_two_instances_share_one_gap_free_sequence(
    intake: RunningIntake, common_settings: CommonSettings
) -> None:
    """Across instances nothing serialises in memory: the store's transactions must."""
    async with running_intake(intake_settings(common_settings), intake.clock) as second:
        clients = [intake.client, second.client]
        responses = await asyncio.gather(
            *(clients[n % 2].post("/v1/dossiers", json=submission()) for n in range(20))
        )

    assert [r.status_code for r in responses] == [201] * 20
    codes = sorted(r.json()["code"] for r in responses)
    assert codes == [f"{DESK}-261126-{n:04d}" for n in range(1, 21)]


async def test_concurrent_retries_with_one_key_create_one_dossier(intake: RunningIntake) -> None:
    headers = {"Idempotency-Key": "portal-retry-storm-1"}
    responses = await asyncio.gather(
        *(intake.client.post("/v1/dossiers", json=submission(), headers=headers) for _ in range(8))
    )

    assert [r.status_code for r in responses] == [201] * 8
    assert len({r.json()["code"] for r in responses}) == 1
    assert len({r.json()["lookup_token"] for r in responses}) == 1
    assert await intake.dossiers() == 1
    assert len(await intake.published(expect=1)) == 1


async def test_codes_restart_each_local_day_and_differ_per_desk(intake: RunningIntake) -> None:
    first = (await intake.client.post("/v1/dossiers", json=submission())).json()["code"]
    other_desk = submission(receiving_unit="001.22.31.H59")
    other = (await intake.client.post("/v1/dossiers", json=other_desk)).json()["code"]
    intake.clock.advance(timedelta(hours=15, minutes=30))  # 00:30 local on Friday
    next_day = (await intake.client.post("/v1/dossiers", json=submission())).json()["code"]

    assert first == f"{DESK}-261126-0001"
    assert other == "001.22.31.H59-261126-0001"
    assert next_day == f"{DESK}-261127-0001"
