"""The state machine table: every (state, action) pair is either allowed or refused."""

from __future__ import annotations

import itertools

import pytest
from routing.domain.state_machine import (
    TRANSITIONS,
    WHO_MAY_ACT,
    Action,
    ActionRefused,
    RefusalCode,
    Role,
    check_actor,
    next_state,
)

from shared.events.dossier import DossierState as S

# The specification, written out independently of the implementation's table.
ALLOWED = {
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
    (S.RECEIVED, Action.WITHDRAW): S.WITHDRAWN,
    (S.IN_TRANSFER, Action.WITHDRAW): S.WITHDRAWN,
    (S.PROCESSING, Action.WITHDRAW): S.WITHDRAWN,
    (S.SUPPLEMENT_REQUESTED, Action.WITHDRAW): S.WITHDRAWN,
    (S.AWAITING_PAYMENT, Action.WITHDRAW): S.WITHDRAWN,
    # Withdrawal is a request (portal status 7) that the holding unit stops (status 8);
    # never once the result is ready (status 9): nothing is left to stop.
    (S.RECEIVED, Action.REQUEST_WITHDRAWAL): S.WITHDRAWAL_REQUESTED,
    (S.IN_TRANSFER, Action.REQUEST_WITHDRAWAL): S.WITHDRAWAL_REQUESTED,
    (S.PROCESSING, Action.REQUEST_WITHDRAWAL): S.WITHDRAWAL_REQUESTED,
    (S.SUPPLEMENT_REQUESTED, Action.REQUEST_WITHDRAWAL): S.WITHDRAWAL_REQUESTED,
    (S.AWAITING_PAYMENT, Action.REQUEST_WITHDRAWAL): S.WITHDRAWAL_REQUESTED,
    (S.WITHDRAWAL_REQUESTED, Action.STOP): S.STOPPED,
    # Payment: the holder asks, the payment is confirmed, processing goes on.
    (S.PROCESSING, Action.REQUEST_PAYMENT): S.AWAITING_PAYMENT,
    (S.AWAITING_PAYMENT, Action.CONFIRM_PAYMENT): S.PROCESSING,
    # Mẫu 04 changes the appointment, not the state.
    (S.PROCESSING, Action.APOLOGISE): S.PROCESSING,
    (S.IN_TRANSFER, Action.APOLOGISE): S.IN_TRANSFER,
}
PAIRS = list(itertools.product(S, Action))


def test_the_table_is_the_specification() -> None:
    assert dict(TRANSITIONS) == ALLOWED


@pytest.mark.parametrize(("state", "action"), PAIRS, ids=[f"{s}-{a}" for s, a in PAIRS])
def test_every_state_and_action(state: S, action: Action) -> None:
    if (state, action) in ALLOWED:
        assert next_state(state, action) is ALLOWED[(state, action)]
        return
    with pytest.raises(ActionRefused) as refused:
        next_state(state, action)
    assert refused.value.code is RefusalCode.TRANSITION_NOT_ALLOWED
    assert state.value in refused.value.reason and action.value in refused.value.reason


@pytest.mark.parametrize("state", [S.DONE, S.STOPPED, S.WITHDRAWN, S.DENIED])
def test_terminal_states_allow_nothing(state: S) -> None:
    assert not [a for a in Action if (state, a) in TRANSITIONS]


def test_every_action_names_who_may_take_it() -> None:
    assert set(WHO_MAY_ACT) == set(Action)


ROLE_CASES = [
    (Action.ACCEPT_TRANSFER, {Role.HOLDING_UNIT}, RefusalCode.NOT_TRANSFER_RECEIVER),
    (Action.REFUSE_TRANSFER, {Role.RECEIVING_DESK}, RefusalCode.NOT_TRANSFER_RECEIVER),
    (Action.COMPLETE_STEP, {Role.TRANSFER_RECEIVER}, RefusalCode.NOT_HOLDING_UNIT),
    (Action.RETURN_RESULT, {Role.RECEIVING_DESK}, RefusalCode.NOT_HOLDING_UNIT),
    (Action.PROVIDE_SUPPLEMENT, {Role.TRANSFER_RECEIVER}, RefusalCode.NOT_HOLDING_UNIT),
    (Action.STOP, set(), RefusalCode.NOT_HOLDING_UNIT),
    (Action.START, {Role.HOLDING_UNIT}, RefusalCode.TRANSITION_NOT_ALLOWED),
]


@pytest.mark.parametrize(("action", "roles", "code"), ROLE_CASES)
def test_a_unit_without_the_role_is_refused(action: Action, roles: set[Role], code: str) -> None:
    with pytest.raises(ActionRefused) as refused:
        check_actor(action, frozenset(roles), "000.00.99.H59")
    assert refused.value.code == code
    assert "000.00.99.H59" in refused.value.reason


def test_the_right_role_may_act() -> None:
    for action, allowed in WHO_MAY_ACT.items():
        for role in allowed:
            check_actor(action, frozenset({role}))


def test_every_refusal_code_is_documented_in_the_contract_and_the_refusal_table() -> None:
    """Agencies read the codes from the AsyncAPI document and docs/routing.md."""
    from pathlib import Path

    from shared.events.commands import CommandRefused

    described = CommandRefused.model_fields["code"].description or ""
    table = (Path(__file__).resolve().parents[3] / "docs" / "routing.md").read_text()
    for code in RefusalCode:
        assert code.value in described, code
        assert f"| `{code.value}` |" in table, code
