"""Intake's erasure of a closed dossier's personal data, on ``dossier.events``."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from shared.events.dossier import (
    DossierCode,
    DossierState,
    UnitCode,
)
from shared.events.registry import EventData, register
from shared.topics import DOSSIER_EVENTS, TopicSpec


@register
class PersonalDataErased(EventData):
    """Intake erased a closed dossier's personal data once its retention had passed.

    The applicant's name, contact, identity, address, notes, reasons and document names
    intake kept for the dossier were replaced by a marker; its code, procedure, units,
    dates, states and history stay. Emitted in the transaction of the erasure, once per
    dossier, so the audit log holds it in the dossier's history. Carries no personal
    value: nothing to erase in it. Changes neither the state nor the holder (not a
    ``DossierFact``: readers applying facts to a dossier's state pass it over). Since
    contracts 3.1.
    """

    EVENT_TYPE: ClassVar[str] = "dossier.personal-data.erased.v1"
    TOPIC: ClassVar[TopicSpec] = DOSSIER_EVENTS

    dossier_code: DossierCode
    receiving_unit: UnitCode = Field(description="The desk that received the dossier.")
    state: DossierState = Field(description="The closed state the dossier was erased in.")
    closed_at: datetime = Field(
        description="When intake applied the dossier's latest fact (its close, as a rule): "
        "the retention is counted from it."
    )
    erased_at: datetime
    retention_days: int = Field(ge=1, description="LT_INTAKE_PERSONAL_DATA_RETENTION_DAYS.")
    reason: Literal["retention"] = Field(
        "retention", description="`retention`: `retention_days` after `closed_at`."
    )

    def subject(self) -> str:
        return self.dossier_code
