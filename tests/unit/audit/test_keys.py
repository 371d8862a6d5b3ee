"""The signing key file, its signed-note names, and the witness settings."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from audit.config import AuditSettings
from audit.keys import load_or_create_signing_key, parse_public_key, public_pem
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.transparency.note import COSIGNATURE_V1, Signer


def test_a_key_is_generated_once_then_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "key.pem"
    first = load_or_create_signing_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_or_create_signing_key(path)
    assert again.public_raw == first.public_raw
    assert again.verifier("log").vkey() == first.verifier("log").vkey()
    assert [p.name for p in path.parent.iterdir()] == ["key.pem"]


def test_public_keys_are_read_as_base64_or_pem(tmp_path: Path) -> None:
    key = load_or_create_signing_key(tmp_path / "key.pem")
    assert parse_public_key(base64.b64encode(key.public_raw).decode()) == key.public_raw
    assert parse_public_key(public_pem(key.public_raw)) == key.public_raw
    with pytest.raises(ValueError):
        parse_public_key(base64.b64encode(b"short").decode())


def test_settings_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    witness = Signer("w1", Ed25519PrivateKey.generate(), COSIGNATURE_V1).verifier.vkey()
    monkeypatch.setenv("LT_AUDIT_SIGNING_KEY_PATH", str(tmp_path / "key.pem"))
    monkeypatch.setenv("LT_AUDIT_CHECKPOINT_EVERY", "7")
    monkeypatch.setenv("LT_AUDIT_CHECKPOINT_SECONDS", "2.5")
    monkeypatch.setenv(
        "LT_AUDIT_WITNESSES", f'[{{"url": "http://127.0.0.1:8011", "vkey": "{witness}"}}]'
    )
    settings = AuditSettings().audit
    assert settings.signing_key_path == tmp_path / "key.pem"
    assert (settings.checkpoint_every, settings.checkpoint_seconds) == (7, 2.5)
    assert settings.witnesses[0].vkey == witness
    assert settings.quorum() == 1  # all witnesses by default
    monkeypatch.setenv("LT_AUDIT_WITNESS_QUORUM", "0")
    assert AuditSettings().audit.quorum() == 0


def test_a_log_key_is_refused_as_a_witness_key(monkeypatch: pytest.MonkeyPatch) -> None:
    log_key = Signer("w1", Ed25519PrivateKey.generate()).verifier.vkey()  # type 0x01
    monkeypatch.setenv("LT_AUDIT_WITNESSES", f'[{{"url": "http://x", "vkey": "{log_key}"}}]')
    with pytest.raises(ValueError, match="0x04"):
        AuditSettings()
