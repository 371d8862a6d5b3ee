"""Personal fields are sealed under the dossier key; without the key they read as erased."""

from __future__ import annotations

import json
from typing import Any

from audit.domain import canonical_json, sha256
from audit.personal import (
    contract_paths,
    key_id,
    new_dossier_key,
    personal_paths,
    seal,
    sealed_fields,
    unseal,
)

PATHS = ["data.applicant.name", "data.applicant.phone", "data.note", "data.absent"]
EVENT: dict[str, Any] = {
    "id": "e-1",
    "type": "dossier.received.v1",
    "subject": "D-1",
    "data": {
        "dossier_code": "D-1",
        "applicant": {"identity_hash": "ab" * 32, "name": "Nguyễn Thị Hoa", "phone": None},
        "note": "Gọi chị Hoa trước 10 giờ",
    },
}


def test_present_personal_fields_are_sealed_and_the_rest_kept() -> None:
    key = new_dossier_key()
    present = personal_paths(EVENT, PATHS)
    assert present == ["data.applicant.name", "data.note"]  # None and absent are not data
    logged = seal(EVENT, present, key)
    text = canonical_json(logged).decode()
    assert "Hoa" not in text and "ab" * 32 in text and EVENT["data"]["note"] not in text
    assert logged["data"]["applicant"]["name"]["key"] == key_id(key)
    assert EVENT["data"]["applicant"]["name"] == "Nguyễn Thị Hoa"  # the input is untouched
    assert unseal(logged, key) == {
        "data.applicant.name": "Nguyễn Thị Hoa",
        "data.note": "Gọi chị Hoa trước 10 giờ",
    }


def test_without_the_key_the_fields_are_erased_and_the_hash_is_unchanged() -> None:
    key = new_dossier_key()
    logged = seal(EVENT, PATHS, key)
    digest = sha256(canonical_json(logged))
    erased = {"data.applicant.name": {"erased": True}, "data.note": {"erased": True}}
    assert unseal(logged, None) == erased
    assert unseal(logged, new_dossier_key()) == erased  # another dossier's key
    assert sha256(canonical_json(logged)) == digest  # the log's hash does not need the key


def test_a_sealed_value_is_bound_to_its_event_and_path() -> None:
    key = new_dossier_key()
    logged = seal(EVENT, PATHS, key)
    moved = json.loads(json.dumps(logged))
    moved["id"] = "e-2"
    assert unseal(moved, key)["data.note"] == {"erased": True}
    swapped = json.loads(json.dumps(logged))
    swapped["data"]["note"] = logged["data"]["applicant"]["name"]
    assert unseal(swapped, key)["data.note"] == {"erased": True}
    assert [path for path, _ in sealed_fields(logged)] == [
        "data.applicant.name",
        "data.note",
    ]


def test_every_item_of_a_list_is_sealed_by_its_own_path() -> None:
    key = new_dossier_key()
    event = {
        "id": "e-3",
        "data": {
            "documents": [{"name": "CCCD_Hoa.pdf", "type": "DON"}, {"name": "So_ho_khau.pdf"}],
            "missing_documents": ["Giấy khai sinh của bé Hoa"],
        },
    }
    present = personal_paths(event, ["data.documents.*.name", "data.missing_documents.*"])
    assert present == [
        "data.documents.0.name",
        "data.documents.1.name",
        "data.missing_documents.0",
    ]
    logged = seal(event, present, key)
    text = canonical_json(logged).decode()
    assert "Hoa" not in text and "So_ho_khau" not in text and '"DON"' in text
    assert unseal(logged, key) == {
        "data.documents.0.name": "CCCD_Hoa.pdf",
        "data.documents.1.name": "So_ho_khau.pdf",
        "data.missing_documents.0": "Giấy khai sinh của bé Hoa",
    }
    assert unseal(logged, None) == {path: {"erased": True} for path in present}


def test_the_contracts_say_which_paths_are_personal() -> None:
    received = contract_paths("dossier.received.v2")
    assert set(received) == {
        "data.applicant.identity_hash",
        "data.documents.*.name",
        "data.note",
    }
    assert set(contract_paths("notification.failed.v1")) == {"data.recipient_ref", "data.error"}
    assert contract_paths("dossier.withdrawal.requested.v1") == ("data.reason",)
    assert contract_paths("audit.checkpoint.v1") == ()
    assert contract_paths("no.such.type.v1") == ()
