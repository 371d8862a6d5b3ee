"""Which fields of intake's stored dossier are personal, and what erasing them leaves.

Every string of the stored model is classified (personal or in clear, the contracts'
markers), the explicit list ``PERSONAL_FIELDS`` agrees with the marks, and erasure
replaces exactly those fields and keeps the rest (code, procedure, units, dates, states).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from intake.model import ERASED, PERSONAL_FIELDS, IntakeDossier, SupplementRequest, Withdrawal
from intake.schemas.responses import RefusalNotice

from shared.calendar import LOCAL_TZ
from shared.catalogue.loading import load_catalogue
from shared.events.dossier import ApplicantContact, Channel, DocumentRef, DossierState
from shared.events.personal import ITEM, personal_paths, unclassified_text

CATALOGUE = load_catalogue("three-level")
DESK = "001.21.31.H59"
# The clock of these tests: Monday 1 December 2031, 10:00 in Hà Nội.
NOW = datetime(2031, 12, 1, 10, 0, tzinfo=LOCAL_TZ)
RETENTION = timedelta(days=1825)
CUTOFF = NOW - RETENTION


def stored_dossier(
    state: DossierState | None, ended: datetime | None, **fields: Any
) -> IntakeDossier:
    """A dossier with every personal field filled in, in ``state`` since ``ended``."""
    at = datetime(2026, 11, 26, 9, 0, tzinfo=LOCAL_TZ)
    return IntakeDossier.model_validate(
        {
            "_id": f"{DESK}-261126-0001",
            "state": state,
            "holding_unit": DESK,
            "applied_up_to": ended,
            "channel": "online",
            "procedure_code": "1.001193",
            "procedure_version": "2024.1",
            "receiving_unit": DESK,
            "area_unit": "001.21.31.H59",
            "submitted_at": at,
            "total_budget_days": 1,
            "applicant": ApplicantContact(
                identity_hash="b" * 64,
                name="Nguyễn Văn An",
                email="an@example.vn",
                phone="0912345678",
                channels=[Channel.EMAIL],
            ),
            "applicant_address": "12 Hàng Bài, Hoàn Kiếm",
            "documents": [
                DocumentRef(
                    name="Giay chung sinh An.pdf",
                    type="birth_certificate",
                    size_bytes=9,
                    sha256="c" * 64,
                ),
            ],
            "documents_hash": "d" * 64,
            "note": "Con thứ hai",
            "lookup_token_hash": "e" * 64,
            "refusal": RefusalNotice(
                issuing_unit=DESK,
                issuing_unit_name="Tân Hòa",
                procedure_code="1.001193",
                procedure_name="Đăng ký khai sinh",
                applicant_name="Nguyễn Văn An",
                reason="Thiếu giấy chứng sinh của An",
                denied_at=at,
            ),
            "supplement_requests": [
                SupplementRequest(
                    number=1,
                    missing_documents=["Giấy của An"],
                    guidance="Mang bản chính",
                    requested_at=at,
                ),
            ],
            "withdrawal": Withdrawal(reason="Tôi bị ốm", at=at),
            "created_at": at,
            **fields,
        }
    )


def value_at(node: Any, path: list[str]) -> list[Any]:
    """The values at a dotted path (``*``: each item)."""
    if not path:
        return [node]
    head, *rest = path
    if node is None:
        return []
    if head == ITEM:
        return [v for item in node for v in value_at(item, rest)]
    return value_at(node.get(head), rest)


# --- which fields are personal ----------------------------------------------------------


def test_every_string_of_the_stored_dossier_is_classified() -> None:
    assert unclassified_text(IntakeDossier) == [], (
        "mark the new field of intake's stored dossier PersonalText (erased by the "
        "retention, add it to PERSONAL_FIELDS) or in clear (InClear('why'), Code, UnitCode)"
    )


def test_the_list_of_personal_fields_is_exactly_the_marked_ones() -> None:
    assert sorted(PERSONAL_FIELDS) == sorted(personal_paths(IntakeDossier))


def test_the_guard_catches_an_unclassified_text_field() -> None:
    class Grown(IntakeDossier):
        nickname: str | None = None

    assert unclassified_text(Grown) == ["nickname"]


# --- what erasure leaves -----------------------------------------------------------------


def test_erasure_replaces_every_personal_field_and_keeps_the_rest() -> None:
    dossier = stored_dossier(DossierState.DENIED, CUTOFF - timedelta(days=1))
    erased = dossier.without_personal_data(NOW)

    before, after = dossier.stored(), erased.stored()
    for path in PERSONAL_FIELDS:
        old, new = value_at(before, path.split(".")), value_at(after, path.split("."))
        assert old and all(v is not None and v != ERASED for v in old), path  # all filled in
        assert new == [ERASED] * len(old), path
    assert after.pop("personal_data_erased_at") == NOW
    assert before.pop("personal_data_erased_at") is None

    def frame(document: dict[str, Any]) -> dict[str, Any]:
        for path in PERSONAL_FIELDS:
            *parents, leaf = path.split(".")
            for node in value_at(document, parents):
                if isinstance(node, dict):
                    node.pop(leaf, None)
                else:  # a list of personal texts
                    node.clear()
        return document

    assert frame(after) == frame(before)  # code, procedure, units, dates, states, history
    assert erased.erased and not dossier.erased


def test_erasing_twice_changes_nothing_but_the_first_time() -> None:
    erased = stored_dossier(DossierState.DONE, CUTOFF).without_personal_data(NOW)
    again = erased.without_personal_data(NOW + timedelta(days=1))
    assert again.model_copy(update={"personal_data_erased_at": NOW}) == erased


def test_optional_personal_fields_left_empty_stay_empty() -> None:
    dossier = stored_dossier(
        DossierState.WITHDRAWN, CUTOFF, note=None, applicant_address=None, refusal=None,
        withdrawal=None, supplement_requests=[],
    )  # fmt: skip
    erased = dossier.without_personal_data(NOW)
    assert (erased.note, erased.applicant_address, erased.refusal, erased.withdrawal) == (
        None, None, None, None,
    )  # fmt: skip
