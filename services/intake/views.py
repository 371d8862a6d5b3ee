"""The applicant's view of a stored dossier: labels and unit names added on read."""

from __future__ import annotations

from typing import Any

from intake.domain import PUBLIC_STEPS, STATE_LABELS
from intake.schemas import DossierView, HistoryStep, Label, UnitRef
from shared.catalogue import Catalogue, CatalogueLookupError
from shared.events.dossier import DossierState
from shared.events.portal import portal_status


def unit_ref(catalogue: Catalogue, code: str) -> UnitRef:
    """A unit by code, named when the catalogue knows it."""
    try:
        unit = catalogue.unit(code)
    except CatalogueLookupError:
        return UnitRef(code=code)
    return UnitRef(code=code, name=unit.name, name_en=unit.name_en)


def _label(pair: tuple[str, str]) -> Label:
    return Label(vi=pair[0], en=pair[1])


def dossier_view(catalogue: Catalogue, doc: dict[str, Any]) -> DossierView:
    """Current state, holding unit, appointment date and the public steps, oldest first."""
    state = DossierState(doc["state"])
    try:
        procedure = catalogue.procedure(doc["procedure_code"])
        names = (procedure.name, procedure.name_en)
    except CatalogueLookupError:
        names = (doc["procedure_code"], doc["procedure_code"])
    history = [
        HistoryStep(
            at=step["at"],
            event_type=step["event_type"],
            state=DossierState(step["state"]),
            holding_unit=unit_ref(catalogue, step["holding_unit"]),
            label=_label(PUBLIC_STEPS[step["event_type"]]),
        )
        for step in doc["history"]
        if step["event_type"] in PUBLIC_STEPS
    ]
    return DossierView(
        code=doc["_id"],
        state=state,
        portal_status=int(portal_status(state)),
        state_label=_label(STATE_LABELS[state]),
        procedure_code=doc["procedure_code"],
        procedure_name=names[0],
        procedure_name_en=names[1],
        receiving_unit=unit_ref(catalogue, doc["receiving_unit"]),
        holding_unit=unit_ref(catalogue, doc["holding_unit"]),
        submitted_at=doc["submitted_at"],
        received_at=doc["received_at"],
        appointment_date=doc["appointment_date"],
        history=history,
        refusal=doc["refusal"],
    )
