"""The Idempotency-Key's format and the fingerprint that tells a retry from a reuse."""

from __future__ import annotations

import pytest

from shared.idempotency import canonical_json, checked_key, request_fingerprint
from shared.refusals import Refused


def test_fingerprint_ignores_key_order_but_not_values_or_kind() -> None:
    body = {"a": 1, "b": {"c": "đ", "d": [1, 2]}}
    reordered = {"b": {"d": [1, 2], "c": "đ"}, "a": 1}
    assert request_fingerprint("POST /x", body) == request_fingerprint("POST /x", reordered)
    assert request_fingerprint("POST /x", body) != request_fingerprint("POST /y", body)
    assert request_fingerprint("POST /x", body) != request_fingerprint("POST /x", {**body, "a": 2})


def test_canonical_json_sorts_keys_and_keeps_unicode() -> None:
    assert canonical_json({"b": 1, "a": "đ"}) == '{"a":"đ","b":1}'.encode()


def test_a_key_is_8_to_128_safe_characters() -> None:
    assert checked_key("3f2c1a9e-7b7d-4a51-9a70-0d7d1f0a8e11") is not None
    assert checked_key(None) is None
    for bad in ("short", "x" * 129, "has space 123", "ký-tự-việt", "tab\there12"):
        with pytest.raises(Refused) as refused:
            checked_key(bad)
        assert (refused.value.code, refused.value.field) == (
            "invalid_idempotency_key",
            "Idempotency-Key",
        )
