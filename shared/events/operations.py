"""What operations staff did from the console, and the data subject requests the
services answered or carried out (access, correction), on ``operations.events`` (audited).

Each fact names who acted and when. A replayed dead letter is recorded before it is
republished; a redelivery request makes notification send a failed notification again
(replaying its dead letter would not: the inbox has already seen that event).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from shared.events.dossier import DossierCode
from shared.events.personal import Code, InClear, PersonalText
from shared.events.registry import EventData, register
from shared.topics import OPERATIONS_EVENTS, TopicSpec

OPERATIONS_SUBJECT = "operations"  # the subject when no dossier is known
Operator = Annotated[
    str, InClear("the staff account that acted: kept for accountability, as the record's point")
]


class OperationsFact(EventData):
    TOPIC: ClassVar[TopicSpec] = OPERATIONS_EVENTS

    operator: Operator = Field(min_length=1, max_length=200, description="Who acted.")
    dossier_code: DossierCode | None = Field(None, max_length=64)

    def subject(self) -> str:
        return self.dossier_code or OPERATIONS_SUBJECT


@register
class DeadLetterReplayed(OperationsFact):
    """A dead letter was put back on its original topic."""

    EVENT_TYPE: ClassVar[str] = "operations.deadletter.replayed.v1"
    dead_letter: Code = Field(description="Where it was kept: 'partition:offset' of deadletters.")
    original_topic: Code
    original_event_id: Code | None = None
    original_event_type: Code | None = None
    error: PersonalText = Field(max_length=2000)
    replayed_at: datetime


@register
class NotificationRedeliveryRequested(OperationsFact):
    """Send a failed notification again, with a fresh budget of attempts."""

    EVENT_TYPE: ClassVar[str] = "operations.notification.redelivery.requested.v1"
    notification_id: Code = Field(min_length=1, max_length=100)
    reason: PersonalText = Field(min_length=1, max_length=2000)
    requested_at: datetime


@register
class SubjectAccessAnswered(OperationsFact):
    """A service answered a data subject access request to a data protection officer:
    who asked, which service, which dossiers it disclosed (their codes). Never the
    identity number, its hash or a contact: the log records that data were disclosed,
    not the data."""

    EVENT_TYPE: ClassVar[str] = "operations.subject-access.answered.v1"
    service: Literal["intake", "notification"] = Field(description="The service that answered.")
    dossier_codes: list[DossierCode] = Field(
        default_factory=list,
        max_length=1000,
        description="The dossiers the answer covered (none: nothing held about the subject).",
    )
    answered_at: datetime


ContactField = Literal["name", "email", "phone", "address", "channels", "language"]


@register
class ApplicantContactCorrected(OperationsFact):
    """A service corrected an applicant's contact details at the applicant's request
    (Decree 13/2023/NĐ-CP): who corrected, which dossier, which fields, why and when.
    Never the old or new values: the log records that a correction was made, not the
    data; the corrected contact travels on ``applicant.contacts`` only."""

    EVENT_TYPE: ClassVar[str] = "operations.applicant-contact.corrected.v1"
    dossier_code: DossierCode = Field(min_length=1, max_length=64)
    service: Literal["intake"] = Field(description="The service that corrected it.")
    corrected_fields: list[ContactField] = Field(
        min_length=1, max_length=6, description="The fields whose values changed."
    )
    reason: PersonalText = Field(min_length=1, max_length=2000, description="Why, as given.")
    corrected_at: datetime
