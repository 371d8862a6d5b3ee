"""The realm's key set while Keycloak is down: a failed fetch is not retried within the
refresh interval, and the keys last fetched keep verifying tokens whose key id they
know (stale-if-error, bounded). A fake JWKS endpoint and a hand-moved clock; no server,
no sleeps."""

from __future__ import annotations

import httpx
import pytest

from shared.auth import AuthSettings, TokenVerifier
from shared.auth.keys import KeyCache, KeysUnavailable
from tests.unit.foundation.test_auth import ISSUER, Realm

SETTINGS = AuthSettings(
    issuer=ISSUER, jwks_refresh_min_s=10, jwks_max_age_s=3600, jwks_stale_if_error_s=600
)


class FlakyRealm(Realm):
    """A realm whose JWKS endpoint can go down; it counts every attempt."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.attempts = 0

    def jwks(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        if self.down:
            raise httpx.ConnectTimeout("timed out")
        return super().jwks(request)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cache(realm: FlakyRealm, clock: Clock, settings: AuthSettings = SETTINGS) -> KeyCache:
    client = httpx.AsyncClient(transport=httpx.MockTransport(realm.jwks))
    return KeyCache(settings, client, clock=clock)


async def test_unknown_key_ids_do_not_refetch_while_the_realm_is_down() -> None:
    realm, clock = FlakyRealm(), Clock()
    keys = cache(realm, clock)
    assert await keys.key("k1") is not None
    realm.down = True
    clock.now += 20  # past the refresh interval: the first unknown id may ask
    with pytest.raises(KeysUnavailable):
        await keys.key("rotated")
    assert realm.attempts == 2
    for _ in range(5):  # within the interval after the failure: no fetch, no waiting
        clock.now += 1
        with pytest.raises(KeysUnavailable):
            await keys.key("rotated")
        assert await keys.key("k1") is not None  # known ids still verify
    assert realm.attempts == 2
    clock.now += 5  # the interval since the failure is over: one more try
    realm.down = False
    realm.rotate("rotated")
    assert await keys.key("rotated") is not None
    assert realm.attempts == 3


async def test_a_first_fetch_that_fails_is_not_retried_within_the_interval() -> None:
    realm, clock = FlakyRealm(), Clock()
    realm.down = True
    keys = cache(realm, clock)
    for _ in range(3):
        with pytest.raises(KeysUnavailable):
            await keys.key("k1")
        clock.now += 3
    assert realm.attempts == 1
    realm.down = False
    clock.now += 1  # 10 s after the failure
    assert await keys.key("k1") is not None
    assert realm.attempts == 2


async def test_known_keys_keep_verifying_past_their_max_age_while_the_realm_is_down() -> None:
    realm, clock = FlakyRealm(), Clock()
    keys = cache(realm, clock)
    key = await keys.key("k1")
    realm.down = True
    clock.now += 3600 + 1  # too old: fetched again, which fails
    assert await keys.key("k1") is key
    assert await keys.key("k1") is key  # no new attempt within the interval
    assert realm.attempts == 2
    with pytest.raises(KeysUnavailable):
        await keys.key("unknown")  # cannot tell whether the realm has it: not a 401
    clock.now += 600  # past max age + stale-if-error: the cached keys no longer stand
    with pytest.raises(KeysUnavailable):
        await keys.key("k1")
    assert realm.attempts == 3


async def test_stale_keys_are_refused_at_once_when_stale_if_error_is_off() -> None:
    realm, clock = FlakyRealm(), Clock()
    keys = cache(realm, clock, SETTINGS.model_copy(update={"jwks_stale_if_error_s": 0}))
    await keys.key("k1")
    realm.down = True
    clock.now += 3600 + 1
    with pytest.raises(KeysUnavailable):
        await keys.key("k1")


async def test_a_token_verifies_while_the_realm_is_down_past_the_max_age() -> None:
    realm, clock = FlakyRealm(), Clock()
    verifier = TokenVerifier(SETTINGS, cache(realm, clock))
    token = realm.token()
    assert (await verifier.verify(token)).unit == "001.21.31.H59"
    realm.down = True
    clock.now += 3600 + 1
    assert (await verifier.verify(token)).unit == "001.21.31.H59"
    assert (await verifier.verify(realm.token())).unit == "001.21.31.H59"  # checked in full
    assert realm.attempts == 2
