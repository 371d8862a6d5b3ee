"""Catalogue contract: both configurations load, restructuring resolves, bad data is refused."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from shared.catalogue.configuration import Catalogue
from shared.catalogue.loading import DEFAULT_DATA_DIR, available_configurations, load_catalogue
from shared.catalogue.model import CatalogueError, CatalogueLookupError, Procedure, Selector

SEED_COMMUNES = [
    "Tân Hòa", "Vàm Láng", "Tân Tây", "Tân Đông", "Gia Thuận", "Kiểng Phước",
    "Tân Điền", "Bình Nghị", "Phước Trung", "Bình Ân", "Tân Thành", "Tăng Hòa",
]  # fmt: skip
TAN_HOA_DESK = "001.21.31.H59"
DISTRICT_LAND_REGISTRY = "000.06.31.H59"
PROVINCE_JUSTICE = "000.00.04.H59"
BEFORE, AFTER = date(2024, 6, 3), date(2025, 8, 4)  # either side of the 2025-07-01 reform

Json = dict[str, Any]


@pytest.fixture(scope="module")
def three() -> Catalogue:
    return load_catalogue("three-level")


@pytest.fixture(scope="module")
def two() -> Catalogue:
    return load_catalogue("two-level")


# --- loading the shipped data ---------------------------------------------------------


def test_both_configurations_load_with_the_same_release(three: Catalogue, two: Catalogue) -> None:
    assert available_configurations() == ("three-level", "two-level")
    assert three.levels == ("province", "district", "commune")
    assert two.levels == ("province", "commune")
    assert two.retired_levels == ("district",)
    assert three.version == two.version
    assert len(three.procedures) >= 6


def test_default_configuration_is_three_level() -> None:
    assert load_catalogue().configuration == "three-level"


def test_seed_communes_each_have_a_committee_and_a_desk(three: Catalogue) -> None:
    district = three.unit("000.00.31.H59")
    assert district.name == "Ủy ban nhân dân huyện Gò Công Đông"
    committees = [u for u in three.children(district.code, on=BEFORE) if u.level == "commune"]
    for name in SEED_COMMUNES:
        (committee,) = [c for c in committees if c.name.endswith(f" {name}")]
        (desk,) = three.children(committee.code)
        assert desk.kind == "one_stop_desk" and desk.receives_dossiers, name
    assert three.unit(TAN_HOA_DESK).name == "Bộ phận Một cửa thị trấn Tân Hòa"


def test_key_units_and_their_ancestors(three: Catalogue) -> None:
    registry = three.unit(DISTRICT_LAND_REGISTRY)
    assert (registry.kind, registry.level) == ("land_registry", "district")
    assert three.unit(PROVINCE_JUSTICE).tags == ("justice",)
    ancestors = [u.code for u in three.ancestors(TAN_HOA_DESK)]
    assert ancestors == ["000.21.31.H59", "000.00.31.H59", "000.00.00.H59"]
    assert three.jurisdiction(TAN_HOA_DESK, "district") == three.unit("000.00.31.H59")
    assert three.jurisdiction(TAN_HOA_DESK, "commune") == three.unit("000.21.31.H59")


def test_merged_commune_resolves_to_its_successor_with_the_chain(three: Catalogue) -> None:
    old_desk = "001.23.31.H59"  # Tân Tây
    assert three.unit_in_force(old_desk, BEFORE) == (three.unit(old_desk), (old_desk,))
    unit, chain = three.unit_in_force(old_desk, AFTER)
    assert unit.code == "001.33.31.H59" and unit.valid_from == date(2025, 7, 1)
    assert chain == (old_desk, "001.33.31.H59")
    assert three.children("000.00.31.H59", on=AFTER) != three.children("000.00.31.H59")


def test_two_level_successors_follow_several_hops(two: Catalogue) -> None:
    unit, chain = two.unit_in_force("000.00.09.H59", AFTER)  # old natural resources department
    # Merged into Agriculture and Environment (2025-03-01), then into new Đồng Tháp's (07-01).
    assert chain == ("000.00.09.H59", "000.00.10.H59", "000.00.10.X87")
    assert unit.kind == "department"
    registry, _ = two.unit_in_force(DISTRICT_LAND_REGISTRY, AFTER)
    assert (registry.level, registry.kind) == ("province", "land_registry")
    centre, _ = two.unit_in_force(TAN_HOA_DESK, AFTER)
    assert centre.kind == "public_service_centre" and centre.parent is not None
    # Commune directly under the province: the new Đồng Tháp, Tiền Giang's successor.
    assert two.unit(centre.parent).parent == "000.00.00.X87"
    province, chain = two.unit_in_force("000.00.00.H59", AFTER)
    assert chain == ("000.00.00.H59", "000.00.00.X87") and "Đồng Tháp" in province.name


def test_unit_in_force_refuses_dates_before_a_unit_existed(three: Catalogue) -> None:
    with pytest.raises(CatalogueLookupError, match="no unit in force"):
        three.unit_in_force("001.33.31.H59", BEFORE)
    with pytest.raises(CatalogueLookupError, match="unknown unit"):
        three.unit("999.99.99.H99")
    with pytest.raises(CatalogueLookupError, match="unknown procedure"):
        three.procedure("9.999999")


def test_applies_to_filters_procedures(three: Catalogue, two: Catalogue) -> None:
    assert three.procedure("1.003003").applies_to == ("three-level",)
    with pytest.raises(CatalogueLookupError):
        two.procedure("1.003003")
    assert two.procedure("2.000488").allow_any_receiving_unit


def test_procedure_totals_and_cutoffs(three: Catalogue) -> None:
    birth = three.procedure("1.001193")
    assert birth.total_budget_days <= 1
    assert all(p.cutoff.hour == 15 for p in three.procedures)
    assert all(p.route[-1].performer.relative == "returning_desk" for p in three.procedures)


def _resolve(cat: Catalogue, receiving: str, sel: Selector, on: date) -> list[str]:
    """A minimal resolver, only to prove the data resolvable (routing owns the real one)."""
    if sel.relative != "ancestor":
        return [receiving]
    assert sel.level is not None and sel.kind is not None
    level = sel.level if sel.level in cat.levels else sel.fallback_level
    assert level is not None
    anchor = cat.jurisdiction(receiving, level)
    assert anchor is not None, f"{receiving} has no {level}"
    return [u.code for u in cat.find_in_subtree(anchor.code, sel.kind, sel.tags, on, level)]


@pytest.mark.parametrize(
    ("configuration", "on"), [("three-level", BEFORE), ("three-level", AFTER), ("two-level", AFTER)]
)
def test_every_route_resolves_to_exactly_one_unit(configuration: str, on: date) -> None:
    cat = load_catalogue(configuration)
    checked = 0
    for proc in cat.procedures:
        for desk in cat.receiving_units(on):
            if desk.kind not in proc.receiving_kinds or desk.level not in proc.receiving_levels:
                continue
            for step in proc.route:
                found = _resolve(cat, desk.code, step.performer, on)
                assert len(found) == 1, (proc.code, desk.code, step.name_en, found)
                checked += 1
    assert checked > 50


def test_two_level_falls_back_from_district(two: Catalogue) -> None:
    land = two.procedure("1.004227").route[2].performer
    assert (land.level, land.fallback_level) == ("district", "province")
    centre = "000.01.61.H59"  # Tân Hòa commune service centre
    assert _resolve(two, centre, land, AFTER) == ["000.01.10.X87"]
    business = two.procedure("2.000720").route[1].performer
    assert _resolve(two, centre, business, AFTER) == ["000.02.61.H59"]
    justice = two.procedure("2.000488").route[1].performer
    assert _resolve(two, centre, justice, AFTER) == [
        "000.00.04.X87"
    ]  # the new Đồng Tháp's justice department


# --- bad data -------------------------------------------------------------------------


def _copy_with(
    tmp_path: Path,
    units: Callable[[Json], None] = lambda doc: None,
    procedures: Callable[[Json], None] = lambda doc: None,
) -> Path:
    """Copy the shipped data into tmp_path, applying the given edits to the documents."""
    for name, edit in (("units-three-level.json", units), ("procedures.json", procedures)):
        doc = json.loads((DEFAULT_DATA_DIR / name).read_text(encoding="utf-8"))
        edit(doc)
        (tmp_path / name).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    shutil.copy(DEFAULT_DATA_DIR / "units-two-level.json", tmp_path)
    return tmp_path


def _unit(doc: Json, code: str) -> Json:
    unit: Json = next(u for u in doc["units"] if u["code"] == code)
    return unit


def test_copied_data_loads(tmp_path: Path) -> None:
    assert load_catalogue("three-level", _copy_with(tmp_path)).version


def test_duplicate_code_is_refused(tmp_path: Path) -> None:
    folder = _copy_with(tmp_path, units=lambda d: d["units"].append(_unit(d, TAN_HOA_DESK)))
    with pytest.raises(CatalogueError, match=r"duplicate unit code 001\.21\.31\.H59"):
        load_catalogue("three-level", folder)


def test_unknown_parent_is_refused(tmp_path: Path) -> None:
    folder = _copy_with(
        tmp_path, units=lambda d: _unit(d, TAN_HOA_DESK).update(parent="000.99.31.H59")
    )
    with pytest.raises(CatalogueError, match=r"001\.21\.31\.H59: parent 000\.99\.31\.H59 does not"):
        load_catalogue("three-level", folder)


def test_successor_cycle_is_refused(tmp_path: Path) -> None:
    def cycle(doc: Json) -> None:
        for code, successor in (
            ("001.21.31.H59", "001.22.31.H59"),
            ("001.22.31.H59", "001.21.31.H59"),
        ):
            _unit(doc, code).update(successor=successor, valid_to="2025-06-30")

    with pytest.raises(CatalogueError, match=r"successor cycle: .*001\.21\.31\.H59"):
        load_catalogue("three-level", _copy_with(tmp_path, units=cycle))


def test_parent_cycle_is_refused(tmp_path: Path) -> None:
    folder = _copy_with(
        tmp_path, units=lambda d: _unit(d, "000.00.00.H59").update(parent=TAN_HOA_DESK)
    )
    with pytest.raises(CatalogueError, match="parent cycle"):
        load_catalogue("three-level", folder)


def test_unknown_level_in_a_selector_is_refused(tmp_path: Path) -> None:
    def hamlet(doc: Json) -> None:
        doc["procedures"][0]["route"][1]["performer"]["level"] = "hamlet"

    with pytest.raises(CatalogueError, match=r"1\.001193 step 1 .*unknown level 'hamlet'"):
        load_catalogue("three-level", _copy_with(tmp_path, procedures=hamlet))


def test_retired_level_without_fallback_is_refused(tmp_path: Path) -> None:
    def no_fallback(doc: Json) -> None:
        del doc["procedures"][3]["route"][2]["performer"]["fallback_level"]

    folder = _copy_with(tmp_path, procedures=no_fallback)
    assert load_catalogue("three-level", folder)  # district is active there
    with pytest.raises(CatalogueError, match="'district' is retired here and has no fallback"):
        load_catalogue("two-level", folder)


def test_unknown_kind_and_configuration_are_refused(tmp_path: Path) -> None:
    folder = _copy_with(tmp_path, units=lambda d: _unit(d, TAN_HOA_DESK).update(kind="kiosk"))
    with pytest.raises(CatalogueError, match="unknown kind 'kiosk'"):
        load_catalogue("three-level", folder)
    with pytest.raises(CatalogueError, match=r"unknown configuration 'one-level' \(available"):
        load_catalogue("one-level", folder)


def test_version_mismatch_and_schema_are_refused(tmp_path: Path) -> None:
    folder = _copy_with(tmp_path, procedures=lambda d: d.update(version="1999.1.1"))
    with pytest.raises(CatalogueError, match="version mismatch"):
        load_catalogue("three-level", folder)
    folder = _copy_with(tmp_path, units=lambda d: d.update(schema=2))
    with pytest.raises(CatalogueError, match="unsupported schema 2"):
        load_catalogue("three-level", folder)


def test_malformed_fields_are_refused(tmp_path: Path) -> None:
    folder = _copy_with(tmp_path, units=lambda d: _unit(d, TAN_HOA_DESK).update(code="TANHOA"))
    with pytest.raises(CatalogueError, match=r"units-three-level\.json"):
        load_catalogue("three-level", folder)


def test_route_must_end_at_the_returning_desk() -> None:
    step = {
        "name": "x",
        "name_en": "x",
        "performer": {"relative": "receiving_unit"},
        "budget_days": 0,
    }
    raw = load_catalogue().procedure("1.001193").model_dump() | {"route": [step]}
    with pytest.raises(ValueError, match="returning_desk"):
        Procedure.model_validate(raw)


def test_selector_shape_is_checked() -> None:
    with pytest.raises(ValueError, match="needs 'level' and 'kind'"):
        Selector.model_validate({"relative": "ancestor", "level": "district"})
    with pytest.raises(ValueError, match="takes no level"):
        Selector.model_validate({"relative": "receiving_unit", "kind": "department"})
