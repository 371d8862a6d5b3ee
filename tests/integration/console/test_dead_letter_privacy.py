"""Dead letters of topics carrying personal data are listed with their metadata but
without their message (an outline: envelope attributes and data field names), and
without any value their error quotes (as written: a validation error's fields and kinds,
a handler exception's class and where it was raised; a letter kept from before writers
redacted: its error's class alone); other topics' messages are shown. Through the
console's API, against the real broker."""

from __future__ import annotations

import json

from console.config import ConsoleSettings
from console.main import create_app
from fastapi import FastAPI
from pydantic import ValidationError

from shared.error_text import OLD_ERROR_WITHHELD
from shared.events.applicant import ContactDetails
from shared.kafka.deadletter import DeadLetter, read_dead_letters
from shared.runtime import CommonSettings
from shared.testing import ActAs, eventually, running_app
from shared.topics import (
    APPLICANT_CONTACTS,
    AUDIT_EVENTS,
    DEAD_LETTERS,
    DOSSIER_EVENTS,
    TopicSpec,
    agency_commands,
    topic_name,
)
from tests.samples import contact, envelope_of, registered, transfer_requested

CODE = "000.00.01.H59-261130-0088"
NAME, EMAIL, PHONE = "Nguyễn Thị Hoa", "hoa.nguyen@example.vn", "0912345678"
# What pydantic writes when it refuses a value: the value itself.
QUOTING_ERROR = (
    "1 validation error for ContactDetails\nphone\n  Value error, not a phone number "
    f"[type=value_error, input_value='{PHONE}', input_type=str]"
)


def refused_contact() -> ValidationError:
    """pydantic's own error for a phone too long: its text quotes the phone."""
    try:
        ContactDetails.model_validate({"name": NAME, "phone": f"{PHONE} {PHONE} {PHONE}"})
    except ValidationError as exc:
        assert PHONE in str(exc)
        return exc
    raise AssertionError("accepted")


def handler_failure() -> ValueError:
    """A handler's exception naming the applicant."""

    def on_transfer() -> None:
        raise ValueError(f"no contact for {NAME} <{EMAIL}>")

    try:
        on_transfer()
    except ValueError as exc:
        return exc
    raise AssertionError("did not raise")


async def write_kept_before(app: FastAPI, prefix: str) -> None:
    """A dead letter as writers kept them before they redacted errors: its error whole."""
    headers = [
        ("dlq_original_topic", topic_name(prefix, APPLICANT_CONTACTS).encode()),
        ("dlq_original_partition", b"1"),
        ("dlq_original_offset", b"7"),
        ("dlq_consumer_group", f"{prefix}notification".encode()),
        ("dlq_error", f"ValueError: {QUOTING_ERROR}".encode()),
        ("dlq_error_kind", b"handler_failed"),
        ("dlq_attempts", b"3"),
        ("dlq_failed_at", b"2026-11-30T09:00:00+07:00"),
    ]
    await app.state.runtime.publisher.publish_raw(
        topic_name(prefix, DEAD_LETTERS), b"{}", key=CODE, headers=headers
    )


async def test_personal_topics_letters_are_listed_without_their_message(
    common_settings: CommonSettings,
) -> None:
    prefix = common_settings.kafka.topic_prefix
    person = contact(name=NAME, email=EMAIL, phone=PHONE)
    cases: list[tuple[TopicSpec, bytes, Exception]] = [
        (APPLICANT_CONTACTS, envelope_of(registered(CODE, person)).to_bytes(), refused_contact()),
        (DOSSIER_EVENTS, envelope_of(transfer_requested(CODE)).to_bytes(), handler_failure()),
        (agency_commands("001.21.31.H59"), b'{"note": "' + NAME.encode() + b'"}', KeyError(NAME)),
        (AUDIT_EVENTS, b'{"checkpoint": 12}', ValueError("audit failed")),
    ]
    app = create_app(ConsoleSettings(**common_settings.model_dump()))
    async with running_app(app, ActAs("operations")) as desk:
        for n, (spec, value, error) in enumerate(cases):
            await app.state.runtime.dead_letters.write_message(
                original_topic=topic_name(prefix, spec),
                key=CODE,
                value=value,
                error=error,
                kind="contract_violation",
                attempts=1,
                consumer_group=f"{prefix}notification",
                original_partition=2,
                original_offset=40 + n,
            )

        await write_kept_before(app, prefix)

        async def letters() -> list[DeadLetter] | None:
            found = await read_dead_letters(common_settings.kafka)
            return found if len(found) == len(cases) + 1 else None

        await eventually(letters)
        answer = await desk.get("/api/deadletters")
    assert answer.status_code == 200, answer.text
    kept_before = [item for item in answer.json()["items"] if item["original_offset"] == 7]
    items = {item["original_topic"]: item for item in answer.json()["items"]}
    items[topic_name(prefix, APPLICANT_CONTACTS)] = next(
        item for item in answer.json()["items"] if item["original_offset"] == 40
    )

    contacts = items[topic_name(prefix, APPLICANT_CONTACTS)]
    assert contacts["message"] is None
    assert "phone numbers" in contacts["message_withheld"]
    outline = contacts["message_outline"]
    assert outline["type"] == "applicant.contact.registered.v1" and outline["subject"] == CODE
    assert "contact" in outline["data_fields"] or "applicant" in outline["data_fields"]
    # The metadata stays: where it was, why, how often, whose.
    assert (contacts["key"], contacts["original_partition"], contacts["original_offset"]) == (
        CODE,
        2,
        40,
    )
    assert contacts["error_kind"] == "contract_violation" and contacts["attempts"] == 1
    assert contacts["event_type"] == "applicant.contact.registered.v1"
    # The error says which field and what was wrong with it, not the value.
    assert contacts["error"] == (
        "ValidationError: 1 validation error for ContactDetails: "
        "phone [string_too_long] String should have at most 20 characters"
    )
    assert contacts["headers"]["dlq_error"] == contacts["error"]
    dossier = items[topic_name(prefix, DOSSIER_EVENTS)]["error"]
    assert dossier.startswith("ValueError at tests/integration/console/test_dead_letter_privacy")
    assert dossier.endswith(" in on_transfer: message withheld (personal data may be in it)")
    # A letter kept before: the class of its error alone, in the header too.
    [before] = kept_before
    assert before["error"] == f"ValueError: {OLD_ERROR_WITHHELD}"
    assert before["headers"]["dlq_error"] == before["error"]

    for topic in (DOSSIER_EVENTS, agency_commands("001.21.31.H59")):
        item = items[topic_name(prefix, topic)]
        assert item["message"] is None and item["message_withheld"]
    assert items[topic_name(prefix, DOSSIER_EVENTS)]["message_outline"]["type"] == (
        "dossier.transfer.requested.v1"
    )
    # Nothing of the person anywhere in the answer, headers included.
    shown = json.dumps(answer.json(), ensure_ascii=False)
    for personal in (NAME, EMAIL, PHONE):
        assert personal not in shown

    audit = items[topic_name(prefix, AUDIT_EVENTS)]
    assert audit["message"] == '{"checkpoint": 12}' and audit["message_withheld"] is None
    assert audit["error"] == "ValueError: audit failed"  # no personal data: the whole error
