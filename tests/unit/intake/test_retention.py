"""Retention of a closed dossier's personal data in intake's store: which dossiers are
due (closed, ended before the cutoff, not erased yet: a fixed clock), and what the
applicant's view, the forms and the log book show of an erased dossier.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from intake.domain import (
    CLOSED_STATES,
    check_personal_data_kept,
    ended_at,
    erasure_cutoff,
    personal_data_due,
)
from intake.forms import ERASED_ROW, IntakeForms
from intake.model import ERASED
from intake.views import dossier_view

from shared.calendar import LOCAL_TZ
from shared.events.dossier import DossierState
from shared.forms import load_forms
from shared.refusals import Refused
from tests.unit.intake.test_personal_fields import (
    CATALOGUE,
    CUTOFF,
    DESK,
    NOW,
    RETENTION,
    stored_dossier,
)

# --- which dossiers are due --------------------------------------------------------------


@pytest.mark.parametrize("state", sorted(CLOSED_STATES))
def test_a_dossier_closed_before_the_cutoff_is_due(state: DossierState) -> None:
    dossier = stored_dossier(state, CUTOFF - timedelta(milliseconds=1))
    assert ended_at(dossier) == CUTOFF - timedelta(milliseconds=1)
    assert personal_data_due(dossier, NOW, RETENTION)


@pytest.mark.parametrize("ended", [CUTOFF, CUTOFF + timedelta(days=1), NOW])
def test_a_dossier_closed_within_the_retention_is_kept(ended: datetime) -> None:
    assert not personal_data_due(stored_dossier(DossierState.DONE, ended), NOW, RETENTION)


@pytest.mark.parametrize(
    "state", [s for s in DossierState if s not in CLOSED_STATES] + [None]
)  # RESULT_READY (awaiting collection) included
def test_a_running_dossier_is_never_due_however_old(state: DossierState | None) -> None:
    dossier = stored_dossier(state, datetime(2000, 1, 1, tzinfo=LOCAL_TZ))
    assert ended_at(dossier) is None
    assert not personal_data_due(dossier, NOW, RETENTION)


def test_an_erased_dossier_is_not_due_again() -> None:
    dossier = stored_dossier(DossierState.DONE, CUTOFF - timedelta(days=1))
    assert not personal_data_due(dossier.without_personal_data(NOW), NOW, RETENTION)


def test_the_cutoff_is_the_retention_before_now() -> None:
    assert erasure_cutoff(NOW, RETENTION) == datetime(2026, 12, 2, 10, 0, tzinfo=LOCAL_TZ)


# --- what an erased dossier answers ------------------------------------------------------


def test_the_view_of_an_erased_dossier_has_its_state_and_no_personal_data() -> None:
    erased = stored_dossier(DossierState.DENIED, CUTOFF).without_personal_data(NOW)
    view = dossier_view(CATALOGUE, erased)
    assert (view.state, view.personal_data_erased_at) == (DossierState.DENIED, NOW)
    assert view.procedure_code == "1.001193" and view.receiving_unit.code == DESK
    assert view.refusal is None and view.supplement_requests == []
    assert ERASED not in view.model_dump_json()
    kept = dossier_view(CATALOGUE, stored_dossier(DossierState.DENIED, CUTOFF))
    assert kept.personal_data_erased_at is None and kept.refusal is not None


def test_forms_and_the_applicant_name_need_personal_data_kept() -> None:
    check_personal_data_kept(stored_dossier(DossierState.DONE, CUTOFF))  # kept: no refusal
    with pytest.raises(Refused) as refused:
        check_personal_data_kept(
            stored_dossier(DossierState.DONE, CUTOFF).without_personal_data(NOW)
        )
    assert refused.value.code == "personal_data_erased"
    assert refused.value.extra == {"erased_at": "2031-12-01T03:00:00Z"}


def test_the_log_book_row_of_an_erased_dossier_says_so() -> None:
    forms = IntakeForms(CATALOGUE, load_forms())
    dossier = stored_dossier(DossierState.DONE, CUTOFF, received_at=CUTOFF)
    kept = forms.log_book(DESK, [dossier], CUTOFF.date(), CUTOFF.date(), NOW.date())
    assert "Nguyễn Văn An" in kept and ERASED_ROW not in kept
    erased = forms.log_book(
        DESK, [dossier.without_personal_data(NOW)], CUTOFF.date(), CUTOFF.date(), NOW.date()
    )
    assert ERASED_ROW in erased and dossier.code in erased
    assert ERASED not in erased and "Nguyễn Văn An" not in erased and "Con thứ hai" not in erased
