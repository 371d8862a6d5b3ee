"""The forms routing has the data for: Mẫu 02 (supplement request), Mẫu 04 (apology and new
appointment), Mẫu 05 (tracking slip: every hand-over with its receipt and each unit's
result against its due date, the final row for the result returned to the applicant,
and the columns where the persons handing over and receiving sign). Rendered as printable
HTML from the stored dossier, with unit and document display names from the catalogue
(never raw codes) and dd/mm/yyyy dates.

A form takes the number in force on the date of the act it records and is dated that day
under the national heading, not on the print date (as intake's forms): Mẫu 02 the day of
the supplement request, Mẫu 04 the day the apology was issued; a reprint is the same
paper. Mẫu 05 is opened with the dossier at its reception and travels with it: it takes
the number in force on the reception day, and is dated on the day it stands at, which is
the print day while the dossier is open (its running steps are judged that day) and the
day it was closed once closed (then it no longer changes, and a reprint is the same paper).
The applicant's name is not routing's to keep (dossier events carry no personal data):
the API asks intake for it when it renders a form (routing.applicants) and passes it in;
without it the line is left for the desk to fill in. Once intake erased the applicant's
personal data (retention passed, docs/intake.md), the line says so (``ERASED_NAME``, the
words of intake's log book).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from routing.domain.closing import agency_late
from routing.domain.model import Dossier, Step
from shared.calendar import WorkingCalendar
from shared.catalogue.configuration import Catalogue
from shared.catalogue.model import CatalogueLookupError
from shared.events.deadlines import ApologyIssued
from shared.events.dossier import DossierState
from shared.forms import FormCatalogue, form_environment, local_day, place_date, vn_moment

TEMPLATES = Path(__file__).resolve().parent / "form_templates"
FORMS = {"02": "supplement", "04": "apology", "05": "tracking"}
# The name line of a dossier whose personal data intake erased (as intake's log book says).
ERASED_NAME = "(đã xoá dữ liệu cá nhân khi hết thời hạn lưu trữ)"


_STATUS = {
    "pending": "Chờ tiếp nhận",
    "accepted": "Đã tiếp nhận",
    "refused": "Từ chối tiếp nhận",
    "cancelled": "Đã hủy",
}


class FormUnavailable(LookupError):
    """The dossier has no data for this form (no supplement request, no apology...)."""


@dataclass(frozen=True)
class RoutingForms:
    """Renders routing's forms; built once with the catalogue, calendar and form numbers."""

    catalogue: Catalogue
    calendar: WorkingCalendar
    numbers: FormCatalogue

    def render(
        self,
        number: str,
        dossier: Dossier,
        today: date,
        nth: int | None = None,
        applicant_name: str | None = None,
        erased: bool = False,
    ) -> str:
        """Form ``number`` ("02", "04", "05") of ``dossier`` as HTML, addressed to
        ``applicant_name`` when known, else a line to fill in by hand, or, when intake
        erased the applicant's personal data (``erased``), ``ERASED_NAME`` on that line.
        ``today`` is the print day: it dates only Mẫu 05 of an open dossier (see the
        module's note)."""
        key = FORMS.get(number)
        if key is None:
            raise FormUnavailable(f"routing has no form {number}; it has {sorted(FORMS)}")
        if key == "supplement":
            body = self._supplement(dossier, nth)
            numbered_on = dated_on = local_day(body["requested_at"])
        elif key == "apology":
            body = self._apology(dossier, nth)
            numbered_on = dated_on = body.pop("issued_on") or today
        else:
            dated_on = local_day(dossier.closed_at) if dossier.closed_at is not None else today
            body = self._tracking(dossier, dated_on)
            numbered_on = local_day(dossier.received_at)
        unit = body.pop("unit")
        template = form_environment(TEMPLATES).get_template(f"{key}.html.j2")
        return template.render(
            form=self.numbers.form(key, numbered_on),
            code=dossier.code,
            unit_name=self.unit_name(unit),
            place_date=place_date(dated_on),
            procedure_name=dossier.procedure_name,
            received_at=dossier.received_at,
            calendar_version=dossier.calendar_version,
            applicant_name=applicant_name,
            erased_name=ERASED_NAME if erased and not applicant_name else None,
            **body,
        )

    def check(self, number: str, dossier: Dossier, nth: int | None = None) -> None:
        """Raise ``FormUnavailable`` unless the dossier has the data of form ``number``."""
        key = FORMS.get(number)
        if key is None:
            raise FormUnavailable(f"routing has no form {number}; it has {sorted(FORMS)}")
        if key == "supplement":
            _pick(dossier.supplements, nth, "supplement request")
        elif key == "apology":
            _pick(dossier.apologies, nth, "apology")

    def unit_name(self, code: str) -> str:
        try:
            return self.catalogue.unit(code).name
        except CatalogueLookupError:
            return code

    def document_name(self, procedure_code: str, entry: str) -> str:
        """The catalogue's name of a document type; free text stays as written."""
        try:
            required = self.catalogue.procedure(procedure_code).required_documents
        except CatalogueLookupError:
            required = ()
        names = {doc.type: doc.name for doc in required}
        return names.get(entry, entry.replace("_", " ") if "_" in entry else entry)

    def _supplement(self, d: Dossier, nth: int | None) -> dict[str, Any]:
        request = _pick(d.supplements, nth, "supplement request")
        number = nth or len(d.supplements)
        return {
            "unit": request.unit,
            "documents": [
                self.document_name(d.procedure_code, m) for m in request.missing_documents
            ],
            "reason": request.reason,
            "requested_at": request.requested_at,
            "request_number": number,
        }

    def _apology(self, d: Dossier, nth: int | None) -> dict[str, Any]:
        notice = _pick(d.apologies, nth, "apology")
        return {
            "unit": notice.issuing_unit,
            "issued_on": _issued_on(d, notice.number, notice.issued_at),
            "reason": notice.reason,
            "original_date": notice.original_appointment_date,
            "new_date": notice.new_appointment_date,
            "number": notice.number,
        }

    def _tracking(self, d: Dossier, today: date) -> dict[str, Any]:
        first = d.steps[0]
        rows = [
            {
                "label": [f"Tiếp nhận: {self.unit_name(d.receiving_unit)}"],
                "when": [vn_moment(d.received_at)],
                "result": self._result(first, today),
                "note": first.name,
            }
        ]
        for record in d.transfers:
            step = d.steps[record.step_index]
            accepted = record.receipt.accepted_at if record.receipt else None
            received = f"Nhận: {vn_moment(accepted)}" if accepted else _STATUS[record.status]
            rows.append(
                {
                    "label": [
                        f"Giao: {self.unit_name(record.from_unit)}",
                        f"Nhận: {self.unit_name(record.to_unit)}",
                    ],
                    "when": [f"Giao: {vn_moment(record.requested_at)}", received],
                    "result": self._result(step, today) if record.status == "accepted" else "",
                    "note": f"Biên nhận {record.receipt.receipt_id}" if record.receipt else "",
                }
            )
        return {
            "unit": d.receiving_unit,
            "rows": rows,
            "returned": self._returned(d),
            "appointment_date": d.appointment_date,
            "original_appointment_date": d.original_appointment_date,
        }

    def _returned(self, d: Dossier) -> dict[str, Any]:
        """The final row: the returning desk hands the result to the applicant. Its time
        once it happened (else left to fill in by hand, as on the printed slip), and the
        dossier's result judged when the result was ready (the applicant's collection day
        is not the agency's lateness)."""
        ready_at = d.ready_at
        result = ""
        if ready_at is not None:
            ready_on = self.calendar.local_date(ready_at)
            due = d.due_appointment_date
            if agency_late(d, ready_on):
                verdict = "Quá hạn"
            else:
                verdict = "Trước hạn" if ready_on < due else "Đúng hạn"
            result = f"{verdict} (hẹn {due:%d/%m/%Y})"
        done = d.state is DossierState.DONE and d.closed_at is not None
        return {
            "unit": self.unit_name(d.steps[-1].unit),
            "when": vn_moment(d.closed_at) if done else "",
            "result": result,
            "note": f"Kết quả có từ {vn_moment(ready_at)}" if ready_at is not None else "",
        }

    def _result(self, step: Step, today: date) -> str:
        """Trước hạn / Đúng hạn / Quá hạn against the step's due date; or still running."""
        if step.due_date is None or step.skipped:
            return ""
        if step.completed_at is None:
            return "Quá hạn, đang giải quyết" if today > step.due_date else "Đang giải quyết"
        done = self.calendar.local_date(step.completed_at)
        if done < step.due_date:
            return f"Trước hạn (hạn {step.due_date:%d/%m/%Y})"
        if done == step.due_date:
            return f"Đúng hạn (hạn {step.due_date:%d/%m/%Y})"
        return f"Quá hạn (hạn {step.due_date:%d/%m/%Y})"


def _issued_on(d: Dossier, number: int, issued_at: datetime | None) -> date | None:
    """The day apology ``number`` was issued: its own time, else (an apology stored before
    it carried one) the time routing recorded its fact; None if neither is known."""
    if issued_at is not None:
        return local_day(issued_at)
    for entry in d.history:
        params = entry.detail_params or {}
        if entry.event == ApologyIssued.EVENT_TYPE and params.get("number") == number:
            return local_day(entry.at)
    return None


T = TypeVar("T")


def _pick(items: list[T], nth: int | None, what: str) -> T:
    if not items:
        raise FormUnavailable(f"the dossier has no {what}")
    if nth is None:
        return items[-1]
    if not 1 <= nth <= len(items):
        raise FormUnavailable(f"the dossier has {len(items)} {what}(s), not number {nth}")
    return items[nth - 1]
