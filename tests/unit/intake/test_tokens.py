"""Secrets and fingerprints: identity hashes, look-up tokens, sealed receipts, body hashes."""

from __future__ import annotations

import hashlib

from intake.tokens import (
    idempotency_id,
    identity_hash,
    new_lookup_token,
    seal_token,
    token_digest,
    token_matches,
    unseal_token,
)

from shared.events.dossier import documents_hash

KEY = b"test-key"
NUMBER = "082203001234"


def test_identity_hash_is_keyed_deterministic_and_hides_the_number() -> None:
    first = identity_hash(KEY, "citizen_id", NUMBER)
    assert first == identity_hash(KEY, "citizen_id", NUMBER)
    assert first != identity_hash(b"other-key", "citizen_id", NUMBER)
    assert first != hashlib.sha256(NUMBER.encode()).hexdigest()  # not a plain hash
    assert NUMBER not in first and len(first) == 64


def test_identity_hash_separates_document_kinds() -> None:
    assert identity_hash(KEY, "citizen_id", "C1234567") != identity_hash(
        KEY, "passport", "C1234567"
    )


def test_lookup_tokens_are_random_and_url_safe() -> None:
    tokens = {new_lookup_token(24) for _ in range(100)}
    assert len(tokens) == 100
    assert all(len(t) == 32 and t.replace("-", "").replace("_", "").isalnum() for t in tokens)


def test_only_the_digest_of_a_token_is_kept_and_it_matches_the_token() -> None:
    token = new_lookup_token(24)
    digest = token_digest(token)
    assert token not in digest
    assert token_matches(token, digest)
    assert not token_matches(token + "x", digest)
    assert not token_matches(None, digest)
    assert not token_matches("", token_digest(""))  # an empty token never matches
    assert not token_matches(token, None)  # no dossier: compared anyway, never matches


def test_a_sealed_token_opens_only_with_the_same_keys() -> None:
    sealed = seal_token(KEY, "idem-key-1", "secret-token")
    assert "secret-token" not in sealed
    assert unseal_token(KEY, "idem-key-1", sealed) == "secret-token"
    assert unseal_token(KEY, "idem-key-2", sealed) is None
    assert unseal_token(b"other", "idem-key-1", sealed) is None
    assert seal_token(KEY, "idem-key-1", "secret-token") != sealed  # fresh nonce


def test_idempotency_records_are_stored_under_a_hash_of_route_and_key() -> None:
    record = idempotency_id("POST /v1/dossiers", "key-12345")
    assert "key-12345" not in record
    assert record != idempotency_id("POST /v1/dossiers/denials", "key-12345")


def test_documents_hash_is_sha256_of_canonical_json() -> None:
    docs = [{"type": "a", "name": "Tờ khai", "size_bytes": 1, "sha256": "0" * 64}]
    expected = hashlib.sha256(
        b'[{"name":"T\xe1\xbb\x9d khai","sha256":"' + b"0" * 64 + b'","size_bytes":1,"type":"a"}]'
    ).hexdigest()
    assert documents_hash(docs) == expected
    assert documents_hash(list(reversed([*docs, {**docs[0], "type": "b"}]))) != documents_hash(
        [*docs, {**docs[0], "type": "b"}]
    )
