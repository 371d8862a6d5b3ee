"""Payment: the holding unit requests it, the unit or a gateway confirms it, the clock waits.

Worked dates: a judicial record received Monday 2 March 2026 10:00 (appointment 16
March) held by the justice department from Tuesday 3 March (step due 13 March).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from routing.domain.deadlines import detect_overdue
from routing.domain.model import Dossier
from routing.domain.state_machine import ActionRefused, RefusalCode

from shared.events.commands import ConfirmPayment, RequestPayment
from shared.events.dossier import DossierState
from shared.events.pauses import PaymentReceived, PaymentRequested
from tests.unit.legal.builders import (
    CONFIGURATIONS,
    UNITS,
    act,
    at,
    at_department,
    context,
    d,
)


def awaiting(configuration: str) -> Dossier:
    dossier = at_department(configuration)
    ask = RequestPayment(
        dossier_code=dossier.code,
        unit=UNITS[configuration].justice,
        amount_vnd=200_000,
        description="Lệ phí cấp Phiếu lý lịch tư pháp",
    )
    decision = act(dossier, ask, at(3, 4, 10), configuration)
    [requested] = decision.facts
    assert isinstance(requested, PaymentRequested) and requested.amount_vnd == 200_000
    assert requested.portal_status == 6
    assert requested.portal_status_label == "Yêu cầu thực hiện nghĩa vụ tài chính"
    return decision.dossier


def pay(dossier: Dossier, unit: str, amount: int = 200_000, **extra: object) -> ConfirmPayment:
    return ConfirmPayment(
        dossier_code=dossier.code, unit=unit, amount_vnd=amount, reference="GD-0001", **extra
    )


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_awaiting_payment_is_reachable_and_the_clock_waits(configuration: str) -> None:
    dossier = awaiting(configuration)
    assert dossier.state is DossierState.AWAITING_PAYMENT
    assert detect_overdue(dossier, context(at(4, 30), configuration)) is None


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_payment_three_working_days_later_moves_the_dates_by_three(configuration: str) -> None:
    dossier = awaiting(configuration)  # requested Wednesday 4 March
    justice = UNITS[configuration].justice
    decision = act(dossier, pay(dossier, justice, method="gateway"), at(3, 9, 10), configuration)
    [paid] = decision.facts
    assert isinstance(paid, PaymentReceived)
    assert paid.paused_working_days == 3  # Thu 5, Fri 6, Mon 9
    assert (paid.step_due_date, paid.appointment_date) == (d(3, 18), d(3, 19))
    assert decision.dossier.state is DossierState.PROCESSING
    assert paid.method == "gateway" and paid.reference == "GD-0001"


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_a_payment_after_the_cutoff_counts_from_the_next_working_day(configuration: str) -> None:
    dossier = awaiting(configuration)
    justice = UNITS[configuration].justice
    paid_at = at(3, 9, 16)
    decision = act(
        dossier, pay(dossier, justice, paid_at=paid_at), paid_at + timedelta(hours=1), configuration
    )
    [paid] = decision.facts
    assert isinstance(paid, PaymentReceived) and paid.paused_working_days == 4  # Tue 10 too


def test_a_different_amount_is_refused_and_changes_nothing() -> None:
    dossier = awaiting("three-level")
    with pytest.raises(ActionRefused) as refused:
        act(dossier, pay(dossier, "000.00.04.H59", 150_000), at(3, 9), "three-level")
    assert refused.value.code is RefusalCode.PAYMENT_MISMATCH
    assert dossier.state is DossierState.AWAITING_PAYMENT


def test_only_the_holding_unit_confirms() -> None:
    dossier = awaiting("three-level")
    with pytest.raises(ActionRefused) as refused:
        act(dossier, pay(dossier, "001.21.31.H59"), at(3, 9), "three-level")
    assert refused.value.code is RefusalCode.NOT_HOLDING_UNIT


@pytest.mark.parametrize(
    ("paid_at", "now"),
    [
        (at(3, 4, 9), at(3, 9, 10)),  # an hour before the request (Wednesday 4 March 10:00)
        (at(3, 10, 10), at(3, 9, 10)),  # tomorrow
        (at(3, 9, 10, 2), at(3, 9, 10)),  # two minutes ahead: more than clocks differ
    ],
)
def test_an_impossible_payment_time_is_refused_and_changes_nothing(
    paid_at: datetime, now: datetime
) -> None:
    """Before 2026-12 such a time was moved into request..now and recorded as the
    payment's: a date nobody gave, and due dates moved by it."""
    dossier = awaiting("three-level")
    with pytest.raises(ActionRefused) as refused:
        act(dossier, pay(dossier, "000.00.04.H59", paid_at=paid_at), now, "three-level")
    assert (refused.value.code, refused.value.field) == (RefusalCode.INVALID_PAID_AT, "paid_at")
    assert paid_at.isoformat() in refused.value.detail
    assert dossier.state is DossierState.AWAITING_PAYMENT and dossier.payment is not None


@pytest.mark.parametrize(
    ("paid_at", "received_at"),
    [
        (at(3, 4, 9, 59), at(3, 4, 10)),  # the minute a desk typed, asked at 10:00
        (at(3, 9, 10) + timedelta(seconds=40), at(3, 9, 10)),  # a gateway's clock ahead
    ],
)
def test_a_payment_time_off_by_less_than_a_minute_is_the_nearest_possible(
    paid_at: datetime, received_at: datetime
) -> None:
    dossier = awaiting("three-level")
    decision = act(
        dossier, pay(dossier, "000.00.04.H59", paid_at=paid_at), at(3, 9, 10), "three-level"
    )
    [paid] = decision.facts
    assert isinstance(paid, PaymentReceived) and paid.received_at == received_at
