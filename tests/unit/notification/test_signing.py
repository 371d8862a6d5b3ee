"""Webhook signatures: sign, verify, tampering, wrong secret, replay window, rotation."""

from __future__ import annotations

import pytest
from notification.signing import SignatureError, compute, parse, sign, verify

SECRET = "s3cret-of-the-district-0001"
BODY = b'{"id":"e1","type":"dossier.received.v1"}'
T = 1_780_000_000


def test_signed_delivery_verifies() -> None:
    header = sign(SECRET, T, BODY)
    assert header.startswith(f"t={T},v1=")
    assert verify(SECRET, BODY, header, now=T + 10) == T


@pytest.mark.parametrize(
    ("secret", "body", "reason"),
    [
        ("another-secret-entirely", BODY, "signature mismatch"),
        (SECRET, BODY + b" ", "signature mismatch"),
        (SECRET, BODY.replace(b"e1", b"e2"), "signature mismatch"),
    ],
)
def test_wrong_secret_or_tampered_body_is_rejected(secret: str, body: bytes, reason: str) -> None:
    with pytest.raises(SignatureError) as rejected:
        verify(secret, body, sign(SECRET, T, BODY), now=T)
    assert rejected.value.reason == reason


@pytest.mark.parametrize("now", [T + 301, T - 301, T + 86_400])
def test_replays_outside_the_tolerance_are_rejected(now: int) -> None:
    with pytest.raises(SignatureError, match="timestamp outside tolerance"):
        verify(SECRET, BODY, sign(SECRET, T, BODY), now=now, tolerance_s=300)


def test_changing_the_timestamp_breaks_the_signature() -> None:
    header = sign(SECRET, T, BODY).replace(f"t={T}", f"t={T + 5}")
    with pytest.raises(SignatureError, match="signature mismatch"):
        verify(SECRET, BODY, header, now=T)


@pytest.mark.parametrize(
    "header",
    [
        *[None, "", "garbage", f"t={T}", "v1=abc", f"t=x,v1={'0' * 64}"],
        *[f"t=²,v1={'0' * 64}", f"t={T},v1=ǿ", f"t={'9' * 5000},v1={'0' * 64}"],  # odd input
    ],
)
def test_missing_or_malformed_headers_are_rejected(header: str | None) -> None:
    with pytest.raises(SignatureError):
        verify(SECRET, BODY, header, now=T)


def test_any_of_several_signatures_may_match_during_rotation() -> None:
    header = f"t={T},v1={compute('old-secret-xxxxxxxx', T, BODY)},v1={compute(SECRET, T, BODY)}"
    assert parse(header)[0] == T
    assert verify(SECRET, BODY, header, now=T) == T
