"""Event and command contracts, shared by producers and consumers.

Importing this package registers every contract in ``registry.REGISTRY``.
"""

from shared.events import applicant, audit, commands, dossier, notification, operations
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
    "commands",
    "dossier",
    "make_envelope",
    "notification",
    "operations",
    "parse_data",
]
