"""Admission rules: what the catalogue lets a unit receive, on which day, with which papers."""

from __future__ import annotations

from datetime import date

import pytest
from intake.domain.admission import admit, admit_refusal, missing_documents, service_area
from intake.problems import STATUS

from shared.catalogue.configuration import Catalogue
from shared.catalogue.loading import load_catalogue
from shared.refusals import Refused

THREE = load_catalogue("three-level")
TWO = load_catalogue("two-level")
ON = date(2026, 11, 26)
BIRTH = "1.001193"  # commune only, not regardless of boundary
JUDICIAL = "2.000488"  # commune or province, regardless of boundary
LAND = "1.004227"  # in force from 2024-08-01
TAN_HOA_DESK = "001.21.31.H59"
VAM_LANG_DESK = "001.22.31.H59"
DISTRICT_DESK = "000.01.31.H59"
PROVINCE_CENTRE = "000.00.01.H59"
BIRTH_DOCS = ["registration_form", "birth_certificate"]
JUDICIAL_DOCS = ["request_form", "identity_copy"]


def check(
    catalogue: Catalogue = THREE,
    *,
    procedure: str = BIRTH,
    unit: str = TAN_HOA_DESK,
    area: str | None = None,
    documents: list[str] | None = BIRTH_DOCS,
    on: date = ON,
) -> Refused | None:
    try:
        admit(
            catalogue,
            procedure_code=procedure,
            receiving_unit=unit,
            area_unit=area,
            document_types=documents,
            on=on,
        )
    except Refused as exc:
        return exc
    return None


def test_a_complete_dossier_at_the_right_desk_is_admitted() -> None:
    admission = admit(
        THREE,
        procedure_code=BIRTH,
        receiving_unit=TAN_HOA_DESK,
        area_unit=None,
        document_types=BIRTH_DOCS,
        on=ON,
    )
    assert admission.procedure.code == BIRTH
    assert admission.unit.code == TAN_HOA_DESK


def test_unknown_procedure_names_the_procedure_field() -> None:
    found = check(procedure="9.999999")
    assert found is not None
    assert (found.code, found.field, STATUS[found.code]) == (
        "unknown_procedure",
        "procedure_code",
        422,
    )


def test_procedure_only_in_another_configuration_is_unknown() -> None:
    found = check(TWO, procedure="1.003003", unit="000.01.61.H59", documents=None)
    assert found is not None and found.code == "unknown_procedure"


def test_procedure_not_yet_in_force_is_refused() -> None:
    found = check(procedure=LAND, documents=None, on=date(2024, 7, 31))
    assert found is not None
    assert (found.code, found.field) == ("procedure_not_in_force", "procedure_code")
    assert check(procedure=LAND, documents=None, on=date(2024, 8, 1)) is None


def test_unknown_unit_names_the_receiving_unit() -> None:
    found = check(unit="999.99.99.H59")
    assert found is not None and (found.code, found.field) == ("unknown_unit", "receiving_unit")


def test_merged_desk_is_not_in_force_and_names_its_successor() -> None:
    found = check(unit="001.23.31.H59")  # Tân Tây, merged into Tân Đông on 2025-07-01
    assert found is not None
    assert (found.code, found.field) == ("unit_not_in_force", "receiving_unit")
    assert found.extra["successor"] == "001.33.31.H59"
    assert check(unit="001.23.31.H59", on=date(2025, 6, 30)) is None


def test_unit_created_later_is_not_in_force_before_and_has_no_successor() -> None:
    found = check(unit="001.33.31.H59", on=date(2025, 6, 30))
    assert found is not None and found.code == "unit_not_in_force"
    assert found.extra["successor"] is None


def test_a_unit_that_takes_no_dossiers_cannot_receive() -> None:
    found = check(unit="000.21.31.H59")  # the people's committee, not its desk
    assert found is not None
    assert (found.code, found.field) == ("unit_cannot_receive", "receiving_unit")


def test_a_desk_of_the_wrong_level_cannot_receive() -> None:
    found = check(unit=DISTRICT_DESK)  # birth registration is commune-level
    assert found is not None and found.code == "unit_cannot_receive"
    assert "level district" in found.detail


def test_the_same_procedure_is_received_by_a_commune_centre_in_two_level() -> None:
    assert check(TWO, unit="000.01.61.H59") is None
    found = check(TWO, unit=TAN_HOA_DESK)  # the old town desk closed on 2025-06-30
    assert found is not None and found.extra["successor"] == "000.01.61.H59"


def test_area_outside_the_desks_area_is_refused_without_boundary_free_intake() -> None:
    found = check(area="000.22.31.H59")  # lives in Vàm Láng, submits in Tân Hòa
    assert found is not None
    assert (found.code, found.field) == ("outside_boundary", "area_unit")
    assert check(area="000.21.31.H59") is None  # lives in Tân Hòa
    assert check(area=TAN_HOA_DESK) is None  # a desk code stands for its area


def test_boundary_free_procedure_is_received_anywhere() -> None:
    for unit in (VAM_LANG_DESK, PROVINCE_CENTRE):
        found = check(procedure=JUDICIAL, unit=unit, area="000.21.31.H59", documents=JUDICIAL_DOCS)
        assert found is None


def test_district_desk_serves_its_communes() -> None:
    household = "2.000720"  # commune or district level
    docs = ["application", "household_minutes"]
    assert (
        check(procedure=household, unit=DISTRICT_DESK, area="000.25.31.H59", documents=docs) is None
    )


def test_old_area_codes_follow_their_successor() -> None:
    # Two-level: Tân Hòa town (old code) is now part of Tân Hòa commune.
    assert check(TWO, unit="000.01.61.H59", area="000.21.31.H59") is None
    found = check(TWO, unit="000.01.62.H59", area="000.21.31.H59")
    assert found is not None and found.code == "outside_boundary"


def test_unknown_area_names_the_area_field() -> None:
    found = check(area="123.45.67.H59")
    assert found is not None and (found.code, found.field) == ("unknown_unit", "area_unit")


def test_missing_documents_are_listed_in_catalogue_order() -> None:
    found = check(documents=["birth_certificate", "something_else"])
    assert found is not None
    assert (found.code, found.field) == ("missing_document", "documents")
    assert found.extra["missing"] == ["registration_form"]
    assert missing_documents(THREE.procedure(BIRTH), []) == BIRTH_DOCS


def test_extra_documents_are_allowed() -> None:
    assert check(documents=[*BIRTH_DOCS, "photo"]) is None


def test_service_area_is_the_nearest_people_committee() -> None:
    assert service_area(THREE, THREE.unit(TAN_HOA_DESK)).code == "000.21.31.H59"
    assert service_area(THREE, THREE.unit(DISTRICT_DESK)).code == "000.00.31.H59"
    assert service_area(TWO, TWO.unit("000.01.63.H59")).code == "000.00.63.H59"
    assert service_area(THREE, THREE.unit("000.00.00.H59")).code == "000.00.00.H59"


def test_a_desk_may_refuse_a_procedure_it_cannot_receive() -> None:
    admission = admit_refusal(THREE, procedure_code=BIRTH, receiving_unit=DISTRICT_DESK, on=ON)
    assert admission.unit.code == DISTRICT_DESK


def test_only_a_receiving_unit_in_force_records_refusals() -> None:
    with pytest.raises(Refused) as caught:
        admit_refusal(THREE, procedure_code=BIRTH, receiving_unit="000.21.31.H59", on=ON)
    assert caught.value.code == "unit_cannot_receive"
    with pytest.raises(Refused) as caught:
        admit_refusal(THREE, procedure_code="9.999999", receiving_unit=TAN_HOA_DESK, on=ON)
    assert caught.value.code == "unknown_procedure"
    with pytest.raises(Refused) as caught:
        admit_refusal(THREE, procedure_code=BIRTH, receiving_unit="001.23.31.H59", on=ON)
    assert caught.value.code == "unit_not_in_force"
