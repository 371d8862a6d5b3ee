"""The CloudEvents 1.0 envelope every message travels in, and its byte form on Kafka.

Attributes follow CloudEvents (``id``, ``source``, ``type``, ``subject``, ``time``,
``specversion``, ``datacontenttype``) plus the extensions ``correlationid`` and
``causationid``. ``data`` is the versioned event model, kept here as a plain dict so
the envelope can be decoded before the type is known.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SPEC_VERSION: Final = "1.0"
JSON_CONTENT_TYPE = "application/json"


class MalformedMessage(ValueError):
    """Bytes that are not a valid envelope; ``reason`` says why."""

    # Its reasons are built from the envelope's type and the parser's or pydantic's
    # words; one raised from a validation error is described from that error's fields
    # where personal data may be (``shared.error_text``).
    message_in_clear: ClassVar[bool] = True

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


EVENT_ID_MAX = 128  # characters of an event id (an HTTP idempotency key becomes one)


class Envelope(BaseModel):
    """A CloudEvents 1.0 structured-mode event with correlation and causation ids.

    Attributes it does not know (CloudEvents extensions a producer's SDK adds, such as
    ``partitionkey`` or ``dataschema``) are ignored, not refused."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(min_length=1, max_length=EVENT_ID_MAX, description="Unique event id (UUID).")
    source: str = Field(min_length=1, max_length=256, description="Producing service URI.")
    type: str = Field(
        min_length=1, max_length=128, description="Event type, e.g. dossier.received.v1."
    )
    subject: str = Field(min_length=1, max_length=128, description="Dossier code (the Kafka key).")
    time: datetime = Field(description="When the fact happened (UTC).")
    specversion: Literal["1.0"] = Field(SPEC_VERSION, description="CloudEvents version.")
    datacontenttype: str = Field(JSON_CONTENT_TYPE, description="Media type of data.")
    correlationid: str = Field(min_length=1, max_length=128, description="Id of the whole flow.")
    causationid: str | None = Field(
        None, max_length=128, description="Id of the message that caused this one."
    )
    data: dict[str, Any] = Field(default_factory=dict, description="The versioned event payload.")

    @field_validator("time")
    @classmethod
    def _aware_time(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("time must carry a timezone")
        return value.astimezone(UTC)

    def to_bytes(self) -> bytes:
        """Serialise to compact UTF-8 JSON."""
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> Envelope:
        """Parse bytes into an envelope, or raise MalformedMessage with the reason.

        Parsed and validated in one pass by pydantic-core (every consumed record comes
        here): half the CPU of ``json.loads`` and then validating the objects it built.
        """
        if not raw:
            raise MalformedMessage("empty message")
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            if first["type"] == "json_invalid":
                raise MalformedMessage(f"not JSON: {first['msg']}") from exc
            if first["type"] == "model_type" and not first["loc"]:
                raise MalformedMessage("envelope must be a JSON object") from exc
            where = ".".join(str(p) for p in first["loc"]) or "envelope"
            raise MalformedMessage(f"invalid envelope at {where}: {first['msg']}") from exc


def salvaged(raw: bytes | None, now: datetime) -> Envelope | None:
    """What can be read of a message that is not a valid envelope, so its sender can be
    answered: its ``id`` and ``subject`` (both needed, else None), and its other
    attributes where they are usable; ``time`` is ``now``. JSON nested deeper than the
    parser's recursion limit is unreadable too (``RecursionError``): raised, it would
    stop the consumer on that record for good."""
    try:
        body = json.loads(raw or b"")
    except (ValueError, RecursionError):
        return None
    if not isinstance(body, dict):
        return None

    def text(name: str, limit: int, default: str | None = None) -> str | None:
        value = body.get(name)
        return value if isinstance(value, str) and 0 < len(value) <= limit else default

    event_id, subject = text("id", EVENT_ID_MAX), text("subject", 128)
    if event_id is None or subject is None:
        return None
    data = body.get("data")
    return Envelope(
        id=event_id,
        source=text("source", 256, "unknown"),
        type=text("type", 128, "unknown"),
        subject=subject,
        time=now,
        correlationid=text("correlationid", 128, event_id),
        data=data if isinstance(data, dict) else {},
    )


def new_event_id() -> str:
    """A fresh event id."""
    return str(uuid.uuid4())


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)
