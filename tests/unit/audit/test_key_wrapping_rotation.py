"""Rotating the wrapping key: the service is given the current wrapping key and the
previous ones; it wraps under the current one only, unwraps under whichever key wrapped
a stored key if it is given, and refuses one wrapped under a key it is not given."""

from __future__ import annotations

import pytest
from audit import wrap_keys
from audit.config import AuditKeyWrapping, AuditSettings
from audit.key_wrapping import (
    DossierKeyUnreadable,
    KeyWrapping,
    UnknownWrappingKey,
    WrappingKeys,
    parse_previous_wrapping_keys,
)
from audit.personal import new_dossier_key
from audit.wrap_keys import arguments
from pymongo.errors import ServerSelectionTimeoutError

from shared.settings_env import SETTINGS_EXIT, read_settings

CURRENT, PREVIOUS, OLDER, UNKNOWN = (bytes([n]) * 32 for n in (1, 2, 3, 4))


def test_keys_are_wrapped_under_the_current_key_only() -> None:
    keys, key = WrappingKeys.from_keys(CURRENT, [PREVIOUS]), new_dossier_key()
    assert keys.id == KeyWrapping(CURRENT).id
    assert keys.ids == [KeyWrapping(CURRENT).id, KeyWrapping(PREVIOUS).id]
    wrapped = keys.wrap("D-1", key)
    assert KeyWrapping(CURRENT).unwrap("D-1", wrapped, keys.id) == key
    with pytest.raises(DossierKeyUnreadable):
        KeyWrapping(PREVIOUS).unwrap("D-1", wrapped, KeyWrapping(PREVIOUS).id)


def test_a_key_under_any_given_wrapping_key_unwraps() -> None:
    keys, key = WrappingKeys.from_keys(CURRENT, [PREVIOUS, OLDER]), new_dossier_key()
    for given in (CURRENT, PREVIOUS, OLDER):
        old = KeyWrapping(given)
        assert keys.unwrap("D-1", old.wrap("D-1", key), old.id) == key


def test_a_key_under_a_wrapping_key_not_given_is_refused_naming_the_keys_given() -> None:
    keys, unknown = WrappingKeys.from_keys(CURRENT, [PREVIOUS]), KeyWrapping(UNKNOWN)
    with pytest.raises(UnknownWrappingKey) as refused:
        keys.unwrap("D-1", unknown.wrap("D-1", new_dossier_key()), unknown.id)
    said = str(refused.value)
    assert unknown.id in said and keys.id in said and KeyWrapping(PREVIOUS).id in said
    assert "LT_AUDIT_PREVIOUS_KEY_WRAPPING_KEYS" in said
    assert all(k.hex() not in said for k in (CURRENT, PREVIOUS, UNKNOWN))


def test_a_key_claimed_by_a_previous_key_but_altered_is_refused() -> None:
    keys, previous = WrappingKeys.from_keys(CURRENT, [PREVIOUS]), KeyWrapping(PREVIOUS)
    wrapped = bytearray(previous.wrap("D-1", new_dossier_key()))
    wrapped[20] ^= 1
    with pytest.raises(DossierKeyUnreadable):
        keys.rewrap("D-1", bytes(wrapped), previous.id)
    with pytest.raises(DossierKeyUnreadable):  # nor moved to another dossier
        keys.rewrap("D-2", previous.wrap("D-1", new_dossier_key()), previous.id)


def test_rewrapping_moves_a_key_under_the_current_wrapping_key_unchanged() -> None:
    keys, previous, key = (
        WrappingKeys.from_keys(CURRENT, [PREVIOUS]),
        KeyWrapping(PREVIOUS),
        new_dossier_key(),
    )
    rewrapped = keys.rewrap("D-1", previous.wrap("D-1", key), previous.id)
    assert WrappingKeys(KeyWrapping(CURRENT)).unwrap("D-1", rewrapped, keys.id) == key
    with pytest.raises(UnknownWrappingKey):
        keys.rewrap("D-1", KeyWrapping(UNKNOWN).wrap("D-1", key), KeyWrapping(UNKNOWN).id)


def test_the_current_key_among_the_previous_ones_or_twice_counts_once() -> None:
    keys = WrappingKeys.from_keys(CURRENT, [CURRENT, PREVIOUS, PREVIOUS])
    assert keys.previous_ids == [KeyWrapping(PREVIOUS).id]
    assert WrappingKeys.from_keys(CURRENT).previous == ()


def test_previous_keys_are_comma_separated_hex_keys() -> None:
    assert parse_previous_wrapping_keys("") == []
    assert parse_previous_wrapping_keys(" ") == []
    text = f"{PREVIOUS.hex()}, {OLDER.hex().upper()},"
    assert parse_previous_wrapping_keys(text) == [PREVIOUS, OLDER]
    with pytest.raises(ValueError, match="64 hex digits"):
        parse_previous_wrapping_keys(f"{PREVIOUS.hex()},{'ab' * 31}")


def test_the_setting_gives_the_previous_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    assert AuditKeyWrapping().wrapping().previous == ()
    monkeypatch.setenv("LT_AUDIT_KEY_WRAPPING_KEY", CURRENT.hex())
    monkeypatch.setenv("LT_AUDIT_PREVIOUS_KEY_WRAPPING_KEYS", f"{PREVIOUS.hex()},{OLDER.hex()}")
    keys = AuditKeyWrapping().wrapping()
    assert keys.id == KeyWrapping(CURRENT).id
    assert keys.previous_ids == [KeyWrapping(PREVIOUS).id, KeyWrapping(OLDER).id]


def test_the_start_refuses_a_malformed_previous_key_without_saying_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = f"{PREVIOUS.hex()},not-a-secret-key"
    environ = {"LT_AUDIT_PREVIOUS_KEY_WRAPPING_KEYS": secret}
    monkeypatch.setenv("LT_AUDIT_PREVIOUS_KEY_WRAPPING_KEYS", secret)
    with pytest.raises(SystemExit) as stopped:
        read_settings(AuditSettings, "audit", environ=environ)
    assert stopped.value.code == SETTINGS_EXIT
    out, err = capsys.readouterr()
    assert "LT_AUDIT_PREVIOUS_KEY_WRAPPING_KEYS" in out and "64 hex digits" in out + err
    assert "not-a-secret-key" not in out + err and PREVIOUS.hex() not in out + err


def test_the_command_takes_rotate_and_nothing_else(capsys: pytest.CaptureFixture[str]) -> None:
    assert arguments([]).rotate is False
    assert arguments(["--rotate"]).rotate is True
    with pytest.raises(SystemExit) as refused:
        arguments(["--rotate", "--port=9"])
    assert refused.value.code == 2
    assert "unrecognized arguments: --port=9" in capsys.readouterr().err


@pytest.mark.parametrize("abbreviated", ["--r", "--rot", "--rotat"])
def test_an_abbreviated_option_is_refused_not_taken_for_rotate(
    abbreviated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        arguments([abbreviated])
    assert refused.value.code == 2
    assert f"unrecognized arguments: {abbreviated}" in capsys.readouterr().err


def test_a_store_it_cannot_reach_stops_it_with_a_message_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def unreachable(*_: object, **__: object) -> int:
        raise ServerSelectionTimeoutError("127.0.0.1:1: [Errno 111] Connection refused")

    monkeypatch.setattr(wrap_keys, "run", unreachable)
    with pytest.raises(SystemExit) as stopped:
        wrap_keys.main(["--rotate"])
    assert isinstance(stopped.value.code, str)
    assert stopped.value.code.startswith(
        "python -m audit.wrap_keys: stopped: the audit store could not be reached or written "
        "(ServerSelectionTimeoutError: 127.0.0.1:1"
    )


def test_a_key_the_command_cannot_open_stops_it_with_the_message_not_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(*_: object, **__: object) -> int:
        raise UnknownWrappingKey("dossier keys are wrapped under wrapping key 0badc0de")

    monkeypatch.setattr(wrap_keys, "run", refused)
    with pytest.raises(SystemExit) as stopped:
        wrap_keys.main(["--rotate"])
    assert stopped.value.code == (
        "python -m audit.wrap_keys: stopped: dossier keys are wrapped under wrapping key 0badc0de"
    )
