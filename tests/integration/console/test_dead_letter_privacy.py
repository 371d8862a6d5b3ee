"""Dead letters of topics carrying personal data are listed with their metadata but
without their message (an outline: envelope attributes and data field names), and
without the values a validation error quotes; other topics' messages are shown. Through
the console's API, against the real broker."""

from __future__ import annotations

import json

from console.config import ConsoleSettings
from console.main import create_app

from shared.kafka.deadletter import DeadLetter, read_dead_letters
from shared.runtime import CommonSettings
from shared.testing import ActAs, eventually, running_app
from shared.topics import (
    APPLICANT_CONTACTS,
    AUDIT_EVENTS,
    DOSSIER_EVENTS,
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


async def test_personal_topics_letters_are_listed_without_their_message(
    common_settings: CommonSettings,
) -> None:
    prefix = common_settings.kafka.topic_prefix
    person = contact(name=NAME, email=EMAIL, phone=PHONE)
    cases = [
        (APPLICANT_CONTACTS, envelope_of(registered(CODE, person)).to_bytes(), QUOTING_ERROR),
        (DOSSIER_EVENTS, envelope_of(transfer_requested(CODE)).to_bytes(), "routing failed"),
        (agency_commands("001.21.31.H59"), b'{"note": "' + NAME.encode() + b'"}', "bad"),
        (AUDIT_EVENTS, b'{"checkpoint": 12}', "audit failed"),
    ]
    app = create_app(ConsoleSettings(**common_settings.model_dump()))
    async with running_app(app, ActAs("operations")) as desk:
        for n, (spec, value, error) in enumerate(cases):
            await app.state.runtime.dead_letters.write_message(
                original_topic=topic_name(prefix, spec),
                key=CODE,
                value=value,
                error=ValueError(error),
                kind="contract_violation",
                attempts=1,
                consumer_group=f"{prefix}notification",
                original_partition=2,
                original_offset=40 + n,
            )

        async def letters() -> list[DeadLetter] | None:
            found = await read_dead_letters(common_settings.kafka)
            return found if len(found) == len(cases) else None

        await eventually(letters)
        answer = await desk.get("/api/deadletters")
    assert answer.status_code == 200, answer.text
    items = {item["original_topic"]: item for item in answer.json()["items"]}

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
    assert "input_value=<withheld>" in contacts["error"]
    assert "not a phone number" in contacts["error"]

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
