"""Dossier keys are stored wrapped under the wrapping key: what is stored is not the key,
only the same wrapping key unwraps it, and only for the dossier it was wrapped for."""

from __future__ import annotations

import pytest
from audit.config import AuditKeyWrapping, AuditSettings
from audit.key_wrapping import (
    DEV_KEY_WRAPPING_KEY,
    DossierKeyUnreadable,
    KeyWrapping,
    UnknownWrappingKey,
    parse_wrapping_key,
    wrapping_key_id,
)
from audit.personal import new_dossier_key

from shared.settings_env import SETTINGS_EXIT, read_settings

WRAPPING_KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def test_a_wrapped_key_is_not_the_key_and_unwraps_to_it() -> None:
    wrapping, key = KeyWrapping(WRAPPING_KEY), new_dossier_key()
    wrapped = wrapping.wrap("D-1", key)
    assert key not in wrapped and len(wrapped) == 12 + 32 + 16
    assert wrapping.wrap("D-1", key) != wrapped  # a fresh nonce each time
    assert wrapping.unwrap("D-1", wrapped, wrapping.id) == key


def test_the_wrapping_key_id_is_a_short_fingerprint_not_the_key() -> None:
    wrapping = KeyWrapping(WRAPPING_KEY)
    assert wrapping.id == wrapping_key_id(WRAPPING_KEY) and len(wrapping.id) == 8
    assert wrapping.id != KeyWrapping(OTHER_KEY).id
    assert wrapping.id not in WRAPPING_KEY.hex()


def test_a_key_wrapped_under_another_wrapping_key_is_refused_saying_which() -> None:
    other = KeyWrapping(OTHER_KEY)
    wrapped = other.wrap("D-1", new_dossier_key())
    with pytest.raises(UnknownWrappingKey) as refused:
        KeyWrapping(WRAPPING_KEY).unwrap("D-1", wrapped, other.id)
    assert other.id in str(refused.value) and "LT_AUDIT_KEY_WRAPPING_KEY" in str(refused.value)


def test_a_key_claimed_by_this_wrapping_key_but_wrapped_under_another_is_refused() -> None:
    wrapping = KeyWrapping(WRAPPING_KEY)
    wrapped = KeyWrapping(OTHER_KEY).wrap("D-1", new_dossier_key())
    with pytest.raises(DossierKeyUnreadable):
        wrapping.unwrap("D-1", wrapped, wrapping.id)


def test_a_wrapped_key_moved_to_another_dossier_does_not_unwrap() -> None:
    wrapping = KeyWrapping(WRAPPING_KEY)
    wrapped = wrapping.wrap("D-1", new_dossier_key())
    with pytest.raises(DossierKeyUnreadable) as refused:
        wrapping.unwrap("D-2", wrapped, wrapping.id)
    assert "D-2" in str(refused.value)


def test_an_altered_wrapped_key_does_not_unwrap() -> None:
    wrapping = KeyWrapping(WRAPPING_KEY)
    wrapped = bytearray(wrapping.wrap("D-1", new_dossier_key()))
    wrapped[20] ^= 1
    with pytest.raises(DossierKeyUnreadable):
        wrapping.unwrap("D-1", bytes(wrapped), wrapping.id)


@pytest.mark.parametrize("text", ["", "ab" * 31, "ab" * 33, "zz" * 32, "change-me"])
def test_a_wrapping_key_is_64_hex_digits(text: str) -> None:
    with pytest.raises(ValueError, match="64 hex digits"):
        parse_wrapping_key(text)


def test_the_start_refuses_a_malformed_key_without_saying_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = {"LT_AUDIT_KEY_WRAPPING_KEY": "not-a-secret-key"}
    monkeypatch.setenv("LT_AUDIT_KEY_WRAPPING_KEY", "not-a-secret-key")
    with pytest.raises(SystemExit) as stopped:
        read_settings(AuditSettings, "audit", environ=environ)
    assert stopped.value.code == SETTINGS_EXIT
    out, err = capsys.readouterr()
    assert "LT_AUDIT_KEY_WRAPPING_KEY" in out and "64 hex digits" in out + err
    assert "not-a-secret-key" not in out + err


def test_the_setting_reads_a_hex_key_and_defaults_to_the_development_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert AuditKeyWrapping().key_wrapping_key.get_secret_value() == DEV_KEY_WRAPPING_KEY
    monkeypatch.setenv("LT_AUDIT_KEY_WRAPPING_KEY", WRAPPING_KEY.hex().upper())
    text = AuditKeyWrapping().key_wrapping_key.get_secret_value()
    assert KeyWrapping.from_hex(text).id == KeyWrapping(WRAPPING_KEY).id
