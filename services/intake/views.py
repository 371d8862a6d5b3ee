"""The applicant's view of a stored dossier: labels and unit names added on read."""

from __future__ import annotations

from intake.domain.public_view import PUBLIC_STEPS, STATE_LABELS
from intake.model import IntakeDossier, personal_values
from intake.schemas.responses import DossierView, HistoryStep, Label, SupplementRequestOut, UnitRef
from intake.schemas.subject_access import SubjectDossier
from shared.catalogue.configuration import Catalogue
from shared.catalogue.model import CatalogueLookupError
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


def dossier_view(catalogue: Catalogue, dossier: IntakeDossier) -> DossierView:
    """Current state, holding unit, appointment date and the public steps, oldest first."""
    state = dossier.current_state
    try:
        procedure = catalogue.procedure(dossier.procedure_code)
        names = (procedure.name, procedure.name_en)
    except CatalogueLookupError:
        names = (dossier.procedure_code, dossier.procedure_code)
    history = [
        HistoryStep(
            at=step.at,
            event_type=step.event_type,
            state=step.state,
            holding_unit=unit_ref(catalogue, step.holding_unit),
            label=_label(PUBLIC_STEPS[step.event_type]),
        )
        for step in dossier.history
        if step.event_type in PUBLIC_STEPS
    ]
    return DossierView(
        code=dossier.code,
        state=state,
        portal_status=int(portal_status(state)),
        state_label=_label(STATE_LABELS[state]),
        procedure_code=dossier.procedure_code,
        procedure_name=names[0],
        procedure_name_en=names[1],
        receiving_unit=unit_ref(catalogue, dossier.receiving_unit),
        holding_unit=unit_ref(catalogue, dossier.holding_unit),
        submitted_at=dossier.submitted_at,
        received_at=dossier.received_at,
        appointment_date=dossier.appointment_date,
        history=history,
        personal_data_erased_at=dossier.personal_data_erased_at,
        # Once erased, what is left of these is their non-personal frame: not shown.
        refusal=None if dossier.erased else dossier.refusal,
        supplement_requests=[]
        if dossier.erased
        else [
            SupplementRequestOut(
                number=r.number,
                missing_documents=[
                    document_name(catalogue, dossier.procedure_code, m) for m in r.missing_documents
                ],
                guidance=r.guidance,
                requested_at=r.requested_at,
                provided_at=r.provided_at,
            )
            for r in dossier.supplement_requests
        ],
    )


def document_name(catalogue: Catalogue, procedure_code: str, entry: str) -> str:
    """The catalogue's name of a document type; anything else as the desk wrote it."""
    try:
        required = catalogue.procedure(procedure_code).required_documents
    except CatalogueLookupError:
        return entry
    return next((r.name for r in required if r.type == entry), entry)


def subject_dossier(dossier: IntakeDossier) -> SubjectDossier:
    """A dossier as a data subject access request shows it: what it is, where it stands,
    and every personal field as stored (``[erased]`` once the retention erased them)."""
    return SubjectDossier(
        code=dossier.code,
        channel=dossier.channel,
        procedure_code=dossier.procedure_code,
        procedure_version=dossier.procedure_version,
        receiving_unit=dossier.receiving_unit,
        holding_unit=dossier.holding_unit,
        state=dossier.state,
        submitted_at=dossier.submitted_at,
        received_at=dossier.received_at,
        appointment_date=dossier.appointment_date,
        created_at=dossier.created_at,
        erased=dossier.erased,
        personal_data_erased_at=dossier.personal_data_erased_at,
        personal_data=personal_values(dossier),
        contact_preferences={
            "channels": [channel.value for channel in dossier.applicant.channels],
            "language": dossier.applicant.language.value,
        },
        history=[step.model_dump(mode="json") for step in dossier.history],
    )
