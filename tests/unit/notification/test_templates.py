"""Templates: every event type that has one renders in Vietnamese and English, with its facts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from notification.domain import APPLICANT_EVENTS, TEMPLATED_EVENTS, UNIT_EVENTS
from notification.templates import (
    TEMPLATES_DIR,
    DisplayNames,
    Renderer,
    TemplateMissing,
    format_day,
    format_moment,
    gsm_text,
)

from shared.catalogue.loading import load_catalogue
from shared.events.dossier import Language, ResultDelivery
from shared.events.registry import REGISTRY
from tests.samples import (
    apology_issued,
    envelope_of,
    intake_supplement_requested,
    late,
    result_ready,
    sample_for,
    supplement_requested,
)

LOOKUP = "http://lookup.example/v1/dossiers/"
CODE = "001.21.31.H59-261126-0001"
CASES = [(t, lang) for t in sorted(TEMPLATED_EVENTS) for lang in Language]
# Words only a message in that language has (greeting or sign-off).
MARKERS = {
    Language.VI: ("Kính gửi", "Trân trọng", "Đề nghị"),
    Language.EN: ("Dear", "Kind regards", "Please"),
}


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(DisplayNames.from_catalogue(), LOOKUP)


def test_template_files_are_exactly_one_per_templated_event_and_language() -> None:
    files = {p.name for p in Path(TEMPLATES_DIR).glob("*.j2")}
    expected = {Renderer.template_name(t, lang) for t, lang in CASES}
    assert files == expected
    assert all(t in REGISTRY for t in TEMPLATED_EVENTS)


@pytest.mark.parametrize(("event_type", "language"), CASES)
def test_every_template_renders_subject_body_and_sms(
    renderer: Renderer, event_type: str, language: Language
) -> None:
    data = sample_for(event_type, CODE)
    name = "Nguyễn Văn An" if event_type in APPLICANT_EVENTS else "000.06.31.H59"
    message = renderer.render(envelope_of(data), data, language=language, recipient_name=name)

    assert CODE in message.subject
    assert "\n" not in message.subject
    assert CODE in message.body
    assert any(marker in message.body for marker in MARKERS[language])
    other = Language.EN if language is Language.VI else Language.VI
    assert not any(marker in message.body for marker in MARKERS[other])
    if event_type in APPLICANT_EVENTS:
        assert "Nguyễn Văn An" in message.body
    assert CODE in message.sms
    assert len(message.sms) <= 320
    assert message.sms == gsm_text(message.sms)  # no diacritics left
    assert "{{" not in message.body + message.subject + message.sms


def test_reception_message_gives_appointment_date_and_lookup_link(renderer: Renderer) -> None:
    data = sample_for("dossier.received.v2", CODE)
    vi = renderer.render(envelope_of(data), data, language=Language.VI, recipient_name="An")
    en = renderer.render(envelope_of(data), data, language=Language.EN, recipient_name="An")

    assert f"{LOOKUP}{CODE}" in vi.body and f"{LOOKUP}{CODE}" in vi.sms
    assert "Ngày hẹn trả kết quả: 18/12/2026" in vi.body
    assert "18 December 2026" in en.body
    assert "09:30 26/11/2026" in vi.body  # received at 02:30 UTC, shown in Vietnam time
    assert "Tan Hoa Town One-Stop Desk" in en.body  # display names from the catalogue
    assert "Đăng ký đất đai" in vi.body


def test_supplement_message_lists_what_is_missing_and_by_when(renderer: Renderer) -> None:
    data = sample_for("dossier.supplement.requested.v1", CODE)
    vi = renderer.render(envelope_of(data), data, language=Language.VI, recipient_name="An")

    assert "  - Bản đồ địa chính thửa đất" in vi.body
    assert "  - Biên lai nộp thuế" in vi.body
    assert "10/12/2026" in vi.body
    assert "Hồ sơ thiếu giấy tờ về thửa đất" in vi.body


def test_apology_gives_the_new_date_and_refusals_the_reason(renderer: Renderer) -> None:
    late = sample_for("dossier.overdue.v1", CODE)
    apology = renderer.render(envelope_of(late), late, language=Language.EN, recipient_name="An")
    assert "New appointment date: 6 January 2027" in apology.body
    assert "Mẫu 04" in apology.body

    for event_type in ("dossier.denied.v2", "dossier.stopped.v1"):
        data = sample_for(event_type, CODE)
        text = renderer.render(envelope_of(data), data, language=Language.VI, recipient_name="A")
        assert f"Lý do: {data.reason}" in text.body  # type: ignore[attr-defined]


def test_apology_form_is_the_units_with_its_reason_and_dates(renderer: Renderer) -> None:
    data = apology_issued(CODE, number=2)
    vi = renderer.render(envelope_of(data), data, language=Language.VI, recipient_name="An")
    assert vi.subject.startswith("Phiếu xin lỗi và hẹn lại ngày trả kết quả")
    assert "(Mẫu 04)" in vi.body and "Lý do: Cần xác minh thực địa thửa đất" in vi.body
    assert "không được giải quyết đúng ngày hẹn 23/12/2026" in vi.body
    assert "Ngày hẹn trả kết quả mới: 06/01/2027" in vi.body
    assert "lần hẹn lại thứ 2" in vi.body


def test_late_without_generated_apology_says_a_new_date_was_missed(renderer: Renderer) -> None:
    data = late(CODE)
    vi = renderer.render(envelope_of(data), data, language=Language.VI, recipient_name="An")
    assert "quá ngày hẹn trả kết quả 23/12/2026, là ngày hẹn lại sau phiếu xin lỗi" in vi.body
    assert "Mẫu 04" not in vi.body and "06/01/2027" not in vi.body + vi.sms


def test_payment_request_gives_the_amount(renderer: Renderer) -> None:
    data = sample_for("dossier.payment.requested.v1", CODE)
    vi = renderer.render(envelope_of(data), data, language=Language.VI, recipient_name="An")
    en = renderer.render(envelope_of(data), data, language=Language.EN, recipient_name="An")
    assert "nộp 1.500.000 đồng" in vi.body and "Nội dung: Tiền sử dụng đất" in vi.body
    assert "1.500.000 dong" in vi.sms
    assert "pay VND 1,500,000" in en.body


def test_supplement_shows_document_names_never_codes_nor_zero(renderer: Renderer) -> None:
    coded = supplement_requested(CODE).model_copy(
        update={"missing_documents": ["cadastral_extract"], "procedure_code": "1.004227"}
    )
    vi = renderer.render(envelope_of(coded), coded, language=Language.VI, recipient_name="An")
    assert "cadastral_extract" not in vi.body
    name = load_catalogue("three-level").procedure("1.004227").required_documents[2].name
    assert f"  - {name}" in vi.body
    empty = supplement_requested(CODE).model_copy(update={"missing_documents": []})
    text = renderer.render(envelope_of(empty), empty, language=Language.VI, recipient_name="An")
    assert "0 giay to" not in text.sms and "0 giấy tờ" not in text.body
    assert "theo hướng dẫn của cơ quan giải quyết" in text.body


def test_supplement_before_reception_says_what_is_missing_and_how_to_supplement(
    renderer: Renderer,
) -> None:
    """Mẫu 02 by e-mail: display names (a catalogue type by its name, a free text as given),
    the desk's guidance, and where to supplement: the desk, or intake's applicant route
    with the look-up token the applicant holds (named, never carried)."""
    data = intake_supplement_requested(CODE)
    vi = renderer.render(envelope_of(data), data, language=Language.VI, recipient_name="An")
    en = renderer.render(envelope_of(data), data, language=Language.EN, recipient_name="An")

    assert vi.subject == f"Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ {CODE}"
    assert "  - Giấy chứng sinh do cơ sở y tế cấp" in vi.body
    assert "  - Bản sao giấy đăng ký kết hôn" in vi.body
    assert "  - Birth certificate issued by the medical facility" in en.body
    assert "birth_certificate" not in vi.body + en.body + vi.sms + en.sms
    assert f"Hướng dẫn: {data.guidance}" in vi.body and f"Guidance: {data.guidance}" in en.body
    assert "thủ tục: Đăng ký khai sinh" in vi.body and "chưa được tiếp nhận" in vi.body
    for message in (vi, en):
        assert f"{LOOKUP}{CODE}/supplement" in message.body
        assert f"{LOOKUP}{CODE} " in message.body  # the look-up itself
        assert f"{LOOKUP}{CODE}" in message.sms
    assert "mã tra cứu ghi trên giấy biên nhận hồ sơ" in vi.body
    assert "look-up token printed on your dossier receipt" in en.body
    assert "Tan Hoa Town One-Stop Desk" in en.body
    assert "can bo sung 2 giay to" in vi.sms and "2 documents to supplement" in en.sms
    assert "lần thứ" not in vi.body  # a first request says no number
    again = data.model_copy(update={"request_number": 2, "missing_documents": ["x"]})
    second = renderer.render(envelope_of(again), again, language=Language.VI, recipient_name="A")
    assert "(Yêu cầu bổ sung lần thứ 2.)" in second.body and "1 giay to" in second.sms
    one = renderer.render(envelope_of(again), again, language=Language.EN, recipient_name="A")
    assert "1 document to supplement" in one.sms


@pytest.mark.parametrize(
    ("delivery", "wording"),
    [
        ("desk", "Mời Ông/Bà đến"),
        ("post", "qua dịch vụ bưu chính công ích"),
        ("online", "nhận kết quả điện tử"),
    ],
)
def test_result_wording_depends_on_how_it_is_returned(
    renderer: Renderer, delivery: str, wording: str
) -> None:
    data = result_ready(CODE).model_copy(update={"result_delivery": ResultDelivery(delivery)})
    vi = renderer.render(envelope_of(data), data, language=Language.VI, recipient_name="An")
    assert wording in vi.body


def test_due_soon_message_gives_the_due_date_and_the_time_left(renderer: Renderer) -> None:
    data = sample_for("dossier.step.due_soon.v1", CODE)
    vi = renderer.render(envelope_of(data), data, language=Language.VI, recipient_name="unit")
    en = renderer.render(envelope_of(data), data, language=Language.EN, recipient_name="unit")

    assert "Hạn xử lý: 09/12/2026" in vi.body and "1 ngày làm việc" in vi.body
    assert "bước 2" in vi.subject
    assert "Due date: 9 December 2026" in en.body and "1 working day(s)" in en.body
    today = data.model_copy(update={"working_days_left": 0})
    last_day = renderer.render(envelope_of(today), today, language=Language.EN, recipient_name="u")
    assert "due by the end of today" in last_day.body


def test_unknown_codes_fall_back_to_the_code() -> None:
    names = DisplayNames()
    assert names.unit("999.99.99.H99", Language.EN) == "999.99.99.H99"
    assert names.procedure("9.999999", Language.VI) == "9.999999"


def test_missing_template_is_a_typed_error(renderer: Renderer) -> None:
    data = sample_for("dossier.received.v2", CODE)
    env = envelope_of(data).model_copy(update={"type": "dossier.done.v1"})
    with pytest.raises(TemplateMissing):
        renderer.render(env, data, language=Language.VI, recipient_name="An")


def test_date_and_text_helpers() -> None:
    assert format_day(date(2026, 1, 5), Language.VI) == "05/01/2026"
    assert format_day(date(2026, 1, 5), Language.EN) == "5 January 2026"
    moment = datetime(2026, 1, 4, 18, 5, tzinfo=UTC)  # next day in Vietnam
    assert format_moment(moment, Language.VI) == "01:05 05/01/2026"
    assert gsm_text("Hồ sơ  đã được\ntiếp nhận Đà Nẵng") == "Ho so da duoc tiep nhan Da Nang"


def test_every_unit_event_has_a_template_in_both_languages() -> None:
    for event_type in UNIT_EVENTS:
        for language in Language:
            assert (TEMPLATES_DIR / Renderer.template_name(event_type, language)).is_file()


def test_an_old_v1_fact_is_told_with_the_current_template(renderer: Renderer) -> None:
    data = sample_for("dossier.received.v1", CODE)
    message = renderer.render(envelope_of(data), data, language=Language.EN, recipient_name="An")
    current = sample_for("dossier.received.v2", CODE)
    expected = renderer.render(
        envelope_of(current), current, language=Language.EN, recipient_name="An"
    )
    assert message == expected
