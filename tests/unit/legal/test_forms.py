"""Printable forms Mẫu 02, 04, 05 from routing's data: numbers, unit names, dd/mm/yyyy, names.

Worked dossier: a judicial record received Monday 2 March 2026 10:00 (appointment 16 March).
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from routing.domain.model import Dossier
from routing.domain.trail import recorded
from routing.forms import ERASED_NAME, FormUnavailable, RoutingForms

from shared.events.commands import HandOverResult, IssueApology, RequestSupplement, ReturnResult
from shared.forms import FormCatalogue, FormInfo, load_forms, place_date, vn_date, vn_moment
from tests.unit.legal.builders import (
    CONFIGURATIONS,
    UNITS,
    act,
    at,
    calendar,
    catalogue,
    context,
    d,
    hand_over,
    received,
    start,
)

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def at_department(configuration: str) -> Dossier:
    dossier = start(received(configuration, at(3, 2, 10)), configuration)
    return hand_over(dossier, at(3, 3), configuration)


def forms(configuration: str) -> RoutingForms:
    return RoutingForms(catalogue(configuration), calendar(), load_forms())


def body(html: str) -> str:
    """The page without its footer (which names the calendar version)."""
    return html.split("Căn cứ ")[0]


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_apology_form_04_in_vietnamese_with_unit_and_dates(configuration: str) -> None:
    dossier = hand_over(
        start(received(configuration, at(3, 2, 10)), configuration), at(3, 3), configuration
    )
    justice = UNITS[configuration].justice
    cmd = IssueApology(
        dossier_code=dossier.code, unit=justice, reason="Chờ xác minh <lý lịch>",
        new_appointment_date=d(3, 20),
    )  # fmt: skip
    dossier = act(dossier, cmd, at(3, 12), configuration).dossier
    html = forms(configuration).render("04", dossier, d(3, 12))
    assert "Mẫu 04" in html and "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in html
    assert catalogue(configuration).unit(justice).name in html
    assert (
        "Sở Tư pháp" in html
        and ("Đồng Tháp" if configuration == "two-level" else "Tiền Giang") in html
    )
    assert "16/03/2026" in html and "20/03/2026" in html and "ngày 12 tháng 03 năm 2026" in html
    assert "Chờ xác minh &lt;lý lịch&gt;" in html  # escaped, never markup
    assert not ISO_DATE.search(body(html))


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_supplement_form_02_names_documents_never_codes(configuration: str) -> None:
    dossier = hand_over(
        start(received(configuration, at(3, 2, 10)), configuration), at(3, 3), configuration
    )
    ask = RequestSupplement(
        dossier_code=dossier.code, unit=UNITS[configuration].justice,
        missing_documents=["identity_copy", "Giấy xác nhận nơi cư trú"], reason="Thiếu giấy tờ",
    )  # fmt: skip
    dossier = act(dossier, ask, at(3, 4), configuration).dossier
    html = forms(configuration).render("02", dossier, d(3, 4))
    name = {
        r.type: r.name for r in catalogue(configuration).procedure("2.000488").required_documents
    }
    assert "Mẫu 02" in html and "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ" in html
    assert f"<li>{name['identity_copy']}</li>" in html and "identity_copy" not in html
    assert "<li>Giấy xác nhận nơi cư trú</li>" in html
    assert "04/03/2026" in html and not ISO_DATE.search(body(html))


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_tracking_slip_05_lists_every_hand_over_with_receipt_and_result(configuration: str) -> None:
    dossier = start(received(configuration, at(3, 2, 10)), configuration)
    dossier = hand_over(dossier, at(3, 2, 11), configuration)  # desk early
    dossier = hand_over(dossier, at(3, 12, 16), configuration)  # department on its due date
    html = forms(configuration).render("05", dossier, d(3, 13))
    units = UNITS[configuration]
    cat = catalogue(configuration)
    assert "Mẫu 05" in html and "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in html
    assert html.count("Biên nhận ") == 2
    assert f"Giao: {cat.unit(units.desk).name}" in html
    assert f"Nhận: {cat.unit(units.justice).name}" in html
    assert "Trước hạn (hạn 03/03/2026)" in html and "Đúng hạn (hạn 12/03/2026)" in html
    assert "16 giờ 00 phút, ngày 12/03/2026" in html and "Đang giải quyết" in html
    assert not ISO_DATE.search(body(html))


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_forms_name_the_applicant_they_are_given_and_leave_the_line_without(
    configuration: str,
) -> None:
    """The API passes the name intake gave it; without one the desk fills the line in."""
    dossier = at_department(configuration)
    ask = RequestSupplement(
        dossier_code=dossier.code, unit=UNITS[configuration].justice,
        missing_documents=["identity_copy"], reason="Thiếu giấy tờ",
    )  # fmt: skip
    dossier = act(dossier, ask, at(3, 4), configuration).dossier
    renderer = forms(configuration)
    named = renderer.render("02", dossier, d(3, 4), applicant_name="Nguyễn Văn <An>")
    assert "Kính gửi: Ông/Bà <b>Nguyễn Văn &lt;An&gt;</b>" in named  # escaped, never markup
    blank = renderer.render("02", dossier, d(3, 4))
    assert "Kính gửi: Ông/Bà ......" in blank and "Nguyễn" not in blank
    slip = renderer.render("05", dossier, d(3, 4), applicant_name="Trần Thị Bình")
    assert "Người nộp hồ sơ: Trần Thị Bình" in slip
    # Intake erased the applicant's personal data: the line says so, nothing to fill in.
    erased = renderer.render("02", dossier, d(3, 4), erased=True)
    assert f"Kính gửi: Ông/Bà <i>{ERASED_NAME}</i>" in erased and "Ông/Bà ....." not in erased
    erased_slip = renderer.render("05", dossier, d(3, 4), erased=True)
    assert f"Người nộp hồ sơ: <i>{ERASED_NAME}</i>" in erased_slip


def test_a_form_is_checked_before_anything_is_asked_of_intake() -> None:
    configuration = CONFIGURATIONS[0]
    renderer, dossier = forms(configuration), at_department(configuration)
    renderer.check("05", dossier)  # always has its data
    for number in ("02", "04", "01"):
        with pytest.raises(FormUnavailable):
            renderer.check(number, dossier)


def test_a_form_without_its_data_is_unavailable() -> None:
    dossier = start(received("three-level", at(3, 2, 10)), "three-level")
    with pytest.raises(FormUnavailable):
        forms("three-level").render("04", dossier, d(3, 2))
    with pytest.raises(FormUnavailable):
        forms("three-level").render("01", dossier, d(3, 2))


def test_form_numbers_are_dated_data() -> None:
    shipped = load_forms()
    numbers = [shipped.form(k, date(2026, 3, 2)).number for k in ("receipt", "apology", "log_book")]
    assert numbers == ["Mẫu 01", "Mẫu 04", "Mẫu 06"]
    title = "Phiếu xin lỗi và hẹn lại ngày trả kết quả"
    renumbered = FormCatalogue(
        version="test",
        forms=(
            FormInfo(key="apology", number="Mẫu 04", title=title, source="Circular 01/2018",
                     valid_from=date(2018, 11, 23), valid_to=date(2026, 12, 31)),
            FormInfo(key="apology", number="Mẫu 07", title=title, source="a later text",
                     valid_from=date(2027, 1, 1)),
        ),
    )  # fmt: skip
    assert renumbered.form("apology", date(2026, 12, 31)).number == "Mẫu 04"
    assert renumbered.form("apology", date(2027, 1, 1)).number == "Mẫu 07"
    with pytest.raises(LookupError):
        renumbered.form("apology", date(2018, 1, 1))


def test_vietnamese_date_formats() -> None:
    assert vn_date(date(2026, 1, 2)) == "02/01/2026"
    assert vn_date(at(3, 2, 23, 30)) == "02/03/2026"  # Vietnam time, not UTC
    assert vn_moment(at(3, 2, 9, 5)) == "09 giờ 05 phút, ngày 02/03/2026"
    assert place_date(date(2026, 3, 2)) == "ngày 02 tháng 03 năm 2026"


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_tracking_slip_05_ends_with_the_result_returned_to_the_applicant(
    configuration: str,
) -> None:
    """The slip's last row: the returning desk hands the result to the applicant, when it
    happened, judged when the result was ready; every row has the two signature columns."""
    dossier = start(received(configuration, at(3, 2, 10)), configuration)
    dossier = hand_over(dossier, at(3, 3, 10), configuration)
    dossier = hand_over(dossier, at(3, 12, 10), configuration)
    desk = UNITS[configuration].desk
    renderer = forms(configuration)
    running = renderer.render("05", dossier, d(3, 12), applicant_name="Trần Thị Bình")
    for column in ("Người giao", "Người nhận"):
        assert f"<th>{column}<br><i>(ký, ghi rõ họ tên)</i></th>" in running
    desk_name = catalogue(configuration).unit(desk).name
    final = f"Giao: {desk_name}<br>Nhận: Người nộp hồ sơ (Trần Thị Bình)"
    assert final in running
    assert "Trả kết quả: ....giờ....phút, ngày ..../..../........" in running  # by hand
    ready = act(dossier, ReturnResult(dossier_code=dossier.code, unit=desk), at(3, 13, 9),
                configuration).dossier  # fmt: skip
    done = act(ready, HandOverResult(dossier_code=dossier.code, unit=desk), at(3, 20, 14, 30),
               configuration).dossier  # fmt: skip
    html = renderer.render("05", done, d(3, 20))
    last = html.split("Nhận: Người nộp hồ sơ")[1]
    assert "Trả kết quả: 14 giờ 30 phút, ngày 20/03/2026" in last
    assert "Trước hạn (hẹn 16/03/2026)" in last  # ready 13/03: collected late is not late
    assert "Kết quả có từ 09 giờ 00 phút, ngày 13/03/2026" in last
    assert html.count("<td></td><td></td>") == html.count("<tr><td>")  # signatures, every row


def renumbered_on_14_march() -> FormCatalogue:
    """The shipped numbers until Friday 13/03/2026, other ones from the 14th: a form shows
    which day it was numbered on."""
    shipped = load_forms()
    forms: list[FormInfo] = []
    for key in ("supplement", "apology", "tracking"):
        old = shipped.form(key, d(3, 2))
        forms.append(old.model_copy(update={"valid_to": d(3, 13)}))
        forms.append(
            old.model_copy(update={"number": "Mẫu 9" + old.number[-1], "valid_from": d(3, 14),
                                   "valid_to": None})
        )  # fmt: skip
    return FormCatalogue(version="test", forms=tuple(forms))


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_forms_02_and_04_are_numbered_and_dated_on_the_day_of_their_act(
    configuration: str,
) -> None:
    """Printed on 20/03 after a renumbering on 14/03, a supplement request of 04/03 and an
    apology of 12/03 keep the number and the date of their day: a reprint is the same
    paper. An apology stored without its time is dated by the fact routing recorded."""
    renderer = RoutingForms(catalogue(configuration), calendar(), renumbered_on_14_march())
    justice = UNITS[configuration].justice
    ask = RequestSupplement(
        dossier_code=at_department(configuration).code, unit=justice,
        missing_documents=["identity_copy"], reason="Thiếu giấy tờ",
    )  # fmt: skip
    asked = act(at_department(configuration), ask, at(3, 4, 16, 30), configuration).dossier
    html = renderer.render("02", asked, d(3, 20))
    assert "Mẫu 02" in html and "Mẫu 92" not in html
    assert "ngày 04 tháng 03 năm 2026" in html and "ngày 20 tháng 03" not in html

    apologise = IssueApology(
        dossier_code=asked.code, unit=justice, reason="Chờ xác minh", new_appointment_date=d(3, 20)
    )
    decision = act(at_department(configuration), apologise, at(3, 12), configuration)
    apologised = recorded(decision, context(at(3, 12), configuration)).dossier
    html = renderer.render("04", apologised, d(3, 20))
    assert "Mẫu 04" in html and "ngày 12 tháng 03 năm 2026" in html
    assert "ngày 20 tháng 03" not in html
    untimed = [n.model_copy(update={"issued_at": None}) for n in apologised.apologies]
    older = apologised.model_copy(update={"apologies": untimed})
    assert "ngày 12 tháng 03 năm 2026" in renderer.render("04", older, d(3, 20))


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_tracking_slip_05_numbered_on_reception_and_dated_as_it_stands(configuration: str) -> None:
    """Mẫu 05 is opened at the reception and travels with the dossier: the number in force
    on the reception day; dated on the print day while the dossier is open, on the day it
    closed once closed (a reprint of a closed dossier's slip is the same paper)."""
    renderer = RoutingForms(catalogue(configuration), calendar(), renumbered_on_14_march())
    desk = UNITS[configuration].desk
    dossier = hand_over(at_department(configuration), at(3, 12, 10), configuration)
    open_slip = renderer.render("05", dossier, d(3, 16))
    assert "Mẫu 05" in open_slip and "Mẫu 95" not in open_slip
    assert "ngày 16 tháng 03 năm 2026" in open_slip
    ready = act(dossier, ReturnResult(dossier_code=dossier.code, unit=desk), at(3, 13, 9),
                configuration).dossier  # fmt: skip
    done = act(ready, HandOverResult(dossier_code=dossier.code, unit=desk), at(3, 20, 14, 30),
               configuration).dossier  # fmt: skip
    for printed in (d(3, 20), d(3, 27)):
        slip = renderer.render("05", done, printed)
        assert "Mẫu 05" in slip and "ngày 20 tháng 03 năm 2026" in slip
        assert "ngày 27 tháng 03" not in slip
    assert renderer.render("05", done, d(3, 20)) == renderer.render("05", done, d(3, 27))
