"""What operations staff did from the console, on ``operations.events`` (audited).

Each fact names who acted and when. A replayed dead letter is recorded before it is
republished; a redelivery request makes notification send a failed notification again
(replaying its dead letter would not: the inbox has already seen that event).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

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
