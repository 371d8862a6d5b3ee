"""Registry of typed, versioned event models and the envelope helpers around them.

An event type is ``<subject>.<fact>.v<N>``; a new version is a new model and the old
one stays registered, so old messages remain readable.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, TypeVar

from pydantic import ConfigDict, ValidationError

from shared.envelope import Envelope, MalformedMessage, new_event_id, utc_now
from shared.text import CleanText
from shared.topics import TopicSpec


class ContractModel(CleanText):
    """Base of every model that is part of a published contract: strict and immutable.

    Strings are NFC-normalised and bidirectional controls refused (``shared.text``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")


class EventData(ContractModel):
    """Base of every event and command payload."""

    EVENT_TYPE: ClassVar[str]
    TOPIC: ClassVar[TopicSpec]
    DEPRECATED: ClassVar[bool] = False  # readable, no longer emitted (a newer version is)
    # Sent by others (agency systems' commands): the envelope's subject, which keys the
    # record (per-dossier order), must name what the data is about.
    SUBJECT_CHECKED: ClassVar[bool] = False

    def subject(self) -> str:
        """The envelope subject and Kafka key (the dossier code for dossier messages)."""
        raise NotImplementedError


class UnknownEventType(MalformedMessage):
    """The envelope's type is not a registered contract."""


class InvalidEventData(MalformedMessage):
    """The envelope's data does not match its contract."""


REGISTRY: dict[str, type[EventData]] = {}

E = TypeVar("E", bound=type[EventData])


def register(cls: E) -> E:
    """Class decorator adding a contract to the registry (one model per type)."""
    event_type = cls.EVENT_TYPE
    if event_type in REGISTRY:
        raise ValueError(f"event type {event_type} registered twice")
    REGISTRY[event_type] = cls
    return cls


def parse_data(envelope: Envelope) -> EventData:
    """Validate the envelope's data against its registered contract."""
    model = REGISTRY.get(envelope.type)
    if model is None:
        raise UnknownEventType(f"unknown event type {envelope.type!r}")
    try:
        data = model.model_validate(envelope.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "data"
        raise InvalidEventData(f"invalid {envelope.type} at data.{where}: {first['msg']}") from exc
    if model.SUBJECT_CHECKED and data.subject() != envelope.subject:
        raise InvalidEventData(
            f"invalid {envelope.type}: subject {envelope.subject!r} is not the data's "
            f"{data.subject()!r}"
        )
    return data


def make_envelope(
    data: EventData,
    *,
    source: str,
    cause: Envelope | None = None,
    correlationid: str | None = None,
    time: datetime | None = None,
    event_id: str | None = None,
) -> Envelope:
    """Wrap a payload in an envelope; a cause passes on its correlation id."""
    event_id = event_id or new_event_id()
    correlation = correlationid or (cause.correlationid if cause else event_id)
    return Envelope(
        id=event_id,
        source=source,
        type=data.EVENT_TYPE,
        subject=data.subject(),
        time=time or utc_now(),
        correlationid=correlation,
        causationid=cause.id if cause else None,
        data=data.model_dump(mode="json"),
    )
