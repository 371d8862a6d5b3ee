"""A data subject access request at intake: what is asked (refused when the number is
malformed) and what a stored dossier shows of its subject (pure, no store)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from intake.model import ERASED, PERSONAL_FIELDS, personal_values
from intake.schemas.requests import ApplicantIn
from intake.schemas.subject_access import SubjectAccessRequest
from intake.tokens import identity_hash
from intake.views import subject_dossier
from pydantic import ValidationError

from shared.events.dossier import DossierState
from tests.unit.intake.test_personal_fields import NOW, stored_dossier


def test_every_personal_field_is_shown_as_stored() -> None:
    dossier = stored_dossier(DossierState.DONE, NOW)
    values = personal_values(dossier)
    assert list(values) == list(PERSONAL_FIELDS)
    assert values["applicant.identity_hash"] == "b" * 64
    assert values["applicant.name"] == "Nguyễn Văn An"
    assert values["applicant.email"] == "an@example.vn"
    assert values["applicant.phone"] == "0912345678"
    assert values["applicant_address"] == "12 Hàng Bài, Hoàn Kiếm"
    assert values["documents.*.name"] == ["Giay chung sinh An.pdf"]
    assert values["supplement_requests.*.missing_documents.*"] == [["Giấy của An"]]
    assert values["withdrawal.reason"] == "Tôi bị ốm"
    assert values["refusal.reason"] == "Thiếu giấy chứng sinh của An"


def test_fields_not_set_are_shown_as_none() -> None:
    dossier = stored_dossier(DossierState.DONE, NOW, refusal=None, withdrawal=None, note=None)
    values = personal_values(dossier)
    assert values["refusal.applicant_name"] is None
    assert values["withdrawal.reason"] is None
    assert values["note"] is None


def test_an_erased_dossier_shows_erased_fields_and_when() -> None:
    dossier = stored_dossier(DossierState.DONE, NOW - timedelta(days=1))
    erased = subject_dossier(dossier.without_personal_data(NOW))
    assert erased.erased and erased.personal_data_erased_at == NOW
    assert erased.personal_data["applicant.name"] == ERASED
    assert erased.personal_data["documents.*.name"] == [ERASED]
    assert erased.state is DossierState.DONE and erased.code == dossier.code


def test_the_answer_says_what_the_dossier_is_and_where_it_stands() -> None:
    dossier = stored_dossier(DossierState.PROCESSING, None)
    shown = subject_dossier(dossier)
    assert (shown.code, shown.procedure_code, shown.state) == (
        dossier.code,
        "1.001193",
        DossierState.PROCESSING,
    )
    assert not shown.erased
    assert shown.contact_preferences == {"channels": ["email"], "language": "vi"}


@pytest.mark.parametrize(
    ("kind", "number"),
    [("citizen_id", "12345"), ("citizen_id", "0793010012345"), ("passport", "c1234567")],
)
def test_a_malformed_identity_number_is_refused(kind: str, number: str) -> None:
    with pytest.raises(ValidationError) as refused:
        SubjectAccessRequest.model_validate({"identity_type": kind, "identity_number": number})
    assert number not in str(refused.value.errors(include_input=False))


def test_the_request_hashes_like_the_submission() -> None:
    """The same number hashed from a request and from a submission: the same key, the
    same hash, so the dossiers are found."""
    request = SubjectAccessRequest(identity_number="079301001234")
    applicant = ApplicantIn(name="An", identity_number="079301001234")
    key = b"k"
    assert identity_hash(key, request.identity_type, request.identity_number) == identity_hash(
        key, applicant.identity_type, applicant.identity_number
    )
    with pytest.raises(ValidationError):
        SubjectAccessRequest.model_validate({"identity_number": "079301001234", "extra": 1})
