"""Retention of a closed dossier's personal data in intake's store: which dossiers are
due (closed, ended before the cutoff, not erased yet: a fixed clock), and what the
applicant's view, the forms and the log book show of an erased dossier.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from audit.handlers import logged_event_types
from intake.domain.retention import (
    CLOSED_STATES,
    check_personal_data_kept,
    ended_at,
    erasure_cutoff,
    erasure_fact,
    personal_data_due,
)
from intake.forms import ERASED_ROW, IntakeForms
from intake.handlers import build_registry as intake_registry
from intake.model import ERASED
from intake.views import dossier_view
from notification.portal_sync import build_registry as portal_registry
from notification.subscription_rules import subscribable_event_types
from routing.handlers import build_registry as routing_registry

from shared.calendar import LOCAL_TZ
from shared.events.dossier import DossierFact, DossierState
from shared.events.erasure import PersonalDataErased
from shared.events.personal import personal_paths
from shared.forms import load_forms
from shared.refusals import Refused
from shared.topics import DOSSIER_EVENTS
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


# --- the fact of an erasure ---------------------------------------------------------------


def test_the_fact_of_an_erasure_names_the_dossier_and_the_rule_and_nothing_personal() -> None:
    ended = CUTOFF - timedelta(days=3)
    erased = stored_dossier(DossierState.DONE, ended).without_personal_data(NOW)
    fact = erasure_fact(erased, RETENTION)
    assert fact.subject() == erased.code and fact.receiving_unit == DESK
    assert (fact.state, fact.closed_at, fact.erased_at) == (DossierState.DONE, ended, NOW)
    assert fact.retention_days == RETENTION.days and fact.reason == "retention"
    assert personal_paths(PersonalDataErased) == []
    text = fact.model_dump_json()
    assert "Nguyễn" not in text and "0912345678" not in text and "b" * 64 not in text
    with pytest.raises(ValueError, match="not closed and erased"):
        erasure_fact(stored_dossier(DossierState.DONE, ended), RETENTION)  # not erased


def test_readers_of_dossier_events_log_or_pass_over_the_fact_without_a_dead_letter() -> None:
    """Audit logs it; intake's view, routing and the portal connector have no handler, so
    their consumers pass it over (a contract without a handler is ignored, never
    dead-lettered); notification takes it only for an agency subscribed to it."""
    event_type = PersonalDataErased.EVENT_TYPE
    assert PersonalDataErased.TOPIC is DOSSIER_EVENTS
    assert event_type in logged_event_types()
    assert not issubclass(PersonalDataErased, DossierFact)
    unused: Any = object()  # the handlers are only looked up, never called
    for registry in (
        intake_registry(unused),
        routing_registry(unused),
        portal_registry(unused),
    ):
        assert registry.handler_for(event_type, DOSSIER_EVENTS) is None
    assert event_type in subscribable_event_types()
