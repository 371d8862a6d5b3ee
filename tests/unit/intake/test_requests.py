"""Request formats and bounds: what is refused before the catalogue is even consulted."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from intake.examples import EXAMPLE_APPLICANT, EXAMPLE_DOCUMENTS
from intake.schemas.requests import (
    MAX_DOCUMENTS,
    DeskDenialRequest,
    SubmissionRequest,
    WithdrawalRequest,
)
from pydantic import ValidationError


def body(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "procedure_code": "1.001193",
        "receiving_unit": "001.21.31.H59",
        "applicant": copy.deepcopy(EXAMPLE_APPLICANT),
        "documents": copy.deepcopy(EXAMPLE_DOCUMENTS),
    }
    for path, value in changes.items():
        target, *keys = path.split("__")
        holder: Any = base
        for key in [target, *keys][:-1]:
            holder = holder[int(key)] if isinstance(holder, list) else holder[key]
        last = [target, *keys][-1]
        if isinstance(holder, list):
            holder[int(last)] = value
        else:
            holder[last] = value
    return base


def error_at(data: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        SubmissionRequest.model_validate(data)
    first = caught.value.errors()[0]
    return ".".join(str(p) for p in first["loc"]), first["type"]


def test_the_documented_example_is_valid() -> None:
    request = SubmissionRequest.model_validate(body())
    assert request.channel == "desk"
    assert request.applicant.identity_number == "082203001234"


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"procedure_code": "1001193"}, "procedure_code"),
        ({"receiving_unit": "Tan Hoa"}, "receiving_unit"),
        ({"area_unit": "000.21.31"}, "area_unit"),
        ({"channel": "fax"}, "channel"),
        ({"applicant__name": ""}, "applicant.name"),
        ({"applicant__name": "x" * 201}, "applicant.name"),
        ({"applicant__name": "An\x00"}, "applicant.name"),
        ({"applicant__identity_number": "12345678901"}, "applicant.identity_number"),
        ({"applicant__identity_number": "08220300123a"}, "applicant.identity_number"),
        ({"applicant__identity_type": "passport"}, "applicant.identity_number"),
        ({"applicant__email": "not-an-email"}, "applicant.email"),
        ({"applicant__phone": "12345"}, "applicant.phone"),
        ({"applicant__channels": ["sms", "sms"]}, "applicant.channels"),
        ({"applicant__channels": ["pigeon"]}, "applicant.channels.0"),
        ({"applicant__language": "fr"}, "applicant.language"),
        ({"documents": []}, "documents"),
        ({"documents__0__sha256": "A" * 64}, "documents.0.sha256"),
        ({"documents__0__sha256": "0" * 63}, "documents.0.sha256"),
        ({"documents__0__size_bytes": "182044"}, "documents.0.size_bytes"),
        ({"documents__0__size_bytes": 0}, "documents.0.size_bytes"),
        ({"documents__0__size_bytes": 100_000_001}, "documents.0.size_bytes"),
        ({"documents__0__size_bytes": 1.5}, "documents.0.size_bytes"),
        ({"documents__0__type": "Birth Certificate"}, "documents.0.type"),
        ({"note": "n" * 2001}, "note"),
        ({"unexpected": True}, "unexpected"),
    ],
)
def test_malformed_fields_are_refused_at_their_place(changes: dict[str, Any], where: str) -> None:
    assert error_at(body(**changes))[0] == where


def test_a_channel_needs_its_contact() -> None:
    data = body(applicant__email=None)
    assert error_at(data) == ("applicant.channels", "value_error")
    data = body(applicant__phone=None, applicant__channels=["email"])
    assert SubmissionRequest.model_validate(data).applicant.phone is None


def test_passports_are_accepted_in_their_own_format() -> None:
    data = body(applicant__identity_type="passport", applicant__identity_number="C1234567")
    assert SubmissionRequest.model_validate(data).applicant.identity_type == "passport"


def test_document_count_is_bounded() -> None:
    documents = [EXAMPLE_DOCUMENTS[0]] * (MAX_DOCUMENTS + 1)
    assert error_at(body(documents=documents))[0] == "documents"


def test_text_is_stripped_and_may_span_lines() -> None:
    request = SubmissionRequest.model_validate(body(note="  dòng 1\ndòng 2  "))
    assert request.note == "dòng 1\ndòng 2"


def test_a_desk_refusal_needs_a_reason_but_no_documents() -> None:
    data = {k: v for k, v in body().items() if k != "documents"}
    with pytest.raises(ValidationError):
        DeskDenialRequest.model_validate(data)
    assert DeskDenialRequest.model_validate({**data, "reason": "Thiếu giấy tờ"}).documents == []


def test_withdrawal_reason_is_optional_and_bounded() -> None:
    assert WithdrawalRequest.model_validate({}).reason is None
    with pytest.raises(ValidationError):
        WithdrawalRequest.model_validate({"reason": "r" * 2001})
