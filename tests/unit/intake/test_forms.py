"""Intake's printed forms (Mẫu 01, 02, 03, 06): the form in force on the date of the act,
dated that day, the legal basis in Vietnamese, and the fields the official forms have.

Worked dossier: a marriage registration (5 working days) at the Tân Hòa desk.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from intake.domain.admission import admit
from intake.domain.public_view import apply_fact
from intake.domain.state_checks import check_awaiting_desk
from intake.dossiers import (
    decide_desk_refusal,
    decide_reception,
    decide_submission,
    decide_supplement,
    decide_supplement_request,
    decide_withdrawal,
    new_dossier,
)
from intake.forms import IntakeForms
from intake.model import IntakeDossier
from intake.schemas.requests import ApplicantIn, DenialRequest
from pydantic import ValidationError

from shared.calendar import LOCAL_TZ, load_calendar
from shared.catalogue.configuration import Catalogue
from shared.catalogue.loading import load_catalogue
from shared.events.deadlines import ApologyIssued, ApologyNotice
from shared.events.dossier import ApplicantContact, DocumentRef, DossierState
from shared.events.reception import IntakeSupplementProvided, IntakeSupplementRequested
from shared.events.withdrawal import DossierWithdrawn
from shared.forms import load_forms
from shared.refusals import Refused

DESK = "001.21.31.H59"
MARRIAGE = "1.000894"
CATALOGUE = load_catalogue("three-level")
FORMS = IntakeForms(CATALOGUE, load_forms())


def at(y: int, m: int, d: int, h: int = 10, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=LOCAL_TZ)


def contact() -> ApplicantContact:
    return ApplicantContact(
        name="Nguyễn Văn An", identity_hash="b" * 64, phone="0912345678", email="an@example.vn"
    )


def dossier(now: datetime, **fields: object) -> IntakeDossier:
    admission = admit(
        CATALOGUE, procedure_code=MARRIAGE, receiving_unit=DESK, area_unit=None,
        document_types=None, on=now.date(),
    )  # fmt: skip
    return new_dossier(
        code=f"{DESK}-{now:%y%m%d}-0001",
        admission=admission,
        contact=contact(),
        documents=[DocumentRef(name="Tờ khai", type="request_form", size_bytes=1, sha256="a" * 64)],
        area_unit=None,
        note=None,
        channel="desk",
        token="t" * 32,
        now=now,
        **fields,  # type: ignore[arg-type]
    )


def received(now: datetime, **fields: object) -> IntakeDossier:
    admission = admit(
        CATALOGUE, procedure_code=MARRIAGE, receiving_unit=DESK, area_unit=None,
        document_types=None, on=now.date(),
    )  # fmt: skip
    return decide_submission(dossier(now, **fields), load_calendar(), admission, now).dossier


def text(html: str) -> str:
    """The page's text, tags removed, blank runs collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.split("<body>")[1]))


# --- A5: the form of the act's date, its basis in Vietnamese ---------------------------


def test_form_dates_match_the_legal_texts() -> None:
    """Circular 01/2018/TT-VPCP is in force 06/01/2019 - 30/06/2025 (docs/legal.md)."""
    shipped = load_forms()
    circular = [f for f in shipped.forms if "01/2018/TT-VPCP ngày" in f.source]
    assert {f.key for f in circular} == {
        "receipt", "supplement", "refusal", "apology", "tracking", "log_book",
    }  # fmt: skip
    assert {(f.valid_from, f.valid_to) for f in circular} == {(date(2019, 1, 6), date(2025, 6, 30))}
    with pytest.raises(LookupError):
        shipped.form("receipt", date(2019, 1, 5))  # signed, not yet in force
    later = shipped.form("receipt", date(2025, 7, 1))
    assert later.source.startswith("Nghị định số 118/2025/NĐ-CP") and "chưa" in later.source


def test_receipt_is_dated_and_numbered_on_the_reception_day_not_the_print_day() -> None:
    html = FORMS.receipt(received(at(2025, 6, 30)))
    assert "ngày 30 tháng 06 năm 2025" in html
    assert "Căn cứ Thông tư số 01/2018/TT-VPCP ngày 23/11/2018 của Văn phòng Chính phủ" in html
    assert "Circular" not in html and "Căn cứ:" not in html
    after = FORMS.receipt(received(at(2025, 7, 1)))
    assert "ngày 01 tháng 07 năm 2025" in after
    assert "Căn cứ Nghị định số 118/2025/NĐ-CP" in after


def test_refusal_is_dated_on_the_refusal_day() -> None:
    refused = decide_desk_refusal(
        dossier(at(2026, 3, 2)), CATALOGUE, "Sai thẩm quyền", at(2026, 3, 2, 16)
    ).dossier
    html = FORMS.refusal(refused)
    assert "ngày 02 tháng 03 năm 2026" in html and "Căn cứ Nghị định số 118/2025" in html


# --- A4: the fields of the official forms ----------------------------------------------

ADDRESS = "Số 5 <ấp> Tân Hòa, thị trấn Tân Hòa"


def test_applicant_address_is_optional_one_bounded_line() -> None:
    base = {"name": "Nguyễn Văn An", "identity_number": "012345678901"}
    assert ApplicantIn.model_validate(base).address is None
    assert ApplicantIn.model_validate({**base, "address": f"  {ADDRESS} "}).address == ADDRESS
    for bad in ("Số 5\nTân Hòa", "Số 5\x07", "x" * 301, ""):
        with pytest.raises(ValidationError):
            ApplicantIn.model_validate({**base, "address": bad})


@pytest.mark.parametrize("control", ["\x80", "\x85", "\x9b", "\x9f"])
def test_a_c1_control_character_is_refused_like_any_other(control: str) -> None:
    """The name, address, e-mail and note were documented "without control characters"
    but took U+0080-U+009F (the 8-bit CSI U+009B of terminal escapes among them)."""
    base = {"name": "Nguyễn Văn An", "identity_number": "012345678901"}
    for field, value in [
        ("name", f"Nguyễn{control}Văn An"),
        ("address", f"Số 5{control}Tân Hòa"),
        ("email", f"an{control}@example.vn"),
    ]:
        with pytest.raises(ValidationError):
            ApplicantIn.model_validate({**base, field: value})
    with pytest.raises(ValidationError):
        DenialRequest.model_validate({"reason": f"Thiếu{control}giấy tờ"})


def test_receipt_has_the_address_and_the_appointment_hour_left_to_write_in() -> None:
    html = FORMS.receipt(received(at(2026, 3, 2, 14, 59), address=ADDRESS))
    assert "Địa chỉ: Số 5 &lt;ấp&gt; Tân Hòa, thị trấn Tân Hòa" in html  # escaped
    # Appointments are dates: the hour is written in by the desk, never invented.
    assert (
        "5. Thời gian trả kết quả giải quyết hồ sơ: ...... giờ ...... phút, ngày 09/03/2026"
        in text(html)
    )
    without = FORMS.receipt(received(at(2026, 3, 2)))
    assert "Địa chỉ: ......" in without


def test_refusal_has_the_address_phone_and_email() -> None:
    refused = decide_desk_refusal(
        dossier(at(2026, 3, 2), address=ADDRESS), CATALOGUE, "Sai thẩm quyền", at(2026, 3, 2)
    ).dossier
    page = text(FORMS.refusal(refused))
    assert "Địa chỉ: Số 5 &lt;ấp&gt; Tân Hòa" in page
    assert "Số điện thoại: 0912345678" in page and "Email: an@example.vn" in page


def test_log_book_shows_the_original_appointment_the_apology_date_and_a_signature_column() -> None:
    dossier = received(at(2026, 3, 2), address=ADDRESS)
    assert dossier.appointment_date == date(2026, 3, 9)
    notice = ApologyNotice(
        issuing_unit=DESK, reason="Chờ xác minh", original_appointment_date=date(2026, 3, 9),
        new_appointment_date=date(2026, 3, 13), issued_at=at(2026, 3, 6),
    )  # fmt: skip
    fact = ApologyIssued(
        dossier_code=dossier.code, state=DossierState.PROCESSING, holding_unit=DESK, unit=DESK,
        issued_at=at(2026, 3, 6), apology=notice,
    )  # fmt: skip
    later = apply_fact(dossier, ApologyIssued.EVENT_TYPE, "e1", at(2026, 3, 6), fact)
    assert later is not None and later.appointment_date == date(2026, 3, 13)
    page = text(
        FORMS.log_book(DESK, [later], date(2026, 3, 1), date(2026, 3, 31), date(2026, 4, 1))
    )
    assert "09/03/2026 Hẹn lại (Phiếu xin lỗi): 13/03/2026" in page
    assert "Người nhận kết quả ký nhận" in page
    assert "Số 5 &lt;ấp&gt; Tân Hòa, thị trấn Tân Hòa, 0912345678" in page


# --- A3: a supplement request before reception (Mẫu 02) --------------------------------


def test_an_incomplete_dossier_is_asked_to_supplement_not_refused_then_received() -> None:
    now = at(2026, 3, 2)
    asked = decide_supplement_request(
        dossier(now, address=ADDRESS), ["birth_certificate", "Bản sao CCCD"], "Bản chính", now
    )
    assert isinstance(asked.fact, IntakeSupplementRequested)
    assert asked.fact.state is DossierState.SUPPLEMENT_REQUESTED and asked.fact.portal_status == 5
    assert asked.fact.missing_documents == ["birth_certificate", "Bản sao CCCD"]
    assert asked.dossier.appointment_date is None and asked.dossier.refusal is None
    waiting = asked.dossier.changed(state=asked.fact.state)
    with pytest.raises(Refused):  # not waiting for the desk: cannot be received yet
        check_awaiting_desk(waiting.current_state)
    extra = DocumentRef(name="Giấy chứng sinh", type="birth_certificate", size_bytes=2,
                        sha256="c" * 64)  # fmt: skip
    brought = decide_supplement(waiting, [extra], at(2026, 3, 4))
    assert isinstance(brought.fact, IntakeSupplementProvided)
    assert brought.fact.state is DossierState.SUBMITTED
    assert [d.type for d in brought.dossier.documents] == ["request_form", "birth_certificate"]
    assert brought.dossier.supplement_requests[0].provided_at == at(2026, 3, 4)
    again = brought.dossier.changed(state=DossierState.SUBMITTED)
    with pytest.raises(Refused):  # supplemented once: a retry adds nothing
        decide_supplement(again, [extra], at(2026, 3, 4))
    admission = admit(
        CATALOGUE, procedure_code=MARRIAGE, receiving_unit=DESK, area_unit=None,
        document_types=None, on=date(2026, 3, 4),
    )  # fmt: skip
    received_later = decide_reception(again, load_calendar(), admission, at(2026, 3, 4))
    assert received_later.dossier.received_at == at(2026, 3, 4)  # the clock starts now


def test_only_a_dossier_waiting_for_the_desk_can_be_asked_to_supplement() -> None:
    received_one = received(at(2026, 3, 2))
    received_one = received_one.changed(state=DossierState.RECEIVED)
    with pytest.raises(Refused) as caught:
        decide_supplement_request(received_one, ["x"], "y", at(2026, 3, 3))
    assert caught.value.code == "invalid_state"


def test_a_dossier_waiting_for_a_supplement_is_withdrawn_at_once() -> None:
    now = at(2026, 3, 2)
    asked = decide_supplement_request(dossier(now), ["birth_certificate"], "Bổ sung", now)
    waiting = asked.dossier.changed(state=asked.fact.state)
    assert isinstance(decide_withdrawal(waiting, None, now).fact, DossierWithdrawn)


def test_supplement_form_02_lists_names_guidance_address_and_the_officials_phone() -> None:
    now = at(2026, 3, 2, 9, 30)
    asked = decide_supplement_request(
        dossier(now, address=ADDRESS), ["birth_certificate", "Bản sao <CCCD>"], "Bản chính", now
    ).dossier
    data = CATALOGUE.model_dump()
    for unit in data["units"]:
        if unit["code"] == DESK:
            unit["phone"] = "0273 3123 456"
    with_phone = Catalogue.model_validate(data)
    page = text(IntakeForms(with_phone, load_forms()).supplement(asked))
    names = {r.type: r.name for r in CATALOGUE.procedure(MARRIAGE).required_documents}
    assert "Mẫu 02" in page and "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ" in page
    if "birth_certificate" in names:
        assert names["birth_certificate"] in page and "birth_certificate" not in page
    assert "Bản sao &lt;CCCD&gt;" in page and "Hướng dẫn: Bản chính" in page
    assert "Địa chỉ: Số 5 &lt;ấp&gt; Tân Hòa" in page and "Số điện thoại: 0912345678" in page
    assert "số điện thoại 0273 3123 456 để được hướng dẫn" in page
    assert "ngày 02 tháng 03 năm 2026" in page and "NGƯỜI HƯỚNG DẪN" in page
    blank = text(FORMS.supplement(asked))
    assert "số điện thoại ................ để được hướng dẫn" in blank
