"""Intake's printed forms (Mẫu 01, 02, 03, 06): the form in force on the date of the act,
dated that day, the legal basis in Vietnamese, and the fields the official forms have.

Worked dossier: a marriage registration (5 working days) at the Tân Hòa desk.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from intake.domain import admit
from intake.dossiers import decide_desk_refusal, decide_submission, new_dossier
from intake.forms import IntakeForms
from intake.model import IntakeDossier

from shared.calendar import LOCAL_TZ, load_calendar
from shared.catalogue import load_catalogue
from shared.events.dossier import ApplicantContact, DocumentRef
from shared.forms import load_forms

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
