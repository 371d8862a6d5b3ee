"""Recipient rules: who is told about which event, on which channel; subscriptions; pausing."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from notification.config import DEFAULT_UNIT_CHANNELS, load_unit_directory
from notification.domain import (
    APPLICANT_EVENTS,
    RecipientKind,
    UnitChannel,
    UnitDirectory,
    applicant_addresses,
    contact_of,
    forwardable,
    plan_for_applicant,
    plan_for_subscribers,
    plan_for_units,
    units_of,
)
from notification.retry import Outcome
from notification.settling import settlement
from notification.subscription_rules import (
    SubscriptionStatus,
    SubscriptionView,
    check_event_types,
    should_pause,
    subscribable_event_types,
    subscription_matches,
)

from shared.events.dossier import Channel, Language
from shared.events.notification import NotificationSent
from shared.events.registry import EventData
from shared.refusals import Refused
from tests.samples import (
    AT,
    COMMUNE_DESK,
    DISTRICT_LAND,
    contact,
    done,
    envelope_of,
    received,
    received_v1,
    registered,
    sample_for,
    step_due_soon,
    step_overdue,
    submitted,
    transfer_accepted,
    transfer_requested,
)

KEY = "test-key"
CODE = "001.21.31.H59-261126-0001"
DIRECTORY = UnitDirectory.model_validate(
    {
        "schema": 1,
        "version": "t",
        "default": {"email": "desk@units.example"},
        "units": {DISTRICT_LAND: {"email": "land@units.example", "language": "en"}},
    }
)


def view(
    sid: str = "s1",
    types: tuple[str, ...] = ("dossier.received.v2",),
    units: tuple[str, ...] = (),
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE,
) -> SubscriptionView:
    return SubscriptionView(
        id=sid, event_types=types, units=units, status=status, url="https://a.example/hook"
    )


@pytest.mark.parametrize("module", ["domain.py", "subscription_rules.py"])
def test_domain_imports_nothing_that_does_io(module: str) -> None:
    tree = ast.parse(Path("services/notification", module).read_text())
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    forbidden = ("pymongo", "aiokafka", "httpx", "aiosmtplib", "asyncio", "socket", "fastapi")
    assert not [m for m in imported if m.startswith(forbidden)]


@pytest.mark.parametrize(
    ("channels", "email", "phone", "expected"),
    [
        ((Channel.EMAIL, Channel.SMS), "a@x.vn", "0901", [Channel.EMAIL, Channel.SMS]),
        ((Channel.SMS,), "a@x.vn", "0901", [Channel.SMS]),
        ((), "a@x.vn", "0901", [Channel.EMAIL]),  # no preference: email first
        ((), None, "0901", [Channel.SMS]),
        ((Channel.SMS,), "a@x.vn", None, []),  # chose SMS but gave no phone
        ((Channel.WEBHOOK, Channel.EMAIL), "a@x.vn", None, [Channel.EMAIL]),
        ((Channel.EMAIL, Channel.EMAIL), "a@x.vn", None, [Channel.EMAIL]),
        ((), None, None, []),
    ],
)
def test_applicant_channels_follow_preferences_and_known_addresses(
    channels: tuple[Channel, ...], email: str | None, phone: str | None, expected: list[Channel]
) -> None:
    person = contact(email=email, phone=phone, channels=channels)
    assert [c for c, _ in applicant_addresses(person)] == expected


@pytest.mark.parametrize("event_type", sorted(APPLICANT_EVENTS))
def test_applicant_is_told_on_each_step_that_concerns_them(event_type: str) -> None:
    person = contact(language=Language.EN)
    planned = plan_for_applicant(event_type, person, KEY)

    assert [(p.channel, p.template, p.language) for p in planned] == [
        (Channel.EMAIL, event_type, Language.EN),
        (Channel.SMS, event_type, Language.EN),
    ]
    email, sms = planned
    assert email.address == "an.nguyen@example.vn" and sms.address == "0901234567"
    assert email.display == "a***@e***.vn" and sms.display == "*******567"
    assert email.recipient_ref.startswith("applicant:")
    assert "an.nguyen" not in email.recipient_ref and "0901234567" not in sms.recipient_ref
    assert email.recipient_ref != sms.recipient_ref
    assert email.recipient_name == "Nguyễn Văn An"


@pytest.mark.parametrize(
    "event_type",
    [
        "dossier.submitted.v2",
        "dossier.intake.supplement.provided.v1",  # the applicant's own act
        "dossier.supplement.provided.v1",
        "dossier.transfer.accepted.v1",
        "dossier.done.v1",
        "x.y.v1",
    ],
)
def test_applicant_is_not_told_about_internal_steps(event_type: str) -> None:
    assert plan_for_applicant(event_type, contact(), KEY) == []


def test_no_contact_no_applicant_message() -> None:
    assert plan_for_applicant("dossier.received.v2", None, KEY) == []


def test_recipient_ref_is_stable_and_keyed() -> None:
    one = plan_for_applicant("dossier.received.v2", contact(), KEY)[0].recipient_ref
    again = plan_for_applicant("dossier.stopped.v1", contact(), KEY)[0].recipient_ref
    other_key = plan_for_applicant("dossier.received.v2", contact(), "other")[0].recipient_ref
    assert one == again != other_key


def test_contact_comes_from_its_registration_or_an_old_v1_fact_only() -> None:
    person = contact()
    assert contact_of(registered(CODE, person)) == person
    assert contact_of(received_v1(CODE, person)) == person  # deprecated, still readable
    assert contact_of(received(CODE)) is None
    assert contact_of(submitted(CODE)) is None
    assert contact_of(sample_for("dossier.denied.v2")) is None
    assert contact_of(done(CODE)) is None


def test_dossier_facts_agencies_read_carry_no_name_and_no_contact() -> None:
    for fact in (received(CODE), submitted(CODE), sample_for("dossier.denied.v2")):
        applicant = fact.model_dump()["applicant"]
        assert set(applicant) == {"identity_hash"}


def test_agencies_cannot_subscribe_to_contacts_or_deprecated_versions() -> None:
    types = subscribable_event_types()
    assert "applicant.contact.registered.v1" not in types
    assert "dossier.received.v1" not in types and "dossier.received.v2" in types


def test_unit_that_must_accept_a_transfer_is_told_in_its_language() -> None:
    [planned] = plan_for_units("dossier.transfer.requested.v1", transfer_requested(CODE), DIRECTORY)
    assert planned.recipient_kind is RecipientKind.UNIT
    assert planned.recipient_ref == f"unit:{DISTRICT_LAND}"
    assert (planned.address, planned.language) == ("land@units.example", Language.EN)
    assert planned.template == "dossier.transfer.requested.v1"


def test_overdue_step_tells_its_unit_and_unlisted_units_use_the_default() -> None:
    data = step_overdue(CODE).model_copy(update={"unit": COMMUNE_DESK})
    [planned] = plan_for_units("dossier.step.overdue.v1", data, DIRECTORY)
    assert (planned.address, planned.language) == ("desk@units.example", Language.VI)


def test_a_step_due_soon_tells_the_unit_named_in_the_event() -> None:
    [planned] = plan_for_units("dossier.step.due_soon.v1", step_due_soon(CODE), DIRECTORY)
    assert planned.recipient_kind is RecipientKind.UNIT
    assert planned.recipient_ref == f"unit:{DISTRICT_LAND}"
    assert (planned.address, planned.language) == ("land@units.example", Language.EN)
    assert planned.template == "dossier.step.due_soon.v1"
    at_desk = step_due_soon(CODE).model_copy(update={"unit": COMMUNE_DESK})
    [desk] = plan_for_units("dossier.step.due_soon.v1", at_desk, DIRECTORY)
    assert desk.address == "desk@units.example"


def test_units_are_not_told_about_facts_they_need_not_act_on() -> None:
    assert plan_for_units("dossier.transfer.accepted.v1", transfer_accepted(CODE), DIRECTORY) == []
    no_email = DIRECTORY.model_copy(update={"default": UnitChannel(email=None), "units": {}})
    assert plan_for_units("dossier.step.overdue.v1", step_overdue(CODE), no_email) == []


def test_shipped_unit_channel_file_loads_and_covers_receiving_desks() -> None:
    directory = load_unit_directory(DEFAULT_UNIT_CHANNELS)
    raw = json.loads(DEFAULT_UNIT_CHANNELS.read_text())
    assert raw["schema"] == 1 and directory.version == raw["version"]
    assert directory.default.email
    assert directory.channel_for(COMMUNE_DESK).email != directory.default.email
    assert all(c.email and c.email.endswith(".example") for c in directory.units.values())


def test_units_of_names_every_unit_field() -> None:
    assert units_of(transfer_requested(CODE)) == {COMMUNE_DESK, DISTRICT_LAND}
    assert units_of(step_overdue(CODE)) == {DISTRICT_LAND}


@pytest.mark.parametrize(
    ("sub", "event_type", "units", "matches"),
    [
        (view(), "dossier.received.v2", {COMMUNE_DESK}, True),
        (view(), "dossier.stopped.v1", {COMMUNE_DESK}, False),
        (view(units=(COMMUNE_DESK,)), "dossier.received.v2", {COMMUNE_DESK, "x"}, True),
        (view(units=(DISTRICT_LAND,)), "dossier.received.v2", {COMMUNE_DESK}, False),
        (view(units=(DISTRICT_LAND,)), "dossier.received.v2", set(), False),
    ],
)
def test_subscription_matches_type_and_units(
    sub: SubscriptionView, event_type: str, units: set[str], matches: bool
) -> None:
    assert subscription_matches(sub, event_type, units) is matches


def test_subscribers_get_matching_events_and_paused_ones_are_held() -> None:
    subs = [
        view("a"),
        view("b", status=SubscriptionStatus.PAUSED),
        view("c", types=("dossier.stopped.v1",)),
    ]
    planned = plan_for_subscribers("dossier.received.v2", received(CODE), subs)
    assert [(p.subscription_id, p.held, p.channel) for p in planned] == [
        ("a", False, Channel.WEBHOOK),
        ("b", True, Channel.WEBHOOK),
    ]
    assert planned[0].recipient_ref == "subscription:a"
    assert planned[0].template is None


def outcome(kind: str) -> NotificationSent:
    return NotificationSent(
        notification_id="n",
        dossier_code=CODE,
        source_event_id="e",
        source_event_type="dossier.received.v2",
        channel=Channel.EMAIL,
        recipient_kind=kind,
        recipient_ref="r",
        attempts=1,
        sent_at=AT,
    )


def test_outcomes_of_webhook_deliveries_are_never_forwarded() -> None:
    sub = view(types=("notification.sent.v1",))
    assert forwardable(outcome("applicant"))
    assert not forwardable(outcome("subscriber"))
    assert plan_for_subscribers("notification.sent.v1", outcome("applicant"), [sub])
    assert plan_for_subscribers("notification.sent.v1", outcome("subscriber"), [sub]) == []


@pytest.mark.parametrize(("failures", "paused"), [(0, False), (2, False), (3, True), (9, True)])
def test_pause_rule(failures: int, paused: bool) -> None:
    assert should_pause(failures, threshold=3) is paused


def test_event_types_must_be_registered_facts() -> None:
    types = subscribable_event_types()
    assert "dossier.received.v2" in types and "notification.failed.v1" in types
    assert not [t for t in types if t.startswith(("command.", "audit."))]
    assert check_event_types(["dossier.received.v2", "dossier.received.v2"]) == [
        "dossier.received.v2"
    ]
    for bad, index in (
        (["dossier.received.v2", "dossier.teleported.v1"], 1),
        (["command.transfer.accept.v1"], 0),
        (["audit.checkpoint.v1"], 0),
    ):
        with pytest.raises(Refused) as refused:
            check_event_types(bad)
        assert refused.value.code == "unknown_event_type"
        assert refused.value.field == f"event_types.{index}"


def outcome_of(told: EventData, recipient_kind: str, recipient_ref: str) -> EventData:
    """The outcome fact the dispatcher writes for a delivery of ``told`` (``settling``)."""
    cause = envelope_of(told)
    record = {
        "_id": "n", "dossier_code": cause.subject, "source_event_id": cause.id,
        "source_event_type": cause.type, "channel": "email", "template": None,
        "language": None, "recipient_kind": recipient_kind, "recipient_ref": recipient_ref,
        "claim": "c",
    }  # fmt: skip
    return settlement(record, cause, Outcome(True, 1), "", AT).fact


def test_a_subscription_with_units_gets_the_outcomes_of_deliveries_about_its_units() -> None:
    """Found by review: a notification fact names no unit field, so a `notification.*`
    subscription with a `units` filter (an agency's only kind) never received anything."""
    desk = view(types=("notification.sent.v1",), units=(COMMUNE_DESK,))
    land = view("s2", types=("notification.sent.v1",), units=(DISTRICT_LAND,))
    applicant_told = outcome_of(received(CODE), "applicant", "applicant:hash")
    unit_told = outcome_of(step_overdue(CODE), "unit", f"unit:{DISTRICT_LAND}")

    assert units_of(applicant_told) == {COMMUNE_DESK}
    assert units_of(unit_told) == {DISTRICT_LAND}
    planned = plan_for_subscribers("notification.sent.v1", applicant_told, [desk, land])
    assert [p.subscription_id for p in planned] == ["s1"]
    planned = plan_for_subscribers("notification.sent.v1", unit_told, [desk, land])
    assert [p.subscription_id for p in planned] == ["s2"]
    # An outcome written before outcomes carried their units still names the unit told.
    legacy = outcome("unit").model_copy(update={"recipient_ref": f"unit:{DISTRICT_LAND}"})
    assert units_of(legacy) == {DISTRICT_LAND}
    assert units_of(outcome("applicant")) == set()
