"""Example payloads shown in intake's OpenAPI document (realistic, three-level demo data)."""

from __future__ import annotations

from typing import Any

EXAMPLE_CODE = "001.21.31.H59-261126-0001"

EXAMPLE_TOKEN = "q2Jq0cQb4mO8xk1V7yq9c3d5f7h9j1l3"

EXAMPLE_DOCUMENTS: list[Any] = [
    {
        "name": "To khai dang ky khai sinh.pdf",
        "type": "registration_form",
        "size_bytes": 182044,
        "sha256": "9f2b5c0e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c",
    },
    {
        "name": "Giay chung sinh.pdf",
        "type": "birth_certificate",
        "size_bytes": 95310,
        "sha256": "1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a6f7e8d9c0b1a2f3e4d5c6b7a8f9e0d1c2b",
    },
]

EXAMPLE_APPLICANT: dict[str, Any] = {
    "name": "Nguyễn Văn An",
    "identity_type": "citizen_id",
    "identity_number": "082203001234",
    "email": "an.nguyen@example.vn",
    "phone": "0912345678",
    "channels": ["sms", "email"],
    "language": "vi",
}

RECEIPT_EXAMPLE: dict[str, Any] = {
    "code": EXAMPLE_CODE,
    "state": "RECEIVED",
    "channel": "desk",
    "procedure_code": "1.001193",
    "procedure_version": "2024.1",
    "procedure_name": "Đăng ký khai sinh",
    "receiving_unit": "001.21.31.H59",
    "submitted_at": "2026-11-26T02:00:00Z",
    "received_at": "2026-11-26T02:00:00Z",
    "clock_starts_on": "2026-11-27",
    "appointment_date": "2026-11-27",
    "total_budget_days": 1,
    "fee_vnd": 0,
    "lookup_token": EXAMPLE_TOKEN,
    "lookup_path": f"/v1/dossiers/{EXAMPLE_CODE}",
    "refusal": None,
}

VIEW_EXAMPLE: dict[str, Any] = {
    "code": EXAMPLE_CODE,
    "state": "RECEIVED",
    "portal_status": 2,
    "state_label": {"vi": "Được tiếp nhận", "en": "Received"},
    "procedure_code": "1.001193",
    "procedure_name": "Đăng ký khai sinh",
    "procedure_name_en": "Birth registration",
    "receiving_unit": {"code": "001.21.31.H59", "name": "Bộ phận Một cửa thị trấn Tân Hòa"},
    "holding_unit": {"code": "001.21.31.H59", "name": "Bộ phận Một cửa thị trấn Tân Hòa"},
    "submitted_at": "2026-11-26T02:00:00Z",
    "received_at": "2026-11-26T02:00:00Z",
    "appointment_date": "2026-11-27",
    "history": [
        {
            "at": "2026-11-26T02:00:00Z",
            "event_type": "dossier.received.v2",
            "state": "RECEIVED",
            "holding_unit": {"code": "001.21.31.H59"},
            "label": {"vi": "Tiếp nhận hồ sơ", "en": "Dossier received"},
        }
    ],
    "refusal": None,
}

UNIT_EXAMPLE: dict[str, Any] = {
    "code": "001.21.31.H59",
    "name": "Bộ phận Một cửa thị trấn Tân Hòa",
    "name_en": "Tan Hoa Town One-Stop Desk",
    "level": "commune",
    "kind": "one_stop_desk",
    "parent": "000.21.31.H59",
    "tags": [],
    "valid_from": None,
    "valid_to": None,
    "successor": None,
    "receives_dossiers": True,
    "note": "",
}

PROCEDURE_EXAMPLE: dict[str, Any] = {
    "code": "1.001193",
    "version": "2024.1",
    "name": "Đăng ký khai sinh",
    "name_en": "Birth registration",
    "field": "Hộ tịch",
    "field_en": "Civil status",
    "applies_to": ["three-level", "two-level"],
    "required_documents": [
        {"type": "registration_form", "name": "Tờ khai", "name_en": "Registration form"},
        {"type": "birth_certificate", "name": "Giấy chứng sinh", "name_en": "Birth certificate"},
    ],
    "fees": {"amount_vnd": 0, "note": "Miễn lệ phí"},
    "cutoff": "15:00:00",
    "allow_any_receiving_unit": False,
    "receiving_kinds": ["one_stop_desk", "public_service_centre"],
    "receiving_levels": ["commune"],
    "valid_from": "2016-01-01",
    "valid_to": None,
    "note": "",
    "route": [
        {
            "name": "Tiếp nhận, kiểm tra hồ sơ",
            "name_en": "Receive and check the dossier",
            "performer": {"relative": "receiving_unit"},
            "budget_days": 0,
        },
        {
            "name": "Chủ tịch UBND cấp xã ký Giấy khai sinh",
            "name_en": "The commune chairperson signs",
            "performer": {"relative": "ancestor", "level": "commune", "kind": "people_committee"},
            "budget_days": 1,
        },
        {
            "name": "Trả kết quả",
            "name_en": "Return the result",
            "performer": {"relative": "returning_desk"},
            "budget_days": 0,
        },
    ],
    "total_budget_days": 1,
}

SUBJECT_ACCESS_EXAMPLE: dict[str, Any] = {
    "service": "intake",
    "identity_type": "citizen_id",
    "answered_at": "2026-11-27T03:00:00Z",
    "dossiers": [
        {
            "code": EXAMPLE_CODE,
            "channel": "desk",
            "procedure_code": "1.001193",
            "procedure_version": "2024.1",
            "receiving_unit": "001.21.31.H59",
            "holding_unit": "001.21.31.H59",
            "state": "RECEIVED",
            "submitted_at": "2026-11-26T02:00:00Z",
            "received_at": "2026-11-26T02:00:00Z",
            "appointment_date": "2026-11-27",
            "created_at": "2026-11-26T02:00:00Z",
            "erased": False,
            "personal_data_erased_at": None,
            "personal_data": {
                "applicant.identity_hash": "5e0c…",
                "applicant.name": "Nguyễn Văn An",
                "applicant.email": "an.nguyen@example.vn",
                "applicant.phone": "0912345678",
                "applicant_address": None,
                "documents.*.name": ["To khai dang ky khai sinh.pdf", "Giay chung sinh.pdf"],
                "note": None,
                "refusal.applicant_name": None,
                "refusal.reason": None,
                "supplement_requests.*.missing_documents.*": [],
                "supplement_requests.*.guidance": [],
                "withdrawal.reason": None,
            },
            "contact_preferences": {"channels": ["email"], "language": "vi"},
            "history": [
                {
                    "event_id": "0b9c…",
                    "event_type": "dossier.received.v2",
                    "at": "2026-11-26T02:00:00Z",
                    "state": "RECEIVED",
                    "holding_unit": "001.21.31.H59",
                }
            ],
        }
    ],
    "truncated": False,
}
