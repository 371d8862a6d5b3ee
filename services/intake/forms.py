"""The forms intake has the data for: Mẫu 01 (receipt and appointment), Mẫu 03 (refusal
at intake) and Mẫu 06 (the desk's log book), as printable HTML in Vietnamese.

Built from intake's stored dossiers (the applicant's name and contact live here), with
unit, procedure and document display names from the catalogue and dd/mm/yyyy dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from shared.catalogue import Catalogue, CatalogueLookupError
from shared.forms import FormCatalogue, form_environment, place_date

TEMPLATES = Path(__file__).resolve().parent / "form_templates"
DELIVERY = {
    "desk": "Bộ phận Một cửa nơi nộp hồ sơ",
    "post": "Địa chỉ của người nộp, qua dịch vụ bưu chính công ích",
    "online": "Cổng Dịch vụ công (kết quả điện tử)",
}


class FormUnavailable(LookupError):
    """The dossier has no data for this form (not received, not refused)."""


@dataclass(frozen=True)
class IntakeForms:
    """Renders intake's forms from stored dossiers."""

    catalogue: Catalogue
    numbers: FormCatalogue

    def receipt(self, doc: dict[str, Any], today: date) -> str:
        """Mẫu 01 of a received dossier."""
        if doc.get("received_at") is None or doc.get("appointment_date") is None:
            raise FormUnavailable("the dossier has not been received: no receipt (Mẫu 01)")
        applicant = doc["applicant"]
        return self._page(
            "receipt",
            doc,
            today,
            applicant_name=applicant["name"],
            phone=applicant.get("phone"),
            email=applicant.get("email"),
            documents=[self._document(doc["procedure_code"], d) for d in doc["documents"]],
            budget_days=doc["total_budget_days"],
            received_at=doc["received_at"],
            appointment_date=date.fromisoformat(doc["appointment_date"]),
            delivery=DELIVERY[doc.get("result_delivery") or "desk"],
        )

    def refusal(self, doc: dict[str, Any], today: date) -> str:
        """Mẫu 03 of a dossier refused at intake."""
        notice = doc.get("refusal")
        if not notice:
            raise FormUnavailable("the dossier was not refused at intake: no Mẫu 03")
        return self._page(
            "refusal",
            doc,
            today,
            applicant_name=notice["applicant_name"],
            reason=notice["reason"],
            denied_at=notice["denied_at"],
        )

    def log_book(
        self, unit: str, docs: list[dict[str, Any]], start: date, end: date, today: date
    ) -> str:
        """Mẫu 06: the dossiers a desk received between two dates."""
        rows = [self._log_row(doc) for doc in docs]
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

    def _document(self, procedure_code: str, doc: dict[str, Any]) -> dict[str, str]:
        """The catalogue's name of the document's type; the submitter's name as a note."""
        try:
            required = self.catalogue.procedure(procedure_code).required_documents
        except CatalogueLookupError:
            required = ()
        names = {r.type: r.name for r in required}
        official = names.get(doc["type"])
        if official is None:
            return {"name": doc["name"], "note": ""}
        return {"name": official, "note": "" if doc["name"] == official else doc["name"]}

    def _page(self, key: str, doc: dict[str, Any], today: date, **body: Any) -> str:
        template = form_environment(TEMPLATES).get_template(f"{key}.html.j2")
        return template.render(
            form=self.numbers.form(key, today),
            code=doc["_id"],
            unit_name=self.unit_name(doc["receiving_unit"]),
            place_date=place_date(today),
            procedure_name=self._procedure_name(doc["procedure_code"]),
            calendar_version=doc.get("calendar_version"),
            **body,
        )

    def _log_row(self, doc: dict[str, Any]) -> dict[str, Any]:
        applicant = doc["applicant"]
        history = doc.get("history", [])
        sent = _first(history, "dossier.transfer.requested.v1")
        taken = _first(history, "dossier.transfer.accepted.v1")
        done = _first(history, "dossier.done.v1")
        contact = ", ".join(x for x in (applicant.get("phone"), applicant.get("email")) if x)
        appointment = doc.get("appointment_date")
        return {
            "code": doc["_id"],
            "procedure": self._procedure_name(doc["procedure_code"]),
            "applicant": applicant["name"],
            "contact": contact,
            "handler": self.unit_name(taken["holding_unit"]) if taken else "",
            "received_at": doc.get("received_at"),
            "appointment": date.fromisoformat(appointment) if appointment else None,
            "sent_at": sent["at"] if sent else None,
            "done_at": done["at"] if done else None,
            "note": doc.get("note") or "",
        }


def _first(history: list[dict[str, Any]], event_type: str) -> dict[str, Any] | None:
    return next((step for step in history if step["event_type"] == event_type), None)


def day_bounds(start: date, end: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """``[start 00:00, end+1 00:00)`` in local time, as aware moments."""
    return (
        datetime.combine(start, time(0), tz),
        datetime.combine(end + timedelta(days=1), time(0), tz),
    )
