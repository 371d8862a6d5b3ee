"""HTTP routes for the procedure rules: the apology (Mẫu 04) and payments.

Thin like ``api.py``: each action is a row for ``http_actions.add_actions``, which builds
the command contract that agency systems send on the commands topic and runs it through
``act`` (one transaction, refusals as problems). The payment gateway's callback is a
contract of its own (``PaymentGatewayCallback``): it confirms the payment for the unit
holding the dossier, as that unit would.
"""

from __future__ import annotations

from hashlib import sha256
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from pydantic import Field, field_validator

from routing.api_access import routing_of
from routing.http_actions import ActingUnit, Action, ActionResult, act, add_actions
from shared.auth import Principal, Role, allow
from shared.envelope import EVENT_ID_MAX
from shared.events.commands import ConfirmPayment, IssueApology, RequestPayment
from shared.http import NotFound
from shared.idempotency import request_fingerprint
from shared.refusals import Refused
from shared.text import CleanText, without_controls
from shared.time_bounds import AwareBoundedDatetime, BoundedDate

router = APIRouter(prefix="/v1", tags=["actions"])
CALLBACK = "POST /v1/payments/callback"
# A payment gateway's adapter: its own client (client credentials, role payment-gateway),
# which may report payments and nothing else.
Gateway = Annotated[Principal, allow(Role.PAYMENT_GATEWAY)]


class Apology(ActingUnit):
    """Mẫu 04: why the unit will be late and the new appointment date it proposes."""

    reason: str = Field(min_length=1, max_length=2000)
    new_appointment_date: BoundedDate


class PaymentRequest(ActingUnit):
    """What the applicant must pay and for what."""

    amount_vnd: int = Field(gt=0, le=10**13)
    description: str = Field(min_length=1, max_length=500)


class PaymentConfirmation(ActingUnit):
    """The payment the unit received (a receipt number or a transfer reference)."""

    amount_vnd: int = Field(gt=0, le=10**13)
    reference: str = Field(min_length=1, max_length=200)
    method: Literal["desk", "gateway", "bank_transfer"] = "desk"
    paid_at: AwareBoundedDatetime | None = None


class PaymentGatewayCallback(CleanText):
    """What a payment gateway posts when the applicant paid (contract for gateway adapters).

    Its text is held to the rules of the command it becomes (``ConfirmPayment``: no
    control or bidirectional control character), so a report that breaks them is
    refused with 422 ``invalid_request`` naming its field, not a failure of the service."""

    dossier_code: str = Field(min_length=1, max_length=64)
    transaction_id: str = Field(min_length=1, max_length=200)
    amount_vnd: int = Field(gt=0, le=10**13)
    paid_at: AwareBoundedDatetime
    status: Literal["paid"] = "paid"
    provider: str = Field("gateway", min_length=1, max_length=100)

    @field_validator("dossier_code", "transaction_id", "provider")
    @classmethod
    def _typed_text_only(cls, value: str) -> str:
        return str(without_controls(value))


add_actions(
    router,
    Action(
        "apology",
        "issue_apology",
        IssueApology,
        Apology,
        "Apologise and set a new appointment date (Mẫu 04)",
        "By the unit whose step runs, at the latest one working day before the appointment; "
        "one issued later (the appointment day or after it) is taken and marked `late`, as "
        "the duty to give a new date remains. The new date is a working day after the "
        "appointment and not before today. A second apology is allowed. Refusals: "
        "`not_responsible_unit` (403), `invalid_new_date` (422, field "
        "`new_appointment_date`).",
    ),
    Action(
        "payment/request",
        "request_payment",
        RequestPayment,
        PaymentRequest,
        "Ask the applicant to pay (the clock stops)",
        "By the holding unit while PROCESSING: AWAITING_PAYMENT (portal status 6); the "
        "applicant is notified with the amount.",
    ),
    Action(
        "payment/confirm",
        "confirm_payment",
        ConfirmPayment,
        PaymentConfirmation,
        "Confirm the payment (the clock resumes)",
        "By the holding unit; the amount must be the one requested (`payment_mismatch`, "
        "409), and `paid_at` (default: now) between the payment request and now, give or "
        "take a minute (`invalid_paid_at`, 422, field `paid_at`). Due dates move back by "
        "the working days the applicant took.",
    ),
)


@router.post(
    "/payments/callback",
    summary="A payment gateway reports a payment",
    description="Confirms the payment for the unit holding the dossier. The provider and "
    "transaction id are the idempotency key: a repeated callback acts once (`replayed`); "
    "the same transaction reported with another amount, time or dossier answers 409 "
    "`idempotency_key_reused` naming the field `transaction_id`. "
    "An unknown dossier answers 404 `unknown_dossier`; a dossier not waiting for a "
    "payment 409 `transition_not_allowed`; another amount 409 `payment_mismatch`; a "
    "`paid_at` before the payment request or in the future (beyond a minute) 422 "
    "`invalid_paid_at`. Needs "
    "a token with the role `payment-gateway` (the gateway adapter's client).",
)
async def payment_callback(
    request: Request, body: PaymentGatewayCallback, caller: Gateway
) -> ActionResult:
    dossier = await routing_of(request).store.get(body.dossier_code)
    if dossier is None:
        raise NotFound(f"no dossier {body.dossier_code}", code="unknown_dossier")
    confirm = ConfirmPayment(
        dossier_code=body.dossier_code,
        unit=dossier.holding_unit,
        actor=f"payment-gateway:{body.provider}",
        amount_vnd=body.amount_vnd,
        reference=body.transaction_id,
        method="gateway",
        paid_at=body.paid_at,
    )
    key = callback_key(body.provider, body.transaction_id)
    # A repeat is the gateway's same report, whichever unit holds the dossier by then.
    fingerprint = request_fingerprint(CALLBACK, body.model_dump(mode="json"))
    return await act(request, confirm, key, fingerprint, reported_otherwise)


def reported_otherwise() -> Refused:
    """The refusal of a transaction reported before with another report (another amount,
    time or dossier). It names the body's ``transaction_id``, the key the gateway gave:
    the gateway sends no ``Idempotency-Key`` header, so naming one would point at nothing."""
    return Refused(
        "idempotency_key_reused",
        "this provider's transaction was reported before with another report "
        "(amount_vnd, paid_at or dossier_code): a repeat must carry the same one",
        field="transaction_id",
    )


def callback_key(provider: str, transaction_id: str) -> str:
    """The callback's idempotency key: readable while it fits an event id (128
    characters), else a digest of the same two values, so that any transaction id a
    gateway may send (200 characters) makes a repeated callback act once."""
    key = f"payment-callback:{provider}:{transaction_id}"
    if len(key) <= EVENT_ID_MAX:
        return key
    return "payment-callback:sha256:" + sha256(f"{provider}:{transaction_id}".encode()).hexdigest()
