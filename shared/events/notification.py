"""Outcomes of notifications, on ``notification.events``: proof that people were told."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from shared.events.dossier import Channel, DossierCode, UnitCode
from shared.events.personal import Code, PersonalText
from shared.events.registry import EventData, register
from shared.topics import NOTIFICATION_EVENTS, TopicSpec


class NotificationOutcome(EventData):
    TOPIC: ClassVar[TopicSpec] = NOTIFICATION_EVENTS

    notification_id: Code
    dossier_code: DossierCode
    source_event_id: Code
    source_event_type: Code
    channel: Channel
    recipient_kind: Literal["applicant", "unit", "subscriber"]
    # A keyed hash of the contact, or a unit/subscription id; never contact data in clear.
    # Personal all the same: whoever holds the key can reverse a phone number's hash by
    # trying every number.
    recipient_ref: PersonalText
    template: Code | None = None
    language: Code | None = None
    attempts: int
    # Which units the fact concerns, so that a subscription's ``units`` filter can match it.
    units: list[UnitCode] = Field(
        default_factory=list,
        description=(
            "The units the fact told of named (`holding_unit`, `receiving_unit`, "
            "`from_unit`, `to_unit`, `unit`) and, for a unit delivery, the unit told; "
            "empty in outcomes written before contracts 4.2.0."
        ),
    )

    def subject(self) -> str:
        return self.dossier_code


@register
class NotificationSent(NotificationOutcome):
    EVENT_TYPE: ClassVar[str] = "notification.sent.v1"
    sent_at: datetime


@register
class NotificationFailed(NotificationOutcome):
    EVENT_TYPE: ClassVar[str] = "notification.failed.v1"
    failed_at: datetime
    error: PersonalText  # a gateway's answer may quote the address or the text
