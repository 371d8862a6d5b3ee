"""Portal status codes and labels; boundary-free intake; Đồng Tháp; invented codes marked."""

from __future__ import annotations

from datetime import date

import pytest
from intake.domain.public_view import STATE_LABELS

from shared.catalogue.loading import load_catalogue
from shared.events.deadlines import StepDueSoon
from shared.events.dossier import DossierState
from shared.events.portal import PORTAL_LABELS, PortalStatus, portal_status
from tests.unit.legal.builders import (
    CONFIGURATIONS,
    LAND_FIRST,
    UNITS,
    at,
    catalogue,
    received,
    start,
)

EXPECTED = {
    DossierState.SUBMITTED: (1, "Mới đăng ký"),
    DossierState.RECEIVED: (2, "Được tiếp nhận"),
    DossierState.DENIED: (3, "Không được tiếp nhận"),
    DossierState.IN_TRANSFER: (4, "Đang xử lý"),
    DossierState.PROCESSING: (4, "Đang xử lý"),
    DossierState.SUPPLEMENT_REQUESTED: (5, "Yêu cầu bổ sung giấy tờ"),
    DossierState.AWAITING_PAYMENT: (6, "Yêu cầu thực hiện nghĩa vụ tài chính"),
    DossierState.WITHDRAWAL_REQUESTED: (7, "Công dân yêu cầu rút hồ sơ"),
    DossierState.WITHDRAWN: (8, "Dừng xử lý"),
    DossierState.STOPPED: (8, "Dừng xử lý"),
    DossierState.RESULT_READY: (9, "Đã xử lý xong"),
    DossierState.DONE: (10, "Đã trả kết quả"),
}


@pytest.mark.parametrize("state", list(DossierState))
def test_every_state_has_its_portal_code_and_exact_label(state: DossierState) -> None:
    code, label = EXPECTED[state]
    assert (int(portal_status(state)), portal_status(state).label) == (code, label)
    assert STATE_LABELS[state][0] == label  # the look-up view shows the portal's words


def test_the_ten_codes_are_all_used() -> None:
    assert {int(s) for s in PortalStatus} == set(range(1, 11)) == {c for c, _ in EXPECTED.values()}
    assert len(set(PORTAL_LABELS.values())) == 10


def test_facts_carry_the_code_and_refuse_a_wrong_one() -> None:
    fact = StepDueSoon(
        dossier_code="c", state=DossierState.IN_TRANSFER, holding_unit="u", step_index=1,
        unit="v", due_date=date(2026, 3, 13), working_days_left=1, detected_at=at(3, 12),
    )  # fmt: skip
    dumped = fact.model_dump(mode="json")
    assert (dumped["portal_status"], dumped["portal_status_label"]) == (4, "Đang xử lý")
    assert StepDueSoon.model_validate(dumped) == fact
    with pytest.raises(ValueError):
        StepDueSoon.model_validate({**dumped, "portal_status": 2})


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_boundary_free_dossier_is_decided_by_the_applicants_area(configuration: str) -> None:
    units = UNITS[configuration]
    when = at(3, 2, 10)
    event = received(configuration, when, LAND_FIRST, area_unit=units.other_commune)
    dossier = start(event, configuration)
    assert dossier.steps[0].unit == units.desk  # the receiving desk checks it
    assert dossier.steps[1].unit == units.other_commune  # the land's commune decides
    assert dossier.steps[-1].unit == units.desk  # and the desk returns the result
    assert dossier.area_unit == units.other_commune
    home = start(received(configuration, when, LAND_FIRST), configuration)
    assert home.steps[1].unit == catalogue(configuration).unit(units.desk).parent


def test_tien_giang_is_part_of_the_new_dong_thap_after_1_july_2025() -> None:
    two = load_catalogue("two-level")
    before = two.unit_in_force("000.00.00.H59", date(2025, 6, 30)).unit
    after = two.unit_in_force("000.00.00.H59", date(2025, 7, 1)).unit
    assert "Tiền Giang" in before.name and "Đồng Tháp" in after.name
    for old in ("000.00.01.H59", "000.00.04.H59", "000.00.10.H59", "000.01.10.H59"):
        assert "Đồng Tháp" in two.unit_in_force(old, date(2025, 7, 1)).unit.name
    centre = two.unit("000.01.61.H59")
    assert centre.parent is not None and two.unit(centre.parent).parent == after.code


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_invented_codes_are_marked(configuration: str) -> None:
    assert all(u.code_invented for u in load_catalogue(configuration).units)
