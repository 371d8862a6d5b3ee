"""HTTP routes for desk staff: the unit actions on a dossier (thin: validate, execute, map).

Each action builds the same command contract that agency systems send on the commands
topic and runs it through the same handler (``execute_command``) in one transaction
(``http_actions``; who may read or act: ``api_access``).
A refusal changes nothing and answers with ``application/problem+json`` carrying the
machine code (``not_holding_unit``, ``transition_not_allowed``, ...). An optional
``Idempotency-Key`` header makes a retried request act once.
"""

from __future__ import annotations

from fastapi import APIRouter

from routing.domain.state_machine import RefusalCode
from routing.http_actions import (
    ActingUnit,
    Action,
    Completion,
    Refusal,
    ResultNote,
    Supplement,
    SupplementRequest,
    add_actions,
)
from shared.events.commands import (
    AcceptTransfer,
    CompleteStep,
    HandOverResult,
    ProvideSupplement,
    RefuseTransfer,
    RequestSupplement,
    ReturnResult,
    StopProcessing,
)

router = APIRouter(prefix="/v1", tags=["actions"])
STATUS: dict[str, int] = {  # routing's one table: refusal code -> HTTP status (else 422)
    RefusalCode.UNKNOWN_DOSSIER: 404,
    RefusalCode.NOT_HOLDING_UNIT: 403,
    RefusalCode.NOT_TRANSFER_RECEIVER: 403,
    RefusalCode.TRANSITION_NOT_ALLOWED: 409,
    RefusalCode.FINAL_STEP: 409,
    RefusalCode.NOT_FINAL_STEP: 409,
    RefusalCode.NOT_RESPONSIBLE_UNIT: 403,
    RefusalCode.MISSING_DOCUMENTS_REQUIRED: 422,
    RefusalCode.REASON_REQUIRED: 422,
    RefusalCode.INVALID_NEW_DATE: 422,
    RefusalCode.INVALID_PAID_AT: 422,
    RefusalCode.APOLOGY_TOO_LATE: 409,
    RefusalCode.PAYMENT_MISMATCH: 409,
    "idempotency_key_reused": 409,  # an Idempotency-Key seen with another request
}


def refusal_statuses(path: str, method: str) -> set[int]:
    """What an action can be refused with beyond the shared answers (OpenAPI declares it)."""
    if method == "post" and path.startswith("/v1/dossiers/{code}/"):
        return set(STATUS.values())
    if method == "post" and path == "/v1/payments/callback":
        # unknown_dossier; transition_not_allowed, payment_mismatch, idempotency_key_reused
        return {404, 409}
    return set()


# fmt: off
add_actions(
    router,
    Action("transfer/accept", "accept_transfer", AcceptTransfer, ActingUnit, "Accept a hand-over"),
    Action("transfer/refuse", "refuse_transfer", RefuseTransfer, Refusal, "Refuse a hand-over"),
    Action("step/complete", "complete_step", CompleteStep, Completion,
           "Complete the current step",
           "approve: on to the next step; reject: straight to the returning desk, the "
           "outcome rejected, with the reason in `note` (required: 422 `reason_required`, "
           "field `note`); needs_supplement: the clock pauses for `missing_documents` "
           "(required: 422 `missing_documents_required`)."),
    Action("supplement/request", "request_supplement", RequestSupplement, SupplementRequest,
           "Ask for a supplement"),
    Action("supplement/provide", "provide_supplement", ProvideSupplement, Supplement,
           "Record the supplement"),
    Action("result/return", "return_result", ReturnResult, ResultNote, "The result is ready"),
    Action("result/hand-over", "hand_over", HandOverResult, ActingUnit, "Hand the result over"),
    Action("stop", "stop", StopProcessing, Refusal, "Stop processing"),
)
# fmt: on
