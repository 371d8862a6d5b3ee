"""Signed checkpoints of the audit log, on ``audit.events``."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from shared.events.registry import EventData, register
from shared.topics import AUDIT_EVENTS, TopicSpec

AUDIT_LOG_SUBJECT = "audit-log"


@register
class CheckpointSigned(EventData):
    """The audit service signed the Merkle tree's size and root hash."""

    EVENT_TYPE: ClassVar[str] = "audit.checkpoint.v1"
    TOPIC: ClassVar[TopicSpec] = AUDIT_EVENTS

    tree_size: int
    root_hash: str  # hex
    signed_at: datetime
    key_id: str
    signature: str  # base64 Ed25519 signature over the checkpoint's canonical bytes

    def subject(self) -> str:
        return AUDIT_LOG_SUBJECT
