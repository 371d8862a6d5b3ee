"""Route resolution: three-level and two-level hierarchies, merged units, refusals."""

from __future__ import annotations

from datetime import date

import pytest
from routing.domain.route import RouteError, acts_for, resolve_route

from shared.catalogue.configuration import Catalogue
from tests.unit.routing.builders import (
    DISTRICT_COMMITTEE,
    LAND_CHANGE,
    PROVINCE_NATURAL_RESOURCES,
    TAN_HOA_DESK,
    accept,
    act,
    catalogue,
    complete,
    received,
    start,
)

ON = date(2026, 3, 2)


def units(cat: Catalogue, procedure: str, receiving: str, on: date = ON) -> list[str]:
    return [s.unit for s in resolve_route(cat, procedure, receiving, on).steps]


def test_three_level_commune_to_district_to_province_and_back() -> None:
    route = resolve_route(catalogue("three-level"), LAND_CHANGE, TAN_HOA_DESK, ON)
    assert [s.unit for s in route.steps] == [
        TAN_HOA_DESK,
        DISTRICT_COMMITTEE,
        PROVINCE_NATURAL_RESOURCES,
        TAN_HOA_DESK,
    ]
    assert [s.budget_days for s in route.steps] == [1, 7, 10, 1]
    assert all(s.redirected_from is None for s in route.steps)
    assert route.receiving_unit == TAN_HOA_DESK


def test_two_level_falls_back_to_the_commune_and_the_merged_department() -> None:
    centre = "000.01.61.H59"  # Tân Hòa commune public administration service centre
    assert units(catalogue("two-level"), LAND_CHANGE, centre) == [
        centre,
        "000.00.61.H59",  # the commune people's committee takes the district's part
        "000.00.10.X87",  # Agriculture and Environment of the new Đồng Tháp (since 2025-07-01)
        centre,
    ]


@pytest.mark.parametrize(
    ("procedure", "expected"),
    [
        ("2.000720", "000.03.31.H59"),  # household business: district finance office
        ("1.004227", "000.21.31.H59"),  # land registration: the commune committee first
        ("2.000488", "000.00.04.H59"),  # judicial record: province justice department
        ("1.001193", "000.21.31.H59"),  # birth registration: commune only
    ],
)
def test_other_procedures_resolve_in_three_levels(procedure: str, expected: str) -> None:
    assert units(catalogue("three-level"), procedure, TAN_HOA_DESK)[1] == expected


def test_a_dossier_addressed_to_a_merged_commune_goes_to_its_successor() -> None:
    tan_tay_desk, merged_desk = "001.23.31.H59", "001.33.31.H59"
    route = resolve_route(catalogue("three-level"), "1.001193", tan_tay_desk, date(2025, 8, 4))
    assert route.receiving_unit == merged_desk
    assert route.redirected_from == tan_tay_desk
    first, committee, last = route.steps
    assert (first.unit, first.redirected_from) == (merged_desk, tan_tay_desk)
    assert (last.unit, last.redirected_from) == (merged_desk, tan_tay_desk)
    assert committee.unit == "000.33.31.H59"  # the merged commune's committee


def test_before_the_merger_the_old_commune_is_used() -> None:
    assert units(catalogue("three-level"), "1.001193", "001.23.31.H59", date(2025, 6, 2)) == [
        "001.23.31.H59",
        "000.23.31.H59",
        "001.23.31.H59",
    ]


def test_a_hand_over_after_a_reform_goes_to_the_successor_and_says_so() -> None:
    # Received in June 2025 at the Tân Hòa town desk; the district is abolished on 1 July.
    event = received(at=received().received_at.replace(year=2025, month=6, day=20))
    cat = catalogue("two-level")
    event = event.model_copy(update={"procedure_code": "1.004227"})
    planned = start(event, "two-level").dossier
    assert [s.unit for s in planned.steps] == [
        TAN_HOA_DESK,
        "000.21.31.H59",
        "000.01.10.H59",
        TAN_HOA_DESK,
    ]
    july = event.received_at.replace(month=7, day=2)
    decision = act(planned, complete(planned, TAN_HOA_DESK), july, "two-level")
    transfer = decision.facts[1]
    assert transfer.to_unit == "000.00.61.H59"  # type: ignore[attr-defined]
    assert transfer.redirected_from == "000.21.31.H59"  # type: ignore[attr-defined]
    assert decision.dossier.steps[1].redirected_from == "000.21.31.H59"
    # The old desk's successor may act for it, and the new committee accepts.
    d = act(decision.dossier, accept(planned, "000.00.61.H59"), july, "two-level").dossier
    assert d.holding_unit == "000.00.61.H59"
    assert acts_for(cat, "000.01.61.H59", TAN_HOA_DESK, july.date())
    assert not acts_for(cat, "000.01.62.H59", TAN_HOA_DESK, july.date())


def _edited(update: dict[str, dict[str, object]]) -> Catalogue:
    base = catalogue("three-level")
    units = [u.model_copy(update=update.get(u.code, {})) for u in base.units]
    return Catalogue(
        configuration=base.configuration,
        version=base.version,
        levels=base.levels,
        retired_levels=base.retired_levels,
        kinds=base.kinds,
        units=tuple(units),
        procedures=base.procedures,
    )


def test_a_route_naming_a_unit_merged_away_follows_its_successor() -> None:
    # Justice merged into the natural resources department (which has no justice tag).
    cat = _edited(
        {
            "000.00.04.H59": {
                "valid_to": date(2025, 12, 31),
                "successor": PROVINCE_NATURAL_RESOURCES,
            }
        }
    )
    step = resolve_route(cat, "2.000488", TAN_HOA_DESK, ON).steps[1]
    assert (step.unit, step.redirected_from) == (PROVINCE_NATURAL_RESOURCES, "000.00.04.H59")


def test_ambiguous_and_missing_units_are_refused() -> None:
    twin = _edited({"000.00.09.H59": {"tags": ("natural_resources", "justice")}})
    with pytest.raises(RouteError, match="expected one unit"):
        resolve_route(twin, "2.000488", TAN_HOA_DESK, ON)
    with pytest.raises(RouteError, match="unknown procedure"):
        resolve_route(catalogue(), "9.999999", TAN_HOA_DESK, ON)
    with pytest.raises(RouteError, match="no unit in force"):
        resolve_route(catalogue(), LAND_CHANGE, "001.33.31.H59", date(2025, 6, 2))
