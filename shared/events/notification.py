"""Outcomes of notifications, on ``notification.events``: proof that people were told."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from shared.events.dossier import Channel
from shared.events.registry import EventData, register
from shared.topics import NOTIFICATION_EVENTS, TopicSpec


class NotificationOutcome(EventData):
    TOPIC: ClassVar[TopicSpec] = NOTIFICATION_EVENTS

    notification_id: str
    dossier_code: str
    source_event_id: str
    source_event_type: str
    channel: Channel
    recipient_kind: Literal["applicant", "unit", "subscriber"]
    recipient_ref: str  # a keyed hash or a unit/subscription id, never contact data in clear
    template: str | None = None
    language: str | None = None
    attempts: int

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
    error: str
