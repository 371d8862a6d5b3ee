"""The log's format: canonical bytes, hashes, the chain, checkpoints and their cadence."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from audit.domain import (
    GENESIS_HASH,
    Checkpoint,
    canonical_json,
    chain_hash,
    checkpoint_due,
    format_log_time,
    key_id_of,
    seal_entry,
    sha256,
)
from audit.handlers import canonical_event, logged_event_types
from audit.keys import SigningKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.clock import ManualClock
from shared.envelope import Envelope
from shared.events import REGISTRY
from tests.integration.audit.journey import journey

T0 = datetime(2026, 11, 26, 9, tzinfo=UTC)


def test_canonical_json_is_rfc8785() -> None:
    value = {"b": [1, 2.0, 1e21, "Hồ sơ"], "a": {"z": None, "y": True}, "\u00e9": "\u20ac"}
    assert canonical_json(value) == (
        '{"a":{"y":true,"z":null},"b":[1,2,1e+21,"Hồ sơ"],"é":"€"}'.encode()
    )


def test_an_event_has_one_canonical_form_whatever_its_wire_layout() -> None:
    event = journey("C-1")[3]
    wire = json.loads(event.to_bytes())
    shuffled = json.dumps(dict(reversed(list(wire.items()))), indent=2, ensure_ascii=True)
    local_time = wire | {"time": event.time.astimezone(timezone(timedelta(hours=7))).isoformat()}
    for layout in (event.to_bytes().decode(), shuffled, json.dumps(local_time)):
        assert canonical_event(Envelope.from_bytes(layout.encode())) == canonical_event(event)
    assert json.loads(canonical_event(event)) == wire


def test_log_time_has_one_text_form_in_milliseconds() -> None:
    moment = datetime(2026, 11, 26, 16, 5, 7, 123456, tzinfo=timezone(timedelta(hours=7)))
    assert format_log_time(moment) == "2026-11-26T09:05:07.123Z"
    assert format_log_time(T0) == "2026-11-26T09:00:00.000Z"


def test_sealed_entries_chain_from_the_genesis_hash() -> None:
    first = seal_entry(0, T0, b'{"id":"a"}', GENESIS_HASH)
    second = seal_entry(1, T0, b'{"id":"b"}', first.chain_hash)
    assert first.event_hash == sha256(b'{"id":"a"}')
    assert first.chain_hash == sha256(bytes(32) + first.leaf_hash)
    assert second.prev_hash == first.chain_hash
    assert second.chain_hash == chain_hash(first.chain_hash, second.leaf_hash)
    assert seal_entry(1, T0, b'{"id":"b"}', GENESIS_HASH).chain_hash != second.chain_hash


def make_checkpoint(key: SigningKey) -> Checkpoint:
    return Checkpoint(
        log_id="log",
        tree_size=8,
        root_hash="ab" * 32,
        timestamp=format_log_time(T0),
        key_id=key.key_id,
    ).signed_with(key.private)


def test_checkpoint_body_is_canonical_json_of_its_fields() -> None:
    key = SigningKey.of(Ed25519PrivateKey.generate())
    checkpoint = make_checkpoint(key)
    assert (
        checkpoint.body()
        == (
            f'{{"key_id":"{key.key_id}","log_id":"log","root_hash":"{"ab" * 32}",'
            '"timestamp":"2026-11-26T09:00:00.000Z","tree_size":8}'
        ).encode()
    )
    assert key.key_id == sha256(key.public_raw).hex()[:16] == key_id_of(key.public_raw)
    assert len(base64.b64decode(checkpoint.signature)) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"log_id": "other"},
        {"tree_size": 9},
        {"root_hash": "ac" * 32},
        {"timestamp": "2026-11-26T09:00:00.001Z"},
        {"key_id": "0" * 16},
        {"signature": "AAAA"},
        {"signature": "not base64!"},
    ],
)
def test_any_change_to_a_signed_checkpoint_breaks_its_signature(change: dict[str, object]) -> None:
    key = SigningKey.of(Ed25519PrivateKey.generate())
    checkpoint = make_checkpoint(key)
    assert checkpoint.signature_valid(key.public_raw)
    assert Checkpoint.from_json(checkpoint.as_json()) == checkpoint
    altered = Checkpoint.from_json(checkpoint.as_json() | change)
    assert not altered.signature_valid(key.public_raw)


def test_a_checkpoint_does_not_verify_with_another_key() -> None:
    key, other = (SigningKey.of(Ed25519PrivateKey.generate()) for _ in range(2))
    assert not make_checkpoint(key).signature_valid(other.public_raw)


@pytest.mark.parametrize(
    ("size", "signed", "age_s", "due"),
    [
        (0, 0, 999, False),  # empty log
        (10, 10, 999, False),  # nothing new, however old
        (11, 10, 0, False),  # one new entry, just logged
        (11, 10, 29.999, False),
        (11, 10, 30, True),  # the oldest unsigned entry reached T seconds
        (110, 10, 0, True),  # N unsigned entries
        (109, 10, 0, False),
    ],
)
def test_checkpoint_cadence(size: int, signed: int, age_s: float, due: bool) -> None:
    clock = ManualClock(T0)
    oldest_unsigned_at = clock.now() if size > signed else None
    clock.advance(timedelta(seconds=age_s))
    assert (
        checkpoint_due(
            tree_size=size,
            checkpointed_size=signed,
            oldest_unsigned_at=oldest_unsigned_at,
            now=clock.now(),
            every=100,
            max_age=timedelta(seconds=30),
        )
        is due
    )


def test_every_dossier_and_notification_event_is_logged() -> None:
    expected = {t for t in REGISTRY if t.startswith(("dossier.", "notification."))}
    assert set(logged_event_types()) == expected
    assert "dossier.command.refused.v1" in expected
    assert not {t for t in logged_event_types() if t.startswith(("command.", "audit."))}
