"""What notification's answer to a data subject access request shows of its stored
documents (pure, no store): the contact as kept, the subject's own addresses only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from notification.subject_access import (
    MAX_DOSSIERS,
    SubjectAccessRequest,
    contact_held,
    dossier_held,
)
from pydantic import ValidationError

AT = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
CODE = "001.21.31.H59-261126-0001"


def record(kind: str, address: str, **fields: object) -> dict[str, object]:
    return {
        "_id": f"{kind}-1",
        "recipient_kind": kind,
        "channel": "email",
        "address": address,
        "template": "received",
        "language": "vi",
        "status": "sent",
        "attempts": [{"number": 1}],
        "created_at": AT,
        "sent_at": AT,
        **fields,
    }


def test_the_contact_is_shown_as_kept_to_send() -> None:
    doc = {
        "_id": CODE,
        "contact": {"name": "Nguyễn Văn An", "email": "an@example.vn", "phone": None,
                    "channels": ["email"], "language": "vi"},
        "updated_at": AT,
        "expires_at": AT,
    }  # fmt: skip
    held = contact_held(doc)
    assert held is not None
    assert (held.name, held.email, held.channels, held.facts_waiting) == (
        "Nguyễn Văn An",
        "an@example.vn",
        ["email"],
        0,
    )


def test_no_contact_document_or_an_empty_one_is_no_contact() -> None:
    assert contact_held(None) is None
    assert contact_held({"_id": CODE, "expires_at": AT}) is None


def test_facts_waiting_for_a_contact_are_counted() -> None:
    held = contact_held({"_id": CODE, "waiting": [{"event_id": "e", "envelope": "{}"}]})
    assert held is not None and held.name is None and held.facts_waiting == 1


def test_only_the_applicants_own_address_is_shown() -> None:
    held = dossier_held(
        CODE,
        None,
        [record("applicant", "an@example.vn"), record("unit", "desk@tanhoa.gov.vn")],
        [{"_id": "ev:0", "kind": "dossier", "status": "pending", "created_at": AT}],
    )
    by_kind = {d.recipient_kind: d for d in held.deliveries}
    assert by_kind["applicant"].address == "an@example.vn"
    assert by_kind["unit"].address is None
    assert held.applicant_deliveries == 1
    assert by_kind["applicant"].attempts == 1
    assert [m.status for m in held.portal_messages] == ["pending"]


def test_attempts_before_a_redelivery_are_counted() -> None:
    redelivered = record(
        "applicant",
        "an@example.vn",
        earlier_attempts=[{"number": 1}, {"number": 2}, {"number": 3}],
        redeliveries=1,
    )
    held = dossier_held(CODE, None, [redelivered], [])
    assert [d.attempts for d in held.deliveries] == [4]


@pytest.mark.parametrize("codes", [[], ["a b"], ["x" * 65], [CODE] * (MAX_DOSSIERS + 1)])
def test_malformed_requests_are_refused(codes: list[str]) -> None:
    with pytest.raises(ValidationError):
        SubjectAccessRequest.model_validate({"dossier_codes": codes})
