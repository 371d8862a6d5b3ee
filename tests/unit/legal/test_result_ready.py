"""On time is judged when the agency has the result ready, not when the applicant collects it.

Worked dates: a judicial record (1 + 8 + 1 working days) received Monday 2 March 2026
10:00, appointment Monday 16 March; the desk hands over on 3 March, the justice
department sends the result back on Thursday 12 March (the desk's step due Friday 13).
"""

from __future__ import annotations

from datetime import datetime

import pytest
from routing.domain.deadlines import step_rating
from routing.domain.history import HistoryEntry
from routing.domain.model import Dossier
from routing.ontime import tally

from shared.events.closing import DossierDone, ResultReady
from shared.events.commands import HandOverResult, ReturnResult
from tests.unit.legal.builders import (
    CONFIGURATIONS,
    act,
    at,
    calendar,
    d,
    hand_over,
    received,
    start,
)


def back_at_the_desk(configuration: str) -> Dossier:
    dossier = start(received(configuration, at(3, 2, 10)), configuration)
    dossier = hand_over(dossier, at(3, 3, 10), configuration)
    return hand_over(dossier, at(3, 12, 10), configuration)


def ready(dossier: Dossier, when: datetime, configuration: str) -> tuple[Dossier, ResultReady]:
    cmd = ReturnResult(dossier_code=dossier.code, unit=dossier.holding_unit)
    decision = act(dossier, cmd, when, configuration)
    [fact] = decision.facts
    assert isinstance(fact, ResultReady)
    return decision.dossier, fact


def collected(dossier: Dossier, when: datetime, configuration: str) -> tuple[Dossier, DossierDone]:
    cmd = HandOverResult(dossier_code=dossier.code, unit=dossier.holding_unit)
    decision = act(dossier, cmd, when, configuration)
    [fact] = decision.facts
    assert isinstance(fact, DossierDone)
    return decision.dossier, fact


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_a_result_ready_on_time_and_collected_late_is_not_late(configuration: str) -> None:
    dossier, made_ready = ready(back_at_the_desk(configuration), at(3, 13, 9), configuration)
    assert (made_ready.due_date, made_ready.on_time, made_ready.late) == (d(3, 13), True, False)
    done, fact = collected(dossier, at(3, 20, 9), configuration)  # the applicant comes 20/03
    assert fact.late is False
    assert fact.result_ready_at == at(3, 13, 9)
    assert fact.collected_after_appointment is True
    assert fact.done_at == at(3, 20, 9)
    # The returning desk's step ended when the result was ready: rated on time.
    assert done.steps[-1].completed_at == at(3, 13, 9)
    ratings = [step_rating(calendar(), s, d(3, 20)) for s in done.steps]
    assert ratings == ["on_time", "on_time", "on_time"]


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_a_result_ready_after_the_appointment_is_late(configuration: str) -> None:
    dossier, made_ready = ready(back_at_the_desk(configuration), at(3, 17, 9), configuration)
    assert (made_ready.on_time, made_ready.late) == (False, True)
    _, fact = collected(dossier, at(3, 17, 10), configuration)
    assert fact.late is True and fact.result_ready_at == at(3, 17, 9)


def test_a_dossier_made_ready_before_the_change_is_judged_on_its_history() -> None:
    """Stored in RESULT_READY by an earlier version: no ``result_ready_at``, the final step
    still open; the history's result-ready entry gives the moment."""
    dossier, _ = ready(back_at_the_desk("three-level"), at(3, 13, 9), "three-level")
    dossier.result_ready_at = None
    dossier.steps[-1].completed_at = dossier.steps[-1].outcome = None
    dossier.history.append(  # the builders record no history: the entry it had
        HistoryEntry(
            at=at(3, 13, 9),
            event=ResultReady.EVENT_TYPE,
            state=dossier.state,
            holding_unit=dossier.holding_unit,
        )
    )
    done, fact = collected(dossier, at(3, 20, 9), "three-level")
    assert (fact.late, fact.result_ready_at) == (False, at(3, 13, 9))
    assert done.steps[-1].completed_at == at(3, 13, 9)


def test_the_on_time_view_rates_the_returning_desk_on_the_ready_day() -> None:
    dossier, _ = ready(back_at_the_desk("three-level"), at(3, 13, 9), "three-level")
    done, _ = collected(dossier, at(3, 20, 9), "three-level")
    model = done.model_dump(mode="json")
    by_unit, _ = tally([model], calendar().local_date, at(3, 1))
    desk = next(r for r in by_unit if r.key == done.receiving_unit)
    assert (desk.completed, desk.on_time, desk.late) == (2, 2, 0)
