"""Intake's printable forms over HTTP: Mẫu 01 for the applicant, Mẫu 03, the desk's log book."""

from __future__ import annotations

import re

import pytest
from intake import api_forms

from tests.integration.intake.helpers import DESK, RunningIntake, submission

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


async def test_receipt_log_book_and_refusal_forms(intake: RunningIntake) -> None:
    body = submission(result_delivery="post")
    receipt = (await intake.client.post("/v1/dossiers", json=body)).json()
    code, token = receipt["code"], receipt["lookup_token"]

    form = await intake.client.get(
        f"/v1/dossiers/{code}/forms/01", headers={"X-Lookup-Token": token}
    )
    assert form.status_code == 200, form.text
    assert form.headers["content-type"].startswith("text/html")
    assert form.headers["cache-control"] == "no-store"  # it names the applicant
    html = form.text
    assert "Mẫu 01" in html and "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in html
    assert "Bộ phận Một cửa thị trấn Tân Hòa" in html and "Nguyễn Văn An" in html
    assert "Tờ khai đăng ký khai sinh" in html  # the catalogue's name, not registration_form
    assert "registration_form" not in html
    day, month, year = receipt["appointment_date"].split("-")[::-1]
    assert f"ngày {day}/{month}/{year}" in html
    assert "dịch vụ bưu chính công ích" in html
    assert not ISO_DATE.search(html.split("Căn cứ ")[0])

    no_token = await intake.client.get(f"/v1/dossiers/{code}/forms/01")
    assert no_token.status_code == 404
    refusal = await intake.client.get(
        f"/v1/dossiers/{code}/forms/03", headers={"X-Lookup-Token": token}
    )
    assert refusal.status_code == 404 and refusal.json()["code"] == "form_unavailable"

    today = intake.ctx.calendar.local_date(intake.clock.now()).isoformat()
    log = await intake.client.get(
        f"/v1/units/{DESK}/forms/06", params={"start": today, "end": today}
    )
    assert log.status_code == 200, log.text
    assert "Mẫu 06" in log.text and "SỔ THEO DÕI HỒ SƠ" in log.text
    assert code in log.text and "0912345678" in log.text
    assert log.headers["cache-control"] == "no-store"
    backwards = await intake.client.get(
        f"/v1/units/{DESK}/forms/06", params={"start": today, "end": "2020-01-01"}
    )
    assert backwards.status_code == 422 and backwards.json()["code"] == "invalid_period"

    denied = (
        await intake.client.post(
            "/v1/dossiers/denials", json={**submission(), "reason": "Sai thẩm quyền <xã>"}
        )
    ).json()
    refused = await intake.client.get(
        f"/v1/dossiers/{denied['code']}/forms/03",
        headers={"X-Lookup-Token": denied["lookup_token"]},
    )
    assert refused.status_code == 200, refused.text
    assert "Mẫu 03" in refused.text and "Sai thẩm quyền &lt;xã&gt;" in refused.text


async def test_a_log_book_is_never_printed_without_some_of_its_dossiers(
    intake: RunningIntake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mẫu 06 stopped at its row bound and printed the book without the later dossiers,
    saying nothing: a desk printing a busy quarter got an incomplete register. A period
    with more dossiers than the bound is refused, naming what to do."""
    monkeypatch.setattr(api_forms, "MAX_LOG_ROWS", 2)
    today = intake.ctx.calendar.local_date(intake.clock.now()).isoformat()
    period = {"start": today, "end": today}
    for _ in range(2):
        assert (await intake.client.post("/v1/dossiers", json=submission())).status_code == 201
    full = await intake.client.get(f"/v1/units/{DESK}/forms/06", params=period)
    assert full.status_code == 200, full.text
    assert (await intake.client.post("/v1/dossiers", json=submission())).status_code == 201
    over = await intake.client.get(f"/v1/units/{DESK}/forms/06", params=period)
    assert over.status_code == 422, over.text
    assert (over.json()["code"], over.json()["field"]) == ("invalid_period", "end")
    assert "more than 2 dossiers" in over.json()["detail"]
    assert "shorter periods" in over.json()["detail"]
