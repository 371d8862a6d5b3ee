"""The signing key file and the configured retired keys."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from audit.config import AuditSettings
from audit.keys import load_or_create_signing_key, parse_public_key, public_pem


def test_a_key_is_generated_once_then_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "key.pem"
    first = load_or_create_signing_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_or_create_signing_key(path)
    assert again.key_id == first.key_id and again.public_raw == first.public_raw
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
    key = load_or_create_signing_key(tmp_path / "key.pem")
    public = base64.b64encode(key.public_raw).decode()
    monkeypatch.setenv("LT_AUDIT_SIGNING_KEY_PATH", str(tmp_path / "key.pem"))
    monkeypatch.setenv("LT_AUDIT_CHECKPOINT_EVERY", "7")
    monkeypatch.setenv("LT_AUDIT_CHECKPOINT_SECONDS", "2.5")
    monkeypatch.setenv(
        "LT_AUDIT_RETIRED_KEYS",
        f'[{{"public_key": "{public}", "valid_until": "2026-01-01T00:00:00Z"}}]',
    )
    settings = AuditSettings().audit
    assert settings.signing_key_path == tmp_path / "key.pem"
    assert (settings.checkpoint_every, settings.checkpoint_seconds) == (7, 2.5)
    assert parse_public_key(settings.retired_keys[0].public_key) == key.public_raw
