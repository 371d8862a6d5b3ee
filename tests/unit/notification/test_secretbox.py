"""Webhook signing secrets: generated, sealed for one subscription under the service key."""

from __future__ import annotations

from notification.secretbox import SecretBox, new_secret


def test_a_sealed_secret_opens_only_for_its_subscription_and_key() -> None:
    box = SecretBox("service-key")
    secret = new_secret()
    sealed = box.seal(secret, "sub-1")
    assert secret not in sealed
    assert box.open(sealed, "sub-1") == secret
    assert box.open(sealed, "sub-2") is None
    assert SecretBox("another-key").open(sealed, "sub-1") is None
    assert box.open("not base64 !", "sub-1") is None


def test_new_secrets_are_long_and_fresh() -> None:
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50
    assert all(len(secret) >= 40 for secret in secrets)
