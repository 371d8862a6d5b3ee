"""Every refusal intake answers with: its one status table, and how OpenAPI documents
them per route. The domain raises ``Refused`` without a status; this table gives it one."""

from __future__ import annotations

from typing import Any

from intake.schemas.responses import Problem
from shared.http import PROBLEM_JSON

# Every refusal code intake answers with: status, the field it names, an example detail.
ERRORS: dict[str, tuple[int, str | None, str]] = {
    "malformed_json": (400, "body", "JSON decode error"),
    "not_found": (404, None, "no dossier matches this code and token"),
    "idempotency_key_reused": (409, "Idempotency-Key", "key used with another body"),
    "withdrawal_not_allowed": (409, "state", "a DONE dossier cannot be withdrawn"),
    "invalid_state": (409, "state", "a RECEIVED dossier is not waiting for a desk"),
    "body_too_large": (413, None, "body larger than 1000000 bytes"),
    "invalid_request": (422, "applicant.identity_number", "Value error, not a valid citizen_id"),
    "invalid_idempotency_key": (422, "Idempotency-Key", "8 to 128 characters"),
    "unknown_procedure": (422, "procedure_code", "no procedure 9.999999"),
    "procedure_not_in_force": (422, "procedure_code", "not in force on 2024-07-15"),
    "unknown_unit": (422, "receiving_unit", "no unit 999.99.99.H59"),
    "unit_not_in_force": (422, "receiving_unit", "unit 001.23.31.H59 is not in force"),
    "unit_cannot_receive": (422, "receiving_unit", "level district not in ['commune']"),
    "outside_boundary": (422, "area_unit", "000.22.31.H59 is outside 000.21.31.H59"),
    "missing_document": (422, "documents", "required document(s) missing: birth_certificate"),
    "daily_sequence_exhausted": (503, "receiving_unit", "all 9999 codes of the day are used"),
    "form_unavailable": (404, "number", "the dossier was not refused at intake: no Mẫu 03"),
    "personal_data_erased": (
        410,
        None,
        "the personal data of dossier 001.21.31.H59-211126-0001 were erased",
    ),
    "invalid_period": (422, "end", "end must be on or after start, within 93 days"),
    "nothing_to_correct": (
        422,
        None,
        "the request names no contact field, or only values already stored",
    ),
}
STATUS: dict[str, int] = {code: status for code, (status, _, _) in ERRORS.items()}
"""Intake's refusal code -> HTTP status (for ``service_app(refusal_statuses=...)``)."""
_STATUS_TEXT = {
    400: "The body is not JSON.",
    404: "Nothing matches (for dossiers: an unknown code and a wrong token look the same).",
    409: "Conflicts with the dossier's state or an earlier request.",
    410: "The dossier exists, but the personal data this needs were erased when its "
    "retention period ended (`erased_at` says when).",
    413: "The body is larger than the configured limit.",
    422: "A field is missing, malformed or refused by the catalogue (see `code`, `field`).",
    503: "The desk's daily code sequence is exhausted.",
}
SUBMISSION_ERRORS = (
    "malformed_json", "idempotency_key_reused", "body_too_large", "invalid_request",
    "invalid_idempotency_key", "unknown_procedure", "procedure_not_in_force", "unknown_unit",
    "unit_not_in_force", "unit_cannot_receive", "outside_boundary", "missing_document",
    "daily_sequence_exhausted",
)  # fmt: skip
RECEPTION_ERRORS = (
    "not_found", "invalid_state", "invalid_request", "procedure_not_in_force",
    "unit_not_in_force", "unit_cannot_receive", "outside_boundary", "missing_document",
)  # fmt: skip
SUPPLEMENT_REQUEST_ERRORS = (
    "malformed_json", "idempotency_key_reused", "body_too_large", "invalid_request",
    "invalid_idempotency_key", "unknown_procedure", "procedure_not_in_force", "unknown_unit",
    "unit_not_in_force", "unit_cannot_receive", "outside_boundary", "daily_sequence_exhausted",
)  # fmt: skip
DESK_ACTION_ERRORS = (
    "malformed_json",
    "not_found",
    "invalid_state",
    "invalid_request",
    "body_too_large",
)
SUPPLEMENT_ERRORS = (
    "malformed_json",
    "not_found",
    "invalid_state",
    "invalid_request",
    "body_too_large",
)
CONTACT_CORRECTION_ERRORS = (
    "malformed_json", "not_found", "idempotency_key_reused", "personal_data_erased",
    "body_too_large", "invalid_request", "invalid_idempotency_key", "nothing_to_correct",
)  # fmt: skip
WITHDRAWAL_ERRORS = ("malformed_json", "not_found", "withdrawal_not_allowed", "invalid_request")


def _example(code: str) -> dict[str, Any]:
    status, field, detail = ERRORS[code]
    body: dict[str, Any] = {
        "type": f"urn:lienthong:problem:{code}",
        "title": code.replace("_", " "),
    }
    body |= {"status": status, "code": code, "detail": detail}
    return body | ({"field": field} if field else {})


def problems(*codes: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem+json answers a route may give, one example per code."""
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(ERRORS[code][0], []).append(code)
    schema = Problem.model_json_schema()
    return {
        status: {
            "description": _STATUS_TEXT[status] + " Codes: " + ", ".join(found) + ".",
            "content": {
                PROBLEM_JSON: {
                    "schema": schema,
                    "examples": {code: {"value": _example(code)} for code in found},
                }
            },
        }
        for status, found in sorted(by_status.items())
    }
