"""Correcting an applicant's contact on request: the pure decision (which fields change,
what is refused) and the request's validation, as at submission."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from intake.domain.contact_correction import (
    decide_contact_correction,
    registration_time,
    stored_contact,
)
from intake.dossier_facts import contact_registered
from intake.model import IntakeDossier
from intake.problems import ERRORS
from intake.schemas.contact_correction import ContactCorrectionRequest
from pydantic import ValidationError

from shared.events.dossier import Channel, DossierState, Language
from shared.events.operations import ApplicantContactCorrected
from shared.events.personal import personal_paths
from shared.refusals import Refused
from tests.unit.intake.test_personal_fields import NOW, stored_dossier

REASON = {"reason": "Đương sự yêu cầu sửa (phiếu số 12)"}


def dossier() -> IntakeDossier:
    return stored_dossier(DossierState.RECEIVED, None)


def request(**fields: Any) -> ContactCorrectionRequest:
    return ContactCorrectionRequest.model_validate({**REASON, **fields})


def refusal(stored: IntakeDossier, **fields: Any) -> Refused:
    with pytest.raises(Refused) as refused:
        decide_contact_correction(stored, request(**fields))
    return refused.value


def test_the_fields_given_replace_the_stored_ones_and_the_others_are_kept() -> None:
    before = dossier()
    after, fields = decide_contact_correction(
        before, request(email="an.moi@example.vn", phone="+84987654321", address="3 Lý Thái Tổ")
    )
    assert fields == ["email", "phone", "address"]
    assert after.applicant.email == "an.moi@example.vn"
    assert after.applicant.phone == "+84987654321"
    assert after.applicant_address == "3 Lý Thái Tổ"
    # Untouched: the name, the channels, the language, the identity hash, the rest.
    assert after.applicant.name == before.applicant.name
    assert after.applicant.channels == [Channel.EMAIL]
    assert after.applicant.identity_hash == before.applicant.identity_hash
    assert after.model_dump(exclude={"applicant", "applicant_address"}) == before.model_dump(
        exclude={"applicant", "applicant_address"}
    )


def test_the_registration_notification_gets_carries_the_corrected_contact() -> None:
    after, _ = decide_contact_correction(
        dossier(), request(email="an.moi@example.vn", channels=["sms", "email"], language="en")
    )
    contact = contact_registered(after, NOW).contact
    assert contact.email == "an.moi@example.vn"
    assert contact.channels == [Channel.SMS, Channel.EMAIL]
    assert contact.language == Language.EN


def test_a_registration_is_dated_now_when_no_correction_says_later() -> None:
    assert registration_time(dossier(), NOW) == NOW
    earlier = dossier().changed(contact_registered_at=NOW - timedelta(seconds=5))
    assert registration_time(earlier, NOW) == NOW


def test_a_correction_committed_after_a_later_dated_one_is_registered_after_it() -> None:
    # Two concurrent corrections: B took its time (NOW + 0.4 ms) after A (NOW) but
    # committed first; A, retried, reads B's dossier. Notification keeps the latest
    # registered_at, intake the last commit: A's registration must say it is later than
    # B's, as the store kept it (to the millisecond) and as B published it.
    b_published = NOW + timedelta(microseconds=400)
    b_stored = b_published.replace(microsecond=b_published.microsecond // 1000 * 1000)
    after_b = dossier().changed(contact_registered_at=b_stored)
    a_registered = registration_time(after_b, NOW)
    assert a_registered > b_published
    assert a_registered > b_stored


def test_null_clears_an_optional_field() -> None:
    after, fields = decide_contact_correction(dossier(), request(phone=None, address=None))
    assert fields == ["phone", "address"]
    assert after.applicant.phone is None and after.applicant_address is None


def test_only_the_values_that_differ_are_named() -> None:
    stored = dossier()
    same = stored_contact(stored)
    _, fields = decide_contact_correction(
        stored, request(name=same["name"], email=same["email"], language="en")
    )
    assert fields == ["language"]


@pytest.mark.parametrize(
    "fields",
    [{}, {"email": "an@example.vn"}, {"channels": ["email"], "language": "vi"}],
    ids=["nothing", "same-email", "same-channels-and-language"],
)
def test_nothing_that_differs_is_refused(fields: dict[str, Any]) -> None:
    refused = refusal(dossier(), **fields)
    assert (refused.code, refused.field) == ("nothing_to_correct", None)
    assert ERRORS[refused.code][0] == 422


@pytest.mark.parametrize(
    ("fields", "channel"),
    [
        ({"email": None}, "email"),  # the stored channels keep email
        ({"channels": ["sms"], "phone": None}, "sms"),
    ],
)
def test_a_preferred_channel_left_without_its_address_is_refused(
    fields: dict[str, Any], channel: str
) -> None:
    refused = refusal(dossier(), **fields)
    assert (refused.code, refused.field) == ("invalid_request", "channels")
    assert channel in refused.detail


def test_clearing_the_email_with_its_channel_is_a_correction() -> None:
    after, fields = decide_contact_correction(dossier(), request(email=None, channels=[]))
    assert fields == ["email", "channels"]
    assert after.applicant.email is None and after.applicant.channels == []


def test_an_erased_dossier_is_refused_410() -> None:
    erased = dossier().without_personal_data(NOW + timedelta(days=1))
    refused = refusal(erased, email="an.moi@example.vn")
    assert refused.code == "personal_data_erased"
    assert ERRORS[refused.code][0] == 410
    assert "an.moi" not in refused.detail


@pytest.mark.parametrize(
    ("fields", "at"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"phone": "12345"}, "phone"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"channels": None}, "channels"),
        ({"language": None}, "language"),
        ({"channels": ["email", "email"]}, "channels"),
        ({"channels": ["webhook"]}, "channels"),
        ({"address": "a\nb"}, "address"),
        ({"identity_number": "079301001234"}, "identity_number"),
        ({"reason": ""}, "reason"),
    ],
)
def test_a_field_is_validated_as_at_submission(fields: dict[str, Any], at: str) -> None:
    with pytest.raises(ValidationError) as invalid:
        request(**fields)
    assert [error["loc"][0] for error in invalid.value.errors()] == [at]


def test_the_reason_is_required() -> None:
    with pytest.raises(ValidationError):
        ContactCorrectionRequest.model_validate({"email": "an.moi@example.vn"})


def test_the_recorded_fact_carries_no_contact_value() -> None:
    """The operations fact names fields; only its reason is personal (sealed by audit)."""
    assert personal_paths(ApplicantContactCorrected) == ["reason"]
    assert set(ApplicantContactCorrected.model_fields) == {
        "operator",
        "dossier_code",
        "service",
        "corrected_fields",
        "reason",
        "corrected_at",
    }
