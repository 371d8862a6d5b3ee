"""Masking and keyed references: contact data never leaves in clear."""

from __future__ import annotations

import pytest
from notification.privacy import contact_ref, mask_address, mask_email, mask_phone, redact

from shared.events.dossier import Channel


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("nguyen.van.a@example.vn", "n***@e***.vn"),
        ("b@gov.vn", "b***@g***.vn"),
        ("x@localhost", "x***@l***"),
        ("not-an-email", "***"),
    ],
)
def test_mask_email(email: str, masked: str) -> None:
    assert mask_email(email) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("0901234567", "*******567"), ("+84 90 123 4567", "********567"), ("12", "***")],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_mask_address_by_channel() -> None:
    assert mask_address(Channel.EMAIL, "an@example.vn") == "a***@e***.vn"
    assert mask_address(Channel.SMS, "0901234567") == "*******567"
    assert mask_address(Channel.WEBHOOK, "https://a.example/h") == "https://a.example/h"


def test_contact_ref_is_keyed_normalised_and_opaque() -> None:
    ref = contact_ref("k", "An@Example.vn ")
    assert ref == contact_ref("k", "an@example.vn")
    assert ref != contact_ref("other", "an@example.vn")
    assert len(ref) == 32 and "example" not in ref


def test_redact_removes_addresses_from_error_texts() -> None:
    text = "550 5.1.1 <An@Example.vn>: recipient an@example.vn unknown; call 0901234567"
    cleaned = redact(text, ["An@Example.vn", "0901234567", None])
    assert "example.vn" not in cleaned.lower() and "0901234567" not in cleaned
    assert cleaned.startswith("550 5.1.1 <***>")


@pytest.mark.parametrize(
    ("address", "echoed"),
    [
        ("an@example.vn", "AN@EXAMPLE.VN"),
        ("An@Example.vn", "an@EXAMPLE.vn"),
        ("Nguyen.Van.A@Example.VN", "nguyen.van.a@example.vn"),
        ("an@bộ.vn", "AN@XN--B-8XM.VN"),  # the domain as SMTP carries it (IDNA)
        ("0901234567", "090 123 4567"),
        ("0901234567", "090-123-4567"),
    ],
)
def test_redact_finds_an_address_in_any_spelling_the_relay_echoes(
    address: str, echoed: str
) -> None:
    cleaned = redact(f"550 5.1.1 <{echoed}>: recipient unknown", [address])
    assert cleaned == "550 5.1.1 <***>: recipient unknown"
