"""The dossier state machine as an explicit table, and who may take each action.

``TRANSITIONS`` maps (state, action) to the state after it; any pair not in the table
is refused with ``transition_not_allowed``. ``WHO_MAY_ACT`` names the roles allowed to
take each action; a unit without one of them is refused (``not_holding_unit`` or
``not_transfer_receiver``). Guards that depend on the route (the final step) are
checked by the workflow with their own codes. A refusal changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from shared.events.dossier import DossierState
from shared.refusals import Refused

S = DossierState


class Action(StrEnum):
    """What can happen to a dossier in routing."""

    START = "start"  # dossier.received.v1: the route is planned, step 0 at the desk
    SEND_TRANSFER = "send_transfer"  # routing hands the dossier to the next step's unit
    ACCEPT_TRANSFER = "accept_transfer"
    REFUSE_TRANSFER = "refuse_transfer"
    COMPLETE_STEP = "complete_step"
    REQUEST_SUPPLEMENT = "request_supplement"
    PROVIDE_SUPPLEMENT = "provide_supplement"
    RETURN_RESULT = "return_result"
    HAND_OVER = "hand_over"
    STOP = "stop"
    WITHDRAW = "withdraw"  # dossier.withdrawn.v1 (before 2026-12: immediate withdrawal)
    REQUEST_WITHDRAWAL = "request_withdrawal"  # dossier.withdrawal.requested.v1 from intake
    REQUEST_PAYMENT = "request_payment"
    CONFIRM_PAYMENT = "confirm_payment"
    APOLOGISE = "apologise"  # Mẫu 04: the late unit proposes a new appointment date


class Role(StrEnum):
    """Who is acting, relative to the dossier."""

    SYSTEM = "system"  # routing itself
    APPLICANT = "applicant"  # through intake
    HOLDING_UNIT = "holding_unit"
    TRANSFER_RECEIVER = "transfer_receiver"  # the to_unit of the pending hand-over
    RECEIVING_DESK = "receiving_desk"  # where the applicant brings supplements
    RESPONSIBLE_UNIT = "responsible_unit"  # whose step runs: the receiver of a hand-over, or holder


class RefusalCode(StrEnum):
    """Machine-readable reasons for a refusal (HTTP problem ``code`` and refusal events)."""

    UNKNOWN_DOSSIER = "unknown_dossier"
    TRANSITION_NOT_ALLOWED = "transition_not_allowed"
    NOT_HOLDING_UNIT = "not_holding_unit"
    NOT_TRANSFER_RECEIVER = "not_transfer_receiver"
    NOT_RESPONSIBLE_UNIT = "not_responsible_unit"  # only the unit whose step runs apologises
    FINAL_STEP = "final_step"  # complete on the returning desk's step: return the result
    NOT_FINAL_STEP = "not_final_step"  # return the result before the route is through
    INVALID_COMMAND = "invalid_command"  # unknown command type or fields breaking the contract
    MISSING_DOCUMENTS_REQUIRED = "missing_documents_required"  # a supplement names none
    REASON_REQUIRED = "reason_required"  # a refusal (outcome reject) without its reason
    # No longer raised (2026-12): a late Mẫu 04 is taken and marked late; kept so that
    # refusals published before still read.
    APOLOGY_TOO_LATE = "apology_too_late"
    INVALID_NEW_DATE = "invalid_new_date"  # not after the appointment, or not a working day
    PAYMENT_MISMATCH = "payment_mismatch"  # confirmed amount differs from the one requested
    INVALID_PAID_AT = "invalid_paid_at"  # paid before the request was made, or in the future
    NOT_SENDERS_UNIT = "not_senders_unit"  # a command claims a unit its sender is not bound to


class ActionRefused(Refused):
    """An action that the state machine or the acting unit's role does not allow (the
    refusal type of the whole platform, with routing's codes; no HTTP status here)."""

    def __init__(self, code: RefusalCode, reason: str, *, field: str | None = None) -> None:
        super().__init__(code, reason, field=field)  # a StrEnum: the code is its value
        self.reason = reason


# The applicant withdraws while the dossier is being processed. Once the result is ready
# (portal status 9, "Đã xử lý xong") there is no processing left to stop: the decision is
# made, and the applicant may leave it uncollected. Intake refuses the same states
# (intake.domain.state_checks.WITHDRAWABLE_STATES), so routing takes no request it would not send.
_WITHDRAWABLE = (
    S.RECEIVED,
    S.IN_TRANSFER,
    S.PROCESSING,
    S.SUPPLEMENT_REQUESTED,
    S.AWAITING_PAYMENT,
)

TRANSITIONS: Mapping[tuple[DossierState, Action], DossierState] = {
    (S.PROCESSING, Action.REQUEST_PAYMENT): S.AWAITING_PAYMENT,
    (S.AWAITING_PAYMENT, Action.CONFIRM_PAYMENT): S.PROCESSING,
    (S.PROCESSING, Action.APOLOGISE): S.PROCESSING,
    (S.IN_TRANSFER, Action.APOLOGISE): S.IN_TRANSFER,
    (S.WITHDRAWAL_REQUESTED, Action.STOP): S.STOPPED,
    (S.RECEIVED, Action.START): S.PROCESSING,
    (S.PROCESSING, Action.COMPLETE_STEP): S.PROCESSING,
    (S.PROCESSING, Action.SEND_TRANSFER): S.IN_TRANSFER,
    (S.IN_TRANSFER, Action.ACCEPT_TRANSFER): S.PROCESSING,
    (S.IN_TRANSFER, Action.REFUSE_TRANSFER): S.PROCESSING,
    (S.PROCESSING, Action.REQUEST_SUPPLEMENT): S.SUPPLEMENT_REQUESTED,
    (S.SUPPLEMENT_REQUESTED, Action.PROVIDE_SUPPLEMENT): S.PROCESSING,
    (S.PROCESSING, Action.RETURN_RESULT): S.RESULT_READY,
    (S.RESULT_READY, Action.HAND_OVER): S.DONE,
    (S.PROCESSING, Action.STOP): S.STOPPED,
    (S.SUPPLEMENT_REQUESTED, Action.STOP): S.STOPPED,
    (S.AWAITING_PAYMENT, Action.STOP): S.STOPPED,
    **{(state, Action.WITHDRAW): S.WITHDRAWN for state in _WITHDRAWABLE},
    **{(state, Action.REQUEST_WITHDRAWAL): S.WITHDRAWAL_REQUESTED for state in _WITHDRAWABLE},
}

WHO_MAY_ACT: Mapping[Action, frozenset[Role]] = {
    Action.START: frozenset({Role.SYSTEM}),
    Action.SEND_TRANSFER: frozenset({Role.SYSTEM}),
    Action.ACCEPT_TRANSFER: frozenset({Role.TRANSFER_RECEIVER}),
    Action.REFUSE_TRANSFER: frozenset({Role.TRANSFER_RECEIVER}),
    Action.COMPLETE_STEP: frozenset({Role.HOLDING_UNIT}),
    Action.REQUEST_SUPPLEMENT: frozenset({Role.HOLDING_UNIT}),
    Action.PROVIDE_SUPPLEMENT: frozenset({Role.HOLDING_UNIT, Role.RECEIVING_DESK}),
    Action.RETURN_RESULT: frozenset({Role.HOLDING_UNIT}),
    Action.HAND_OVER: frozenset({Role.HOLDING_UNIT}),
    Action.STOP: frozenset({Role.HOLDING_UNIT}),
    Action.WITHDRAW: frozenset({Role.APPLICANT}),
    Action.REQUEST_WITHDRAWAL: frozenset({Role.APPLICANT}),
    Action.REQUEST_PAYMENT: frozenset({Role.HOLDING_UNIT}),
    Action.CONFIRM_PAYMENT: frozenset({Role.HOLDING_UNIT}),
    Action.APOLOGISE: frozenset({Role.RESPONSIBLE_UNIT}),
}


def next_state(state: DossierState, action: Action) -> DossierState:
    """The state after ``action``, or ``ActionRefused(transition_not_allowed)``."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise ActionRefused(
            RefusalCode.TRANSITION_NOT_ALLOWED,
            f"action {action.value!r} is not allowed in state {state.value}",
        ) from None


def check_actor(action: Action, roles: frozenset[Role], unit: str | None = None) -> None:
    """Refuse unless one of ``roles`` may take ``action``."""
    allowed = WHO_MAY_ACT[action]
    if roles & allowed:
        return
    who = f"unit {unit}" if unit else "the sender"
    if Role.RESPONSIBLE_UNIT in allowed:
        raise ActionRefused(
            RefusalCode.NOT_RESPONSIBLE_UNIT, f"{who} is not the unit the current step waits for"
        )
    if Role.TRANSFER_RECEIVER in allowed:
        raise ActionRefused(
            RefusalCode.NOT_TRANSFER_RECEIVER,
            f"{who} is not the receiver of the pending hand-over",
        )
    if Role.HOLDING_UNIT in allowed:
        raise ActionRefused(RefusalCode.NOT_HOLDING_UNIT, f"{who} does not hold the dossier")
    raise ActionRefused(
        RefusalCode.TRANSITION_NOT_ALLOWED, f"{who} may not take {action.value!r}: routing does"
    )
