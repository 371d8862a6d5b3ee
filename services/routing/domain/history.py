"""A dossier's history as routing records it: each entry, and what its detail says as a
stable code with params and an English sentence."""

from __future__ import annotations

from datetime import datetime
from string import Formatter
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.dossier import DossierState

DetailCode = Literal[
    "transfer_requested",
    "transfer_accepted",
    "transfer_refused",
    "stopped",
    "step_completed",
    "supplement_requested",
    "supplement_requested_again",
    "supplement_provided",
    "step_due_soon",
    "step_overdue",
    "appointment_passed",
    "appointment_passed_new_date_missed",
    "apology_issued",
    "payment_requested",
    "payment_received",
    "withdrawal_declined",
    "apology_issued_late",
    "result_ready",
    "result_returned",
]
"""What a history entry's detail says, as a stable code; its values are its params."""

DetailParams = dict[str, str | int]

DETAIL_TEXTS: dict[DetailCode, str] = {
    "transfer_requested": "step {step_index}: {from_unit} -> {to_unit}, due {step_due_date}",
    "transfer_accepted": "step {step_index}: receipt {receipt_id}",
    "transfer_refused": "{reason}",
    "stopped": "{reason}",
    "step_completed": "step {step_index}: {outcome}",
    "supplement_requested": "{reason}",
    "supplement_requested_again": "{reason} (request no. {request_number})",
    "supplement_provided": "clock paused {paused_working_days} working day(s)",
    "step_due_soon": "step {step_index} due {due_date}, {working_days_left} working day(s) left",
    "step_overdue": "step {step_index} was due {due_date}",
    "appointment_passed": "appointment {appointment_date} passed",
    "appointment_passed_new_date_missed": (
        "appointment {appointment_date} passed, the apology's new date missed too"
    ),
    "apology_issued": "Mẫu 04 no. {number}: new appointment {new_appointment_date}",
    "payment_requested": "{amount_vnd} VND: {description}",
    "payment_received": "{amount_vnd} VND, reference {reference}",
    "withdrawal_declined": "withdrawal requested {requested_date} not taken: {reason_code}",
    "apology_issued_late": (
        "Mẫu 04 no. {number}: new appointment {new_appointment_date}, issued late (due by "
        "{due_date})"
    ),
    "result_ready": "result ready: {lateness}",
    "result_returned": "result returned: {lateness} (ready {ready_date}), collected {collection}",
}
"""Each code's English sentence (the entry's ``detail``), filled with its params."""


def detail_params_of(code: DetailCode) -> list[str]:
    """The names of the params a detail code carries, in the order its sentence says them."""
    return [name for _, name, _, _ in Formatter().parse(DETAIL_TEXTS[code]) if name]


def detail_text(code: DetailCode, params: DetailParams) -> str:
    """The English sentence of a detail (kept in ``detail`` for readers of the text)."""
    return DETAIL_TEXTS[code].format_map(params)


_DETAIL_CODES = "; ".join(
    f"`{code}` ({', '.join(detail_params_of(code))})" for code in DETAIL_TEXTS
)


class HistoryEntry(BaseModel):
    """One thing that happened to the dossier, as routing recorded it."""

    model_config = ConfigDict(extra="forbid")

    at: datetime
    event: str
    state: DossierState
    holding_unit: str
    unit: str | None = None
    actor: str | None = None
    command_id: str | None = None
    detail: str | None = Field(
        None,
        description="What happened, as an English sentence (for people; translate "
        "`detail_code` with `detail_params` instead).",
    )
    detail_code: DetailCode | None = Field(
        None,
        description="What `detail` says, as a stable code, with the names of its "
        f"`detail_params`: {_DETAIL_CODES}. Null for an entry without a detail, and "
        "for entries recorded before codes existed (then only `detail` says it).",
    )
    detail_params: DetailParams | None = Field(
        None,
        description="The values of `detail_code`'s sentence: dates as ISO 8601 dates, "
        "step indexes, counts and amounts (VND) as integers, units, ids, references "
        "and free text (reasons, descriptions, as written by the unit) as strings; "
        "`outcome` is `approve`, `reject` or `needs_supplement`.",
    )
