"""The trust file: its canonical bytes and fingerprint, and what it refuses to load."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from audit.config import AuditLogSettings
from audit.trust import fingerprint_of, load_trust, trust_policy
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.unit.audit.builders import WITNESSES, trust, vkey_of

KEY = Ed25519PrivateKey.generate()


def test_the_file_round_trips_and_its_fingerprint_is_sha256_of_its_bytes() -> None:
    policy = trust(KEY)
    data = policy.file_bytes()
    assert load_trust(json.loads(data)) == policy
    assert (
        policy.fingerprint() == fingerprint_of(data) == "sha256:" + hashlib.sha256(data).hexdigest()
    )
    assert load_trust(json.loads(data), quorum=1).quorum == 1
    doc = json.loads(data)
    doc["witnesses"][0].update(valid_from="2026-11-26T16:00:00+07:00", valid_until=None)
    windowed = load_trust(doc)
    assert windowed.witnesses[0].valid_from == "2026-11-26T09:00:00.000Z"
    assert load_trust(json.loads(windowed.file_bytes())) == windowed


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format="other/1"), "not a trust file"),
        (lambda d: d.update(quorum=3), "quorum 3 is not between 0 and 2"),
        (lambda d: d["witnesses"].append({"vkey": vkey_of(KEY).vkey()}), "cosignature"),
        (lambda d: d["log"]["keys"][0].update(vkey=WITNESSES[0].verifier.vkey()), "Ed25519"),
        (lambda d: d["log"]["keys"][0].update(valid_from="2026-01-01T00:00:00"), "timezone"),
        (lambda d: d["log"].update(keys=[]), "pins no log key"),
        # Read as something else before: 1.7 and true became quorum 1, "2" became 2.
        (lambda d: d.update(quorum=1.7), "quorum 1.7 is not a whole number"),
        (lambda d: d.update(quorum=True), "quorum True is not a whole number"),
        (lambda d: d.update(quorum="2"), "quorum '2' is not a whole number"),
        # These raised AttributeError or OverflowError: a traceback from audit-verify.
        (lambda d: d.update(witnesses="abc"), "witnesses must be lists"),
        (lambda d: d.update(witnesses=[5]), "a key is not an object with a vkey"),
        (lambda d: d["witnesses"][0].update(vkey=None), "a key is not an object with a vkey"),
        (lambda d: d["log"]["keys"][0].update(vkey=None), "malformed trust file"),
        (lambda d: d.update(log=[]), "malformed trust file"),
        (
            lambda d: d["log"]["keys"][0].update(valid_from="0001-01-01T00:00:00+14:00"),
            "out of range",
        ),
        (
            lambda d: d["witnesses"][0].update(
                valid_from="2026-02-01T00:00:00Z", valid_until="2026-01-01T00:00:00Z"
            ),
            "valid_from is not before valid_until",
        ),
    ],
)
def test_a_malformed_trust_file_is_refused(
    change: Callable[[dict[str, Any]], None], message: str
) -> None:
    doc = json.loads(trust(KEY).file_bytes())
    change(doc)
    with pytest.raises(ValueError, match=message):
        load_trust(doc)


def test_the_service_writes_the_witness_windows_it_is_configured_with() -> None:
    """LT_AUDIT_WITNESSES entries may bound a witness key's window; the published trust
    file carries it, and a witness without one stays unbounded."""
    settings = AuditLogSettings.model_validate(
        {
            "witnesses": [
                {
                    "url": "http://127.0.0.1:8011",
                    "vkey": WITNESSES[0].verifier.vkey(),
                    "valid_from": "2026-11-26T16:00:00+07:00",
                    "valid_until": "2027-01-01T00:00:00Z",
                },
                {"url": "http://127.0.0.1:8012", "vkey": WITNESSES[1].verifier.vkey()},
            ]
        }
    )
    key = {"vkey": vkey_of(Ed25519PrivateKey.generate()).vkey(), "valid_from": None}
    policy = trust_policy("test-log", [key], [w.model_dump() for w in settings.witnesses], 2)
    assert [(w.valid_from, w.valid_until) for w in policy.witnesses] == [
        ("2026-11-26T09:00:00.000Z", "2027-01-01T00:00:00.000Z"),
        (None, None),
    ]
    assert load_trust(json.loads(policy.file_bytes())) == policy
