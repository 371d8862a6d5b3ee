"""Which state lets the applicant withdraw or supplement at intake, or a desk decide."""

from __future__ import annotations

from intake.model import IntakeDossier
from shared.events.dossier import DossierState
from shared.refusals import Refused

WITHDRAWABLE_STATES = frozenset(
    {
        DossierState.SUBMITTED,
        DossierState.RECEIVED,
        DossierState.IN_TRANSFER,
        DossierState.PROCESSING,
        DossierState.SUPPLEMENT_REQUESTED,
        DossierState.AWAITING_PAYMENT,
    }
)


def check_withdrawal(state: DossierState) -> None:
    """The applicant may withdraw until a result exists or the dossier is closed."""
    if state not in WITHDRAWABLE_STATES:
        raise Refused(
            "withdrawal_not_allowed", f"a {state.value} dossier cannot be withdrawn",
            field="state", state=state.value,
        )  # fmt: skip


def check_awaiting_supplement(dossier: IntakeDossier) -> None:
    """Only a dossier a desk asked to supplement before receiving it can be supplemented
    here (a received one is supplemented with the unit holding it, through routing)."""
    state = dossier.current_state
    if state is not DossierState.SUPPLEMENT_REQUESTED or dossier.received_at is not None:
        raise Refused(
            "invalid_state", f"a {state.value} dossier is not waiting for a supplement at intake",
            field="state", state=state.value,
        )  # fmt: skip


def check_awaiting_desk(state: DossierState) -> None:
    """Only an online submission not yet checked can be received or denied by a desk."""
    if state is not DossierState.SUBMITTED:
        raise Refused(
            "invalid_state", f"a {state.value} dossier is not waiting for a desk",
            field="state", state=state.value,
        )  # fmt: skip
