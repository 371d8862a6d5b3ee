"""Intake's dossier as it is stored: a typed model, changed only by pure decisions.

The store keeps it as one document (``_id`` is the dossier code; dates as ISO strings,
moments as BSON dates). ``dossiers.py`` decides what happens to it and which fact that
is; the actions store the result and emit the fact in one unit of work.

Every string of the stored model is marked as the event contracts' are
(``shared/events/personal.py``): personal data, a pseudonym or free text
(``PersonalText``), or in clear (``InClear``, ``Code``...). ``PERSONAL_FIELDS`` lists the
personal ones, which the retention erases (``without_personal_data``); a unit test
requires the marks and the list to agree and every string to be marked.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from intake.schemas.requests import SubmissionChannel
from intake.schemas.responses import RefusalNotice
from shared.events.dossier import (
    ApplicantContact,
    CalendarVersion,
    DocumentRef,
    DossierFact,
    DossierState,
    ResultDelivery,
    UnitCode,
)
from shared.events.personal import ITEM, Code, Digest, DocumentsHash, PersonalText

# Stored as "YYYY-MM-DD" (BSON has no date type), read back as a date.
IsoDate = Annotated[date, PlainSerializer(lambda d: d.isoformat(), return_type=str)]


class _Stored(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PublicStep(_Stored):
    """One fact in the applicant's history (labels are looked up when read)."""

    event_id: Code
    event_type: Code
    at: datetime
    state: DossierState
    holding_unit: UnitCode

    @classmethod
    def of(cls, fact: DossierFact, event_id: str, event_type: str, at: datetime) -> PublicStep:
        """The step a fact adds: its state and holder at ``at``."""
        return cls(
            event_id=event_id,
            event_type=event_type,
            at=at,
            state=fact.state,
            holding_unit=fact.holding_unit,
        )


class Withdrawal(_Stored):
    reason: PersonalText | None
    at: datetime


class SupplementRequest(_Stored):
    """A desk's request to supplement a dossier it has not received (Mẫu 02 at intake)."""

    number: int  # 1 for the dossier's first request
    missing_documents: list[PersonalText]  # document type codes or names, as written
    guidance: PersonalText
    requested_at: datetime
    provided_at: datetime | None = None  # when the applicant supplemented it


class IntakeDossier(_Stored):
    """A dossier intake took: what the applicant submitted and where it stands now."""

    code: Code = Field(alias="_id")
    state: DossierState | None = None  # None only before its first fact is applied
    holding_unit: UnitCode
    applied_up_to: datetime | None = None  # the time of the latest fact applied
    channel: SubmissionChannel
    procedure_code: Code
    procedure_version: Code
    receiving_unit: UnitCode
    area_unit: UnitCode | None = None
    result_delivery: ResultDelivery = ResultDelivery.DESK
    submitted_at: datetime
    received_at: datetime | None = None
    clock_starts_on: IsoDate | None = None
    appointment_date: IsoDate | None = None  # the current one (moved by apologies, pauses)
    # The appointment given at reception (Mẫu 01), which later facts never move; None for
    # dossiers received before it was kept (then ``appointment_date`` is the best known).
    original_appointment_date: IsoDate | None = None
    # The date the latest apology (Mẫu 04) set, if any.
    apology_appointment_date: IsoDate | None = None
    total_budget_days: int
    fee_vnd: int | None = None
    calendar_version: CalendarVersion | None = None
    applicant: ApplicantContact
    # The applicant's postal address as given (forms only): personal data that stays here.
    applicant_address: PersonalText | None = None
    documents: list[DocumentRef]
    # Kept as recorded (the documents' names erased, it no longer matches the list).
    documents_hash: DocumentsHash
    note: PersonalText | None = None
    lookup_token_hash: Digest  # kept: an erased dossier is still looked up with its token
    correlation_id: Code | None = None  # the first fact's event id, once emitted
    # The last outbox number of the dossier's facts (``shared.mongo.document_sequences``);
    # None: stored before the field existed, numbered by its counter until a flush sets it.
    outbox_seq: int | None = None
    refusal: RefusalNotice | None = None
    supplement_requests: list[SupplementRequest] = Field(default_factory=list)
    withdrawal: Withdrawal | None = None
    history: list[PublicStep] = Field(default_factory=list)
    created_at: datetime
    # When the retention erased the personal fields (``PERSONAL_FIELDS``); None: kept.
    personal_data_erased_at: datetime | None = None
    # When a correction last registered the contact again (``registered_at`` of its
    # ``applicant.contact.registered.v1``); None: never corrected.
    contact_registered_at: datetime | None = None

    @property
    def current_state(self) -> DossierState:
        """The state of a stored dossier (every stored dossier has had its first fact)."""
        if self.state is None:
            raise ValueError(f"dossier {self.code} has no state yet")
        return self.state

    def stored(self) -> dict[str, Any]:
        """The document the store keeps."""
        return self.model_dump(by_alias=True)

    def changed(self, **fields: Any) -> IntakeDossier:
        """A copy with ``fields`` replaced, validated again."""
        return IntakeDossier.model_validate({**self.model_dump(by_alias=True), **fields})

    @property
    def erased(self) -> bool:
        """Whether the retention erased the dossier's personal data."""
        return self.personal_data_erased_at is not None

    def without_personal_data(self, now: datetime) -> IntakeDossier:
        """A copy whose personal fields (``PERSONAL_FIELDS``) say ``ERASED``; what is not
        personal (code, procedure, units, dates, states, history) is kept as it was."""
        document = self.model_dump(by_alias=True)
        for path in PERSONAL_FIELDS:
            _erase(document, path.split("."))
        return IntakeDossier.model_validate({**document, "personal_data_erased_at": now})


# What stands in a personal field once the retention erased it (a text field keeps a text,
# so the stored model and its readers need no second shape).
ERASED = "[erased]"

# Every personal field of the stored dossier (``*``: each item of a list), the ones
# marked ``PersonalText`` here and in the contracts' models it embeds: what the retention
# erases. A unit test requires this list to be exactly the marked fields.
PERSONAL_FIELDS: tuple[str, ...] = (
    "applicant.identity_hash",
    "applicant.name",
    "applicant.email",
    "applicant.phone",
    "applicant_address",
    "documents.*.name",
    "note",
    "refusal.applicant_name",
    "refusal.reason",
    "supplement_requests.*.missing_documents.*",
    "supplement_requests.*.guidance",
    "withdrawal.reason",
)


def _erase(node: Any, path: list[str]) -> Any:
    """``node`` with the text at ``path`` replaced by ``ERASED`` (None stays None)."""
    if not path:
        return ERASED if isinstance(node, str) else node
    head, *rest = path
    if head == ITEM:
        return [_erase(item, rest) for item in node] if isinstance(node, list) else node
    if isinstance(node, dict) and node.get(head) is not None:
        node[head] = _erase(node[head], rest)
    return node


def personal_values(dossier: IntakeDossier) -> dict[str, Any]:
    """Every personal field of ``dossier`` (``PERSONAL_FIELDS``) as stored, by path: a
    ``*`` path gives the list of its items' values; a field not set gives None. What a
    data subject access request shows of the dossier's personal data."""
    document = dossier.model_dump(by_alias=True, mode="json")
    return {path: _read(document, path.split(".")) for path in PERSONAL_FIELDS}


def _read(node: Any, path: list[str]) -> Any:
    """The value at ``path`` in ``node`` (None where missing; a list under ``*``)."""
    if not path:
        return node
    head, *rest = path
    if head == ITEM:
        return [_read(item, rest) for item in node] if isinstance(node, list) else None
    if isinstance(node, dict) and node.get(head) is not None:
        return _read(node[head], rest)
    return None
