"""Workflow decisions: every unit action in every situation, roles, the land-use journey."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from routing.domain.closing import decide_withdraw
from routing.domain.model import Dossier
from routing.domain.state_machine import Action, ActionRefused, RefusalCode
from routing.domain.trail import build_trail, recorded

from shared.events.closing import DossierDone, ResultReady
from shared.events.commands import (
    AcceptTransfer,
    CompleteStep,
    HandOverResult,
    ProvideSupplement,
    RefuseTransfer,
    RequestSupplement,
    ReturnResult,
    StopProcessing,
    UnitCommand,
)
from shared.events.dossier import DossierState, StepOutcome
from shared.events.handover import (
    DossierRoutePlanned,
    StepCompleted,
    TransferAccepted,
    TransferRefused,
    TransferRequested,
)
from shared.events.pauses import SupplementRequested
from shared.events.withdrawal import DossierWithdrawn
from tests.unit.routing.builders import (
    DISTRICT_COMMITTEE,
    MONDAY_9AM,
    PROVINCE_NATURAL_RESOURCES,
    TAN_HOA_DESK,
    VAM_LANG_DESK,
    accept,
    act,
    calendar,
    complete,
    context,
    day,
    document,
    dossier_in,
    later,
    start,
)

OK = "ok"
Build = Callable[[Dossier, str], UnitCommand]
COMMANDS: dict[Action, Build] = {
    Action.ACCEPT_TRANSFER: lambda d, u: AcceptTransfer(dossier_code=d.code, unit=u),
    Action.REFUSE_TRANSFER: lambda d, u: RefuseTransfer(dossier_code=d.code, unit=u, reason="r"),
    Action.COMPLETE_STEP: lambda d, u: CompleteStep(
        dossier_code=d.code, unit=u, outcome=StepOutcome.APPROVE
    ),
    Action.REQUEST_SUPPLEMENT: lambda d, u: RequestSupplement(
        dossier_code=d.code, unit=u, missing_documents=["x"], reason="r"
    ),
    Action.PROVIDE_SUPPLEMENT: lambda d, u: ProvideSupplement(
        dossier_code=d.code, unit=u, documents=[document("Bản bổ sung")]
    ),
    Action.RETURN_RESULT: lambda d, u: ReturnResult(dossier_code=d.code, unit=u),
    Action.HAND_OVER: lambda d, u: HandOverResult(dossier_code=d.code, unit=u),
    Action.STOP: lambda d, u: StopProcessing(dossier_code=d.code, unit=u, reason="r"),
}


def situation(name: str) -> Dossier:
    if name == "withdrawn":
        d = dossier_in("processing_district")
        event = DossierWithdrawn(
            dossier_code=d.code,
            state=DossierState.WITHDRAWN,
            holding_unit=d.holding_unit,
            withdrawn_at=later(0.5),
        )
        return decide_withdraw(d, event, context(later(0.5))).dossier
    if name == "awaiting_payment":  # not produced by routing yet; the table still covers it
        return dossier_in("processing_district").model_copy(
            update={"state": DossierState.AWAITING_PAYMENT}
        )
    return dossier_in(name)


SITUATIONS = [
    "processing",
    "in_transfer",
    "processing_district",
    "supplement_requested",
    "processing_final",
    "result_ready",
    "done",
    "stopped",
    "withdrawn",
    "awaiting_payment",
]
EXPECTED: dict[tuple[str, Action], str] = {
    ("processing", Action.COMPLETE_STEP): OK,
    ("processing", Action.REQUEST_SUPPLEMENT): OK,
    ("processing", Action.STOP): OK,
    ("processing", Action.RETURN_RESULT): RefusalCode.NOT_FINAL_STEP,
    ("in_transfer", Action.ACCEPT_TRANSFER): OK,
    ("in_transfer", Action.REFUSE_TRANSFER): OK,
    ("processing_district", Action.COMPLETE_STEP): OK,
    ("processing_district", Action.REQUEST_SUPPLEMENT): OK,
    ("processing_district", Action.STOP): OK,
    ("processing_district", Action.RETURN_RESULT): RefusalCode.NOT_FINAL_STEP,
    ("supplement_requested", Action.PROVIDE_SUPPLEMENT): OK,
    ("supplement_requested", Action.STOP): OK,
    ("processing_final", Action.RETURN_RESULT): OK,
    ("processing_final", Action.REQUEST_SUPPLEMENT): OK,
    ("processing_final", Action.STOP): OK,
    ("processing_final", Action.COMPLETE_STEP): RefusalCode.FINAL_STEP,
    ("result_ready", Action.HAND_OVER): OK,
    ("awaiting_payment", Action.STOP): OK,
}
CASES = list(itertools.product(SITUATIONS, COMMANDS))


def right_unit(d: Dossier, action: Action) -> str:
    """The unit whose role fits the action, so only the state machine can refuse."""
    receiving = action in (Action.ACCEPT_TRANSFER, Action.REFUSE_TRANSFER)
    return d.transfer.to_unit if receiving and d.transfer else d.holding_unit


@pytest.mark.parametrize(("name", "action"), CASES, ids=[f"{n}-{a}" for n, a in CASES])
def test_every_unit_action_in_every_situation(name: str, action: Action) -> None:
    d = situation(name)
    before = d.model_dump()
    cmd = COMMANDS[action](d, right_unit(d, action))
    expected = EXPECTED.get((name, action), RefusalCode.TRANSITION_NOT_ALLOWED)
    if expected == OK:
        decision = act(d, cmd, later(2))
        assert decision.facts, "an allowed action says what happened"
        assert decision.facts[-1].state is decision.dossier.state
    else:
        with pytest.raises(ActionRefused) as refused:
            act(d, cmd, later(2))
        assert refused.value.code == expected
    assert d.model_dump() == before, "a decision never mutates the dossier it was given"


WRONG_UNIT = [
    ("processing", Action.COMPLETE_STEP, DISTRICT_COMMITTEE, RefusalCode.NOT_HOLDING_UNIT),
    ("processing", Action.STOP, VAM_LANG_DESK, RefusalCode.NOT_HOLDING_UNIT),
    ("in_transfer", Action.ACCEPT_TRANSFER, TAN_HOA_DESK, RefusalCode.NOT_TRANSFER_RECEIVER),
    ("in_transfer", Action.REFUSE_TRANSFER, PROVINCE_NATURAL_RESOURCES, "not_transfer_receiver"),
    ("processing_district", Action.COMPLETE_STEP, TAN_HOA_DESK, RefusalCode.NOT_HOLDING_UNIT),
    ("supplement_requested", Action.PROVIDE_SUPPLEMENT, VAM_LANG_DESK, "not_holding_unit"),
    ("result_ready", Action.HAND_OVER, DISTRICT_COMMITTEE, RefusalCode.NOT_HOLDING_UNIT),
]


@pytest.mark.parametrize(("name", "action", "unit", "code"), WRONG_UNIT)
def test_only_the_unit_holding_the_dossier_acts(
    name: str, action: Action, unit: str, code: str
) -> None:
    d = situation(name)
    with pytest.raises(ActionRefused) as refused:
        act(d, COMMANDS[action](d, unit), later(2))
    assert refused.value.code == code


def test_the_receiving_desk_may_record_a_supplement_held_elsewhere() -> None:
    d = situation("supplement_requested")
    assert d.holding_unit == DISTRICT_COMMITTEE
    decision = act(d, COMMANDS[Action.PROVIDE_SUPPLEMENT](d, TAN_HOA_DESK), later(2))
    assert decision.dossier.state is DossierState.PROCESSING


def test_the_journey_commune_district_province_and_back() -> None:
    first = start()
    d = first.dossier
    [planned] = first.facts
    assert isinstance(planned, DossierRoutePlanned)
    assert [s.unit for s in planned.steps] == [
        TAN_HOA_DESK,
        DISTRICT_COMMITTEE,
        PROVINCE_NATURAL_RESOURCES,
        TAN_HOA_DESK,
    ]
    assert (planned.state, planned.holding_unit) == (DossierState.PROCESSING, TAN_HOA_DESK)
    assert planned.step_due_date == day(3)  # 1 working day from Monday 09:00
    facts = list(first.facts)
    steps = [
        (complete(d, TAN_HOA_DESK), later(0.2)),
        (accept(d, DISTRICT_COMMITTEE), later(0.3)),
        (complete(d, DISTRICT_COMMITTEE), later(3)),
        (accept(d, PROVINCE_NATURAL_RESOURCES), later(3.1)),
        (complete(d, PROVINCE_NATURAL_RESOURCES), later(8)),
        (accept(d, TAN_HOA_DESK), later(8.1)),
        (ReturnResult(dossier_code=d.code, unit=TAN_HOA_DESK), later(8.2)),
        (HandOverResult(dossier_code=d.code, unit=TAN_HOA_DESK), later(9)),
    ]
    for cmd, at in steps:
        decision = recorded(act(d, cmd, at), context(at), actor="officer", command_id="c")
        d = decision.dossier
        facts += decision.facts
    assert [type(f) for f in facts] == [
        DossierRoutePlanned,
        *[StepCompleted, TransferRequested, TransferAccepted] * 3,
        ResultReady,
        DossierDone,
    ]
    holders = [(f.holding_unit, f.state) for f in facts if isinstance(f, TransferAccepted)]
    assert holders == [
        (DISTRICT_COMMITTEE, DossierState.PROCESSING),
        (PROVINCE_NATURAL_RESOURCES, DossierState.PROCESSING),
        (TAN_HOA_DESK, DossierState.PROCESSING),
    ]
    receipts = [f.receipt for f in facts if isinstance(f, TransferAccepted)]
    assert all(r.documents_hash == d.documents_hash for r in receipts)
    assert len({r.receipt_id for r in receipts}) == 3
    done = facts[-1]
    assert isinstance(done, DossierDone) and not done.late and done.state is DossierState.DONE
    trail = build_trail(d, calendar(), later(10))
    assert [h.unit for h in trail.holdings] == [
        TAN_HOA_DESK,
        DISTRICT_COMMITTEE,
        PROVINCE_NATURAL_RESOURCES,
        TAN_HOA_DESK,
    ]
    assert all(h.until is not None for h in trail.holdings)
    assert [s.status for s in trail.steps] == ["completed"] * 4
    assert trail.holdings[1].duration_seconds == pytest.approx(2.8 * 86400)
    assert [t.status for t in trail.transfers] == ["accepted"] * 3
    # The reception and every fact after the plan (the handler records the plan itself).
    assert len(trail.events) == len(facts)
    assert trail.events[0].event == "dossier.received.v2"


def test_a_refused_transfer_reopens_the_senders_step_and_can_be_resent() -> None:
    d = dossier_in("in_transfer")
    first_transfer = d.transfer
    assert first_transfer is not None
    refusal = RefuseTransfer(dossier_code=d.code, unit=DISTRICT_COMMITTEE, reason="thiếu trích lục")
    decision = act(d, refusal, later(0.5))
    [refused] = decision.facts
    assert isinstance(refused, TransferRefused)
    assert (refused.state, refused.holding_unit) == (DossierState.PROCESSING, TAN_HOA_DESK)
    assert refused.reason == "thiếu trích lục"
    d = decision.dossier
    assert d.current_step == 0 and d.step.completed_at is None and d.transfer is None
    resent = act(d, complete(d, TAN_HOA_DESK), later(1))
    assert [type(f) for f in resent.facts] == [StepCompleted, TransferRequested]
    again = resent.facts[1]
    assert isinstance(again, TransferRequested)
    assert again.transfer_id != first_transfer.transfer_id
    assert again.step_due_date == day(12)  # requested Tuesday 09:00 + 7 working days
    assert [t.status for t in resent.dossier.transfers] == ["refused", "pending"]


def test_reject_goes_straight_to_the_returning_desk() -> None:
    d = dossier_in("processing_district")
    decision = act(d, complete(d, DISTRICT_COMMITTEE, StepOutcome.REJECT), later(1))
    transfer = decision.facts[1]
    assert isinstance(transfer, TransferRequested)
    assert (transfer.to_unit, transfer.step_index) == (TAN_HOA_DESK, 3)
    assert decision.dossier.steps[2].skipped
    d = act(decision.dossier, accept(d, TAN_HOA_DESK), later(1.1)).dossier
    [ready] = act(d, ReturnResult(dossier_code=d.code, unit=TAN_HOA_DESK), later(1.2)).facts
    assert isinstance(ready, ResultReady) and ready.outcome == "rejected"


def test_needs_supplement_is_a_verdict_that_pauses_the_same_step() -> None:
    d = dossier_in("processing_district")
    cmd = CompleteStep(
        dossier_code=d.code,
        unit=DISTRICT_COMMITTEE,
        outcome=StepOutcome.NEEDS_SUPPLEMENT,
        note="Thiếu bản đồ",
        missing_documents=["cadastral_map"],
    )
    decision = act(d, cmd, later(1))
    completed, requested = decision.facts
    assert (
        isinstance(completed, StepCompleted) and completed.outcome is StepOutcome.NEEDS_SUPPLEMENT
    )
    assert isinstance(requested, SupplementRequested) and requested.reason == "Thiếu bản đồ"
    assert requested.missing_documents == ["cadastral_map"]
    assert decision.dossier.state is DossierState.SUPPLEMENT_REQUESTED
    assert decision.dossier.current_step == 1 and decision.dossier.step.completed_at is None


def test_a_step_at_the_same_unit_moves_on_without_a_hand_over() -> None:
    d = start().dossier
    d.steps[1].unit = TAN_HOA_DESK  # as if the desk also performed the next step
    decision = act(d, complete(d, TAN_HOA_DESK), later(0.1))
    assert [type(f) for f in decision.facts] == [StepCompleted]
    assert decision.dossier.current_step == 1
    assert decision.dossier.state is DossierState.PROCESSING


def test_withdrawal_ends_everything_and_cancels_a_pending_hand_over() -> None:
    d = dossier_in("in_transfer")
    event = DossierWithdrawn(
        dossier_code=d.code,
        state=DossierState.WITHDRAWN,
        holding_unit=TAN_HOA_DESK,
        withdrawn_at=later(1),
    )
    decision = decide_withdraw(d, event, context(later(1)))
    assert decision.facts == ()
    assert decision.dossier.state is DossierState.WITHDRAWN
    assert decision.dossier.transfers[0].status == "cancelled"
    with pytest.raises(ActionRefused):
        decide_withdraw(decision.dossier, event, context(later(2)))


def test_ids_are_stable_when_a_decision_is_retried() -> None:
    d = dossier_in("processing")
    one = act(d, complete(d, TAN_HOA_DESK), later(0.1)).dossier.transfer
    two = act(d, complete(d, TAN_HOA_DESK), later(0.1)).dossier.transfer
    assert one is not None and two is not None and one.transfer_id == two.transfer_id


def test_received_after_the_cutoff_counts_from_the_next_working_day() -> None:
    from tests.unit.routing.builders import received

    late = start(received(at=MONDAY_9AM.replace(hour=9))).dossier  # 16:00 local
    assert late.step.due_date == day(4)
