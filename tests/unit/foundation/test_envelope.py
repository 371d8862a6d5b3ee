"""The envelope and the event registry: round trips and clear refusals."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from shared.envelope import Envelope, MalformedMessage, salvaged
from shared.events import REGISTRY, parse_data
from shared.events.commands import AcceptTransfer
from shared.events.deadlines import ApologyNotice, DossierOverdue
from shared.events.dossier import DossierState
from shared.events.registry import InvalidEventData, UnknownEventType, make_envelope

CODE = "000.00.01.H59-261126-0001"


def overdue() -> DossierOverdue:
    return DossierOverdue(
        dossier_code=CODE,
        state=DossierState.PROCESSING,
        holding_unit="000.06.31.H59",
        appointment_date=date(2026, 12, 1),
        new_appointment_date=date(2026, 12, 8),
        detected_at=datetime(2026, 12, 2, 1, tzinfo=UTC),
        apology=ApologyNotice(
            issuing_unit="000.06.31.H59",
            reason="site inspection delayed",
            original_appointment_date=date(2026, 12, 1),
            new_appointment_date=date(2026, 12, 8),
        ),
    )


def test_envelope_round_trips_through_bytes() -> None:
    cause = make_envelope(overdue(), source="/lienthong/routing")
    event = make_envelope(overdue(), source="/lienthong/notification", cause=cause)
    assert Envelope.from_bytes(event.to_bytes()) == event
    assert parse_data(event) == overdue()
    assert event.correlationid == cause.correlationid
    assert event.causationid == cause.id
    assert event.subject == CODE
    assert event.specversion == "1.0"


def test_a_flow_starts_its_own_correlation() -> None:
    event = make_envelope(overdue(), source="/x")
    assert event.correlationid == event.id and event.causationid is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty message"),
        (b"\x00\x01", "not JSON"),
        (b"[1, 2]", "envelope must be a JSON object"),
        (b'{"id": "x"}', "invalid envelope at source"),
    ],
)
def test_malformed_bytes_are_refused_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        Envelope.from_bytes(raw)


def test_naive_time_and_other_spec_versions_are_refused() -> None:
    body = json.loads(make_envelope(overdue(), source="/x").to_bytes())
    with pytest.raises(MalformedMessage, match="time"):
        Envelope.from_bytes(json.dumps({**body, "time": "2026-11-26T09:00:00"}).encode())
    with pytest.raises(MalformedMessage, match="specversion"):
        Envelope.from_bytes(json.dumps({**body, "specversion": "0.3"}).encode())


def test_attributes_we_do_not_know_are_ignored() -> None:
    event = make_envelope(overdue(), source="/x")
    extended = {**json.loads(event.to_bytes()), "partitionkey": CODE, "dataschema": "s"}
    assert Envelope.from_bytes(json.dumps(extended).encode()) == event


def test_a_broken_envelope_naming_its_id_and_subject_can_be_answered() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    body = json.loads(make_envelope(overdue(), source="/agency").to_bytes())
    broken = {**body, "time": "2026-11-26T09:00:00", "correlationid": 7, "data": [1]}
    readable = salvaged(json.dumps(broken).encode(), now)
    assert readable is not None
    assert (readable.id, readable.subject, readable.type, readable.source) == (
        body["id"],
        CODE,
        body["type"],
        "/agency",
    )
    assert (readable.time, readable.correlationid, readable.data) == (now, body["id"], {})
    for unreadable in (b"\x00", b"[1]", json.dumps({**body, "subject": ""}).encode()):
        assert salvaged(unreadable, now) is None
    assert salvaged(json.dumps({**body, "id": "x" * 129}).encode(), now) is None


def test_json_nested_past_the_parsers_limit_is_unreadable_not_an_error() -> None:
    """A message nested deeper than ``json`` recurses raised RecursionError from here,
    which stopped routing's consumer on that record for good (retried as an outage)."""
    deep = b'{"id": "c-1", "subject": "D-1", "data": {"x": ' + b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(MalformedMessage):
        Envelope.from_bytes(deep + b"}}")
    assert salvaged(deep + b"}}", datetime(2026, 12, 1, tzinfo=UTC)) is None


def test_unknown_type_and_invalid_data_are_refused() -> None:
    event = make_envelope(overdue(), source="/x")
    with pytest.raises(UnknownEventType, match=r"unknown event type 'dossier\.vanished\.v1'"):
        parse_data(event.model_copy(update={"type": "dossier.vanished.v1"}))
    with pytest.raises(InvalidEventData, match=r"data\.new_appointment_date"):
        parse_data(event.model_copy(update={"data": {**event.data, "new_appointment_date": "x"}}))


def test_every_contract_declares_its_topic_and_subject() -> None:
    for event_type, model in REGISTRY.items():
        assert event_type == model.EVENT_TYPE
        assert model.TOPIC.name in {
            "dossier.events",
            "dossier.commands",
            "notification.events",
            "applicant.contacts",
            "audit.events",
            "operations.events",
        }


def test_a_command_whose_subject_is_not_its_dossier_is_refused() -> None:
    """The subject keys the record (a dossier's commands in order): a command may not
    name one dossier there and act on another."""
    command = AcceptTransfer(dossier_code="001.21.31.H59-260302-0001", unit="000.00.31.H59")
    envelope = make_envelope(command, source="/agency/000.00.31.H59")
    assert parse_data(envelope) == command
    elsewhere = envelope.model_copy(update={"subject": "001.21.31.H59-260302-0002"})
    with pytest.raises(InvalidEventData, match="is not the data's"):
        parse_data(elsewhere)
    fact = make_envelope(overdue(), source="/tests")  # facts are the services' own
    assert parse_data(fact.model_copy(update={"subject": "other"})) == overdue()
