"""A dead letter of a topic that may carry personal data keeps, and logs above DEBUG, its
error without the values it quotes: a validation error's fields and kinds, a refusal's
code, another exception's class and where it was raised, never the applicant's name,
e-mail address or phone number. A topic without personal data keeps the whole error."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, Field, ValidationError, field_validator

from shared.catalogue.model import CatalogueLookupError
from shared.clock import ManualClock
from shared.envelope import Envelope, MalformedMessage
from shared.error_text import masked, redacted_error_text
from shared.events.registry import InvalidEventData, UnknownEventType, parse_data
from shared.kafka.deadletter import DeadLetterWriter
from shared.refusals import Refused
from shared.settings import KafkaSettings
from shared.telemetry.messaging import KafkaHeaders
from shared.topics import APPLICANT_CONTACTS, AUDIT_EVENTS, DOSSIER_EVENTS, TopicSpec, topic_name

NAME, EMAIL, PHONE = "Nguyễn Thị Hoa", "hoa.nguyen@example.vn", "0912345678"
PERSONAL = (NAME, EMAIL, PHONE, "0912 345 678", "Hoa")
PREFIX = "t-"


class Published:
    def __init__(self) -> None:
        self.headers: dict[str, str] = {}

    async def publish_raw(
        self, topic: str, value: bytes | None, *, key: str | bytes | None, headers: KafkaHeaders
    ) -> object:
        self.headers = {k: v.decode() for k, v in headers}
        return None


class Contact(BaseModel):
    name: str = Field(max_length=5)
    phone: str

    @field_validator("phone")
    @classmethod
    def a_phone(cls, value: str) -> str:
        raise ValueError(f"not a phone number: {value}")


def contact_error() -> ValidationError:
    try:
        Contact.model_validate({"name": NAME, "phone": PHONE})
    except ValidationError as exc:
        return exc
    raise AssertionError("valid")


def handler_error() -> ValueError:
    def on_contact() -> None:
        raise ValueError(f"no contact for {NAME} <{EMAIL}>, tel. '0912 345 678'")

    try:
        on_contact()
    except ValueError as exc:
        return exc
    raise AssertionError("did not raise")


def invalid_contract() -> InvalidEventData:
    envelope = Envelope(
        id="e-1",
        source="intake",
        type="applicant.contact.registered.v1",
        subject="D-1",
        time=datetime(2026, 12, 1, tzinfo=UTC),
        correlationid="e-1",
        data={
            "dossier_code": "D-1",
            "contact": {"name": NAME, "phone": f"{PHONE} {PHONE} {PHONE}"},
            "registered_at": "2026-12-01T00:00:00Z",
        },
    )
    try:
        parse_data(envelope)
    except InvalidEventData as exc:
        return exc
    raise AssertionError("valid")


async def written(topic: TopicSpec, error: Exception) -> dict[str, str]:
    published = Published()
    writer = DeadLetterWriter(
        published,
        KafkaSettings(topic_prefix=PREFIX),
        ManualClock(datetime(2026, 12, 1, tzinfo=UTC)),
        "notification",
    )
    await writer.write_message(
        original_topic=topic_name(PREFIX, topic),
        key="D-1",
        value=b"{}",
        error=error,
        kind="handler_failed",
        attempts=3,
        consumer_group="t-notification",
    )
    return published.headers


def assert_nothing_personal(text: str) -> None:
    for value in PERSONAL:
        assert value not in text, (value, text)


async def test_a_validation_error_keeps_its_fields_and_kinds_not_the_values() -> None:
    headers = await written(APPLICANT_CONTACTS, contact_error())
    error = headers["dlq_error"]
    assert_nothing_personal(error)
    assert headers["dlq_error_redacted"] == "true"
    assert error.startswith("ValidationError: 2 validation errors for Contact: ")
    # What an operator acts on: which field, what kind, the schema's own words.
    assert "name [string_too_long] String should have at most 5 characters" in error
    assert "phone [value_error] message withheld" in error  # the validator's own words


async def test_a_handler_exception_keeps_its_class_and_where_it_was_raised() -> None:
    headers = await written(DOSSIER_EVENTS, handler_error())
    error = headers["dlq_error"]
    assert_nothing_personal(error)
    assert error.startswith("ValueError at tests/unit/shared/test_dead_letter_errors.py:")
    assert " in on_contact: message withheld" in error


async def test_a_contract_violation_names_the_field_behind_it() -> None:
    error = (await written(APPLICANT_CONTACTS, invalid_contract()))["dlq_error"]
    assert_nothing_personal(error)
    assert error.startswith("InvalidEventData: 1 validation error for ")
    assert "contact.phone [string_too_long] String should have at most 20 characters" in error


async def test_a_topic_without_personal_data_keeps_the_whole_error() -> None:
    headers = await written(AUDIT_EVENTS, handler_error())
    assert headers["dlq_error"] == f"ValueError: {handler_error()}"
    assert "dlq_error_redacted" not in headers


async def test_the_log_line_above_debug_quotes_no_personal_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="shared.kafka.deadletter"):
        await written(APPLICANT_CONTACTS, handler_error())
    above = [r for r in caplog.records if r.levelno > logging.DEBUG]
    assert [r.getMessage() for r in above] == ["dead-lettered message"]
    for record in above:
        assert_nothing_personal(str(record.__dict__))
    # The whole error, for whoever debugs with DEBUG on (never in production).
    assert any(NAME in str(r.__dict__) for r in caplog.records if r.levelno == logging.DEBUG)


def test_refusals_say_their_code_and_errors_in_clear_are_kept_whole() -> None:
    refused = Refused("unknown_unit", f"{NAME} asked for an unknown unit", field="unit")
    assert redacted_error_text(refused) == "Refused: code unknown_unit, field unit"
    unknown = UnknownEventType("unknown event type 'dossier.teleported.v1'")
    assert redacted_error_text(unknown) == f"UnknownEventType: {unknown}"
    lookup = CatalogueLookupError("unknown procedure '9.999999' in configuration 'demo'")
    assert redacted_error_text(lookup) == f"CatalogueLookupError: {lookup}"
    # Raised from a validation error: described from that error, whatever its reason says.
    try:
        Envelope.from_bytes(b'{"id": "x"')
    except MalformedMessage as exc:
        assert redacted_error_text(exc) == (
            "MalformedMessage: 1 validation error for Envelope: (root) [json_invalid] "
            "Invalid JSON: EOF while parsing an object at line 1 column 10"
        )


def test_values_in_free_text_are_masked() -> None:
    text = f'dup key: {{ email: "{EMAIL}" }} from {EMAIL}, call +84 912 345 678 or 0912.345.678'
    shown = masked(text)
    assert_nothing_personal(shown)
    assert shown == (
        "dup key: { email: <withheld> } from <withheld>, call <withheld> or <withheld>"
    )
    assert masked("attempt 3 of 5 at data.items.12") == "attempt 3 of 5 at data.items.12"
