"""The forms intake has the data for: Mẫu 01 (receipt and appointment), Mẫu 02 (supplement
request before reception), Mẫu 03 (refusal at intake) and Mẫu 06 (the desk's log book),
as printable HTML in Vietnamese.

Built from intake's stored dossiers (the applicant's name and contact live here), with
unit, procedure and document display names from the catalogue and dd/mm/yyyy dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from intake.model import IntakeDossier, PublicStep
from intake.views import document_name
from shared.catalogue.configuration import Catalogue
from shared.catalogue.model import CatalogueLookupError
from shared.events.dossier import DocumentRef
from shared.forms import FormCatalogue, form_environment, local_day, place_date

TEMPLATES = Path(__file__).resolve().parent / "form_templates"
DELIVERY = {
    "desk": "Bộ phận Một cửa nơi nộp hồ sơ",
    "post": "Địa chỉ của người nộp, qua dịch vụ bưu chính công ích",
    "online": "Cổng Dịch vụ công (kết quả điện tử)",
}


# What Mẫu 06 prints for the applicant of a dossier whose personal data were erased.
ERASED_ROW = "(đã xoá dữ liệu cá nhân khi hết thời hạn lưu trữ)"


class FormUnavailable(LookupError):
    """The dossier has no data for this form (not received, not refused)."""


@dataclass(frozen=True)
class IntakeForms:
    """Renders intake's forms from stored dossiers."""

    catalogue: Catalogue
    numbers: FormCatalogue

    def receipt(self, dossier: IntakeDossier) -> str:
        """Mẫu 01 of a received dossier, dated (and numbered) on the day of reception: a
        reprint is the same paper."""
        if dossier.received_at is None or dossier.appointment_date is None:
            raise FormUnavailable("the dossier has not been received: no receipt (Mẫu 01)")
        return self._page(
            "receipt",
            dossier,
            local_day(dossier.received_at),
            **_applicant_lines(dossier),
            documents=[self._document(dossier.procedure_code, d) for d in dossier.documents],
            budget_days=dossier.total_budget_days,
            received_at=dossier.received_at,
            appointment_date=dossier.appointment_date,
            delivery=DELIVERY[dossier.result_delivery.value],
        )

    def supplement(self, dossier: IntakeDossier) -> str:
        """Mẫu 02 of the desk's latest request to supplement the dossier before receiving
        it, dated on the day of the request. The guiding official's phone is the desk's,
        from the catalogue, when the data gives one (else a line to fill in)."""
        if not dossier.supplement_requests:
            raise FormUnavailable("the desk asked for no supplement before reception: no Mẫu 02")
        request = dossier.supplement_requests[-1]
        try:
            official_phone = self.catalogue.unit(dossier.receiving_unit).phone
        except CatalogueLookupError:
            official_phone = None
        return self._page(
            "supplement",
            dossier,
            local_day(request.requested_at),
            **_applicant_lines(dossier),
            documents=[
                document_name(self.catalogue, dossier.procedure_code, m)
                for m in request.missing_documents
            ],
            guidance=request.guidance,
            requested_at=request.requested_at,
            request_number=request.number,
            official_phone=official_phone,
        )

    def refusal(self, dossier: IntakeDossier) -> str:
        """Mẫu 03 of a dossier refused at intake, dated on the day of the refusal."""
        notice = dossier.refusal
        if notice is None:
            raise FormUnavailable("the dossier was not refused at intake: no Mẫu 03")
        return self._page(
            "refusal",
            dossier,
            local_day(notice.denied_at),
            applicant_name=notice.applicant_name,
            address=dossier.applicant_address,
            phone=dossier.applicant.phone,
            email=dossier.applicant.email,
            reason=notice.reason,
            denied_at=notice.denied_at,
        )

    def log_book(
        self, unit: str, dossiers: list[IntakeDossier], start: date, end: date, today: date
    ) -> str:
        """Mẫu 06: the dossiers a desk received between two dates. The book is printed
        as it stands ``today``: numbered and dated on the print date."""
        rows = [self._log_row(dossier) for dossier in dossiers]
        template = form_environment(TEMPLATES).get_template("log_book.html.j2")
        return template.render(
            form=self.numbers.form("log_book", today),
            code=unit,
            unit_name=self.unit_name(unit),
            place_date=place_date(today),
            calendar_version=None,
            rows=rows,
            start=start,
            end=end,
        )

    def unit_name(self, code: str) -> str:
        try:
            return self.catalogue.unit(code).name
        except CatalogueLookupError:
            return code

    def _procedure_name(self, code: str) -> str:
        try:
            return self.catalogue.procedure(code).name
        except CatalogueLookupError:
            return code

    def _document(self, procedure_code: str, doc: DocumentRef) -> dict[str, str]:
        """The catalogue's name of the document's type; the submitter's name as a note."""
        try:
            required = self.catalogue.procedure(procedure_code).required_documents
        except CatalogueLookupError:
            required = ()
        names = {r.type: r.name for r in required}
        official = names.get(doc.type)
        if official is None:
            return {"name": doc.name, "note": ""}
        return {"name": official, "note": "" if doc.name == official else doc.name}

    def _page(self, key: str, dossier: IntakeDossier, act_on: date, **body: Any) -> str:
        """The form numbered as in force on the day of its act, and dated that day."""
        template = form_environment(TEMPLATES).get_template(f"{key}.html.j2")
        return template.render(
            form=self.numbers.form(key, act_on),
            code=dossier.code,
            unit_name=self.unit_name(dossier.receiving_unit),
            place_date=place_date(act_on),
            procedure_name=self._procedure_name(dossier.procedure_code),
            calendar_version=dossier.calendar_version,
            **body,
        )

    def _log_row(self, dossier: IntakeDossier) -> dict[str, Any]:
        applicant = dossier.applicant
        kept = not dossier.erased  # an erased row keeps its code, procedure and dates
        sent = _first(dossier.history, "dossier.transfer.requested.v1")
        taken = _first(dossier.history, "dossier.transfer.accepted.v1")
        done = _first(dossier.history, "dossier.done.v1")
        return {
            "code": dossier.code,
            "procedure": self._procedure_name(dossier.procedure_code),
            "applicant": applicant.name if kept else ERASED_ROW,
            "contact": ", ".join(
                x for x in (dossier.applicant_address, applicant.phone, applicant.email) if x
            )
            if kept
            else "",
            "handler": self.unit_name(taken.holding_unit) if taken else "",
            "received_at": dossier.received_at,
            # The appointment of Mẫu 01; the date of the latest apology (Mẫu 04) besides.
            "appointment": dossier.original_appointment_date or dossier.appointment_date,
            "rescheduled": dossier.apology_appointment_date,
            "sent_at": sent.at if sent else None,
            "done_at": done.at if done else None,
            "note": (dossier.note or "") if kept else "",
        }


def _first(history: list[PublicStep], event_type: str) -> PublicStep | None:
    return next((step for step in history if step.event_type == event_type), None)


def day_bounds(start: date, end: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """``[start 00:00, end+1 00:00)`` in local time, as aware moments."""
    return (
        datetime.combine(start, time(0), tz),
        datetime.combine(end + timedelta(days=1), time(0), tz),
    )


def _applicant_lines(dossier: IntakeDossier) -> dict[str, str | None]:
    """The applicant's lines of Mẫu 01 and 02: name, address, phone, e-mail."""
    applicant = dossier.applicant
    return {
        "applicant_name": applicant.name,
        "address": dossier.applicant_address,
        "phone": applicant.phone,
        "email": applicant.email,
    }
