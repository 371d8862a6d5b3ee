"""Event and command contracts, shared by producers and consumers.

Importing this package registers every contract in ``registry.REGISTRY``.
"""

from shared.events import (
    applicant,
    audit,
    closing,
    commands,
    deadlines,
    dossier,
    erasure,
    handover,
    notification,
    operations,
    pauses,
    reception,
    withdrawal,
)
from shared.events.registry import (
    REGISTRY,
    EventData,
    InvalidEventData,
    UnknownEventType,
    make_envelope,
    parse_data,
)

__all__ = [
    "REGISTRY",
    "EventData",
    "InvalidEventData",
    "UnknownEventType",
    "applicant",
    "audit",
    "closing",
    "commands",
    "deadlines",
    "dossier",
    "erasure",
    "handover",
    "make_envelope",
    "notification",
    "operations",
    "parse_data",
    "pauses",
    "reception",
    "withdrawal",
]
