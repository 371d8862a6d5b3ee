"""Units and procedures served read-only from intake's own store, in both configurations."""

from __future__ import annotations

from typing import Any

import pytest

from shared.catalogue.loading import load_catalogue
from shared.clock import ManualClock
from shared.runtime import CommonSettings
from tests.integration.intake.helpers import (
    MORNING,
    RunningIntake,
    intake_settings,
    running_intake,
    submission,
)


async def get(intake: RunningIntake, path: str, **params: Any) -> Any:
    response = await intake.client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("configuration", ["three-level", "two-level"])
async def test_both_configurations_are_served_from_the_store(
    common_settings: CommonSettings, configuration: str
) -> None:
    catalogue = load_catalogue(configuration)
    settings = intake_settings(common_settings, configuration)
    async with running_intake(settings, ManualClock(MORNING)) as intake:
        units = await get(intake, "/v1/units", limit=200)
        procedures = await get(intake, "/v1/procedures")

        assert units["catalogue"] == {"configuration": configuration, "version": catalogue.version}
        assert units["total"] == len(catalogue.units)
        assert [u["code"] for u in units["items"]] == sorted(u.code for u in catalogue.units)
        assert procedures["total"] == len(catalogue.procedures)
        levels = {u["level"] for u in units["items"]}
        assert levels == {*catalogue.levels, *catalogue.retired_levels}

        communes = await get(intake, "/v1/units", level="commune", in_force_on="2026-11-26")
        expected = [
            u for u in catalogue.units if u.level == "commune" and u.in_force(MORNING.date())
        ]
        assert communes["total"] == len(expected)


async def test_a_restart_reloads_the_other_configuration_into_the_same_store(
    common_settings: CommonSettings,
) -> None:
    three = intake_settings(common_settings, "three-level")
    three_count = len(load_catalogue("three-level").procedures)
    async with running_intake(three, ManualClock(MORNING)) as intake:
        assert (await get(intake, "/v1/procedures"))["total"] == three_count
    async with running_intake(three, ManualClock(MORNING)) as intake:  # idempotent reload
        assert (await get(intake, "/v1/procedures"))["total"] == three_count
    two = intake_settings(common_settings, "two-level")
    async with running_intake(two, ManualClock(MORNING)) as intake:
        procedures = await get(intake, "/v1/procedures")
        assert procedures["catalogue"]["configuration"] == "two-level"
        assert procedures["total"] == len(load_catalogue("two-level").procedures)
        assert (await intake.client.get("/v1/units/001.21.31.H59")).json()["successor"] == (
            "000.01.61.H59"
        )
        assert (await intake.client.get("/v1/units/000.01.61.H59")).status_code == 200
        # The same code serves the two-level hierarchy: a commune centre receives directly.
        receipt = await intake.client.post(
            "/v1/dossiers", json=submission(receiving_unit="000.01.61.H59")
        )
        assert receipt.status_code == 201, receipt.text
        assert receipt.json()["code"] == "000.01.61.H59-261126-0001"


async def test_units_filter_by_kind_parent_and_validity_and_page(intake: RunningIntake) -> None:
    desks = await get(intake, "/v1/units", kind="one_stop_desk", receives_dossiers="true")
    assert desks["total"] > 2 and all(u["kind"] == "one_stop_desk" for u in desks["items"])
    children = await get(intake, "/v1/units", parent="000.00.31.H59", limit=3, offset=3)
    assert (children["limit"], children["offset"], len(children["items"])) == (3, 3, 3)
    before = await get(intake, "/v1/units", kind="one_stop_desk", in_force_on="2025-06-30")
    after = await get(intake, "/v1/units", kind="one_stop_desk", in_force_on="2025-07-01")
    before_codes = {u["code"] for u in before["items"]}
    after_codes = {u["code"] for u in after["items"]}
    assert "001.23.31.H59" in before_codes - after_codes  # merged away
    assert "001.33.31.H59" in after_codes - before_codes  # the merged desk


async def test_one_unit_keeps_its_successor_and_unknown_codes_are_404(
    intake: RunningIntake,
) -> None:
    merged = await get(intake, "/v1/units/001.23.31.H59")
    assert (merged["valid_to"], merged["successor"]) == ("2025-06-30", "001.33.31.H59")
    missing = await intake.client.get("/v1/units/999.99.99.H59")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_procedures_show_documents_budget_and_filter_by_receiving_unit(
    intake: RunningIntake,
) -> None:
    birth = await get(intake, "/v1/procedures/1.001193")
    assert [d["type"] for d in birth["required_documents"]] == [
        "registration_form",
        "birth_certificate",
    ]
    assert birth["total_budget_days"] == sum(s["budget_days"] for s in birth["route"])
    assert birth["cutoff"] == "15:00:00"

    at_district = await get(intake, "/v1/procedures", receivable_at="000.01.31.H59")
    assert "1.001193" not in {p["code"] for p in at_district["items"]}  # commune-only
    assert "2.000720" in {p["code"] for p in at_district["items"]}
    at_committee = await get(intake, "/v1/procedures", receivable_at="000.21.31.H59")
    assert at_committee["total"] == 0
    by_field = await get(intake, "/v1/procedures", field="Civil status")
    assert by_field["total"] >= 1 and all(
        p["field_en"] == "Civil status" for p in by_field["items"]
    )

    assert (await intake.client.get("/v1/procedures/9.999999")).status_code == 404
    bad_unit = await intake.client.get("/v1/procedures", params={"receivable_at": "x"})
    assert (bad_unit.status_code, bad_unit.json()["field"]) == (422, "receivable_at")
    bad_page = await intake.client.get("/v1/units", params={"limit": 0})
    assert (bad_page.status_code, bad_page.json()["field"]) == (422, "query.limit")
