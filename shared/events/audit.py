"""Signed checkpoints of the audit log, on ``audit.events``."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from shared.events.personal import Code, Digest
from shared.events.registry import EventData, register
from shared.topics import AUDIT_EVENTS, TopicSpec

AUDIT_LOG_SUBJECT = "audit-log"


@register
class CheckpointSigned(EventData):
    """The audit service signed the Merkle tree's size and root hash."""

    EVENT_TYPE: ClassVar[str] = "audit.checkpoint.v1"
    TOPIC: ClassVar[TopicSpec] = AUDIT_EVENTS

    tree_size: int
    root_hash: Digest  # hex
    signed_at: datetime
    key_id: Code  # the signed-note key ID of the log's key (8 hex digits)
    signature: Digest  # base64 Ed25519 signature of the note's text by the log's key
    note: Digest | None = None  # the checkpoint as a C2SP signed note (tlog-checkpoint)

    def subject(self) -> str:
        return AUDIT_LOG_SUBJECT


@register
class KeyRotated(EventData):
    """The log's signing key changed; the old key signed the statement naming the new one.

    The audit service logs this event in its own log (so every auditor sees the rotation)
    before the new key signs anything; verifiers follow the chain from the key they pinned.
    """

    EVENT_TYPE: ClassVar[str] = "audit.key.rotated.v1"
    TOPIC: ClassVar[TopicSpec] = AUDIT_EVENTS

    old_vkey: Digest  # C2SP vkey of the key that stops signing
    new_vkey: Digest  # C2SP vkey of the key that signs from valid_from on
    valid_from: datetime
    statement: Digest  # signed note by the old key: "<log> key rotation / old / new / from"

    def subject(self) -> str:
        return AUDIT_LOG_SUBJECT


@register
class PersonalDataErased(EventData):
    """The key sealing a dossier's personal fields in the audit log was destroyed.

    Logged in the audit log itself (subject: the dossier): the entries and their proofs
    stay valid, their sealed fields can no longer be read.
    """

    EVENT_TYPE: ClassVar[str] = "audit.personal-data.erased.v1"
    TOPIC: ClassVar[TopicSpec] = AUDIT_EVENTS

    dossier_code: Code
    key_id: Code  # which dossier key was destroyed
    erased_at: datetime
    reason: Code  # "retention": LT_AUDIT_PERSONAL_DATA_RETENTION_DAYS after the last entry

    def subject(self) -> str:
        return self.dossier_code
