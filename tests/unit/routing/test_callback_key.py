"""A payment callback's idempotency key fits an event id whatever the gateway sends: the
readable ``payment-callback:<provider>:<transaction id>`` while it fits, else a digest of
the same two values (a 200-character transaction id once made the envelope refuse it,
and the gateway got 500)."""

from __future__ import annotations

from routing.api_procedures import callback_key

from shared.envelope import EVENT_ID_MAX


def test_a_short_key_stays_readable() -> None:
    assert callback_key("vnpay", "VNP-42") == "payment-callback:vnpay:VNP-42"


def test_the_longest_allowed_values_give_a_stable_key_that_fits() -> None:
    provider, transaction = "p" * 100, "t" * 200
    key = callback_key(provider, transaction)
    assert len(key) <= EVENT_ID_MAX and key.startswith("payment-callback:sha256:")
    assert callback_key(provider, transaction) == key  # a repeated callback acts once
    assert callback_key(provider, "t" * 199 + "u") != key
