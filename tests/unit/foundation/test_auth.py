"""Offline token validation (shared.auth) without a server: tokens signed with locally
generated keys, the key set served through a mock transport."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from jwt.algorithms import RSAAlgorithm

from shared.auth import AuthSettings, Principal, Role, TokenVerifier, acting_unit, allow
from shared.auth.http import Forbidden, install_auth
from shared.auth.keys import KeyCache, KeysUnavailable
from shared.auth.verify import InvalidToken
from shared.http import install_error_handlers

ISSUER = "https://id.example/realms/lienthong"
SETTINGS = AuthSettings(issuer=ISSUER, audience="lienthong", jwks_refresh_min_s=0)


class Realm:
    """Signing keys and a JWKS endpoint that counts its fetches."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.fetches = 0
        self.rotate("k1")

    def rotate(self, kid: str) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        keys = []
        for kid, key in self.keys.items():
            jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return httpx.Response(200, json={"keys": keys})

    def token(self, kid: str = "k1", **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": "lienthong",
            "sub": "user-1",
            "iat": now,
            "exp": now + 300,
            "realm_access": {"roles": ["desk", "unrelated"]},
            "unit": "001.21.31.H59",
            "preferred_username": "desk.tanhoa",
            **claims,
        }
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, self.keys[kid], algorithm="RS256", headers={"kid": kid})

    def verifier(self, settings: AuthSettings = SETTINGS) -> TokenVerifier:
        client = httpx.AsyncClient(transport=httpx.MockTransport(self.jwks))
        return TokenVerifier(settings, KeyCache(settings, client))


async def test_a_valid_token_yields_roles_and_unit() -> None:
    realm = Realm()
    principal = await realm.verifier().verify(realm.token())
    assert principal.roles == frozenset({Role.DESK})  # unknown roles are ignored
    assert (principal.unit, principal.name) == ("001.21.31.H59", "desk.tanhoa")


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"iss": "https://evil.example/realms/lienthong"}, "issuer"),
        ({"aud": "another-api"}, "(?i)audience"),
        ({"aud": None}, "aud"),
        ({"exp": -120}, "expired"),  # times: seconds from when the test runs
        ({"nbf": 600}, "not yet valid"),
        ({"sub": None}, "sub"),
    ],
)
async def test_issuer_audience_expiry_and_not_before_are_checked(
    claims: dict[str, Any], reason: str
) -> None:
    # Relative to now, not to collection: a long suite must not make nbf+600 the past.
    now = int(time.time())
    claims = {k: now + v if k in ("exp", "nbf") else v for k, v in claims.items()}
    realm = Realm()
    with pytest.raises(InvalidToken, match=reason):
        await realm.verifier().verify(realm.token(**claims))


async def test_a_token_signed_by_another_key_is_refused() -> None:
    realm, forger = Realm(), Realm()
    with pytest.raises(InvalidToken, match=r"(?i)signature"):
        await realm.verifier().verify(forger.token())


async def test_unsigned_and_symmetric_tokens_are_refused() -> None:
    realm = Realm()
    verifier = realm.verifier()
    unsigned = jwt.encode({"sub": "x"}, key="", algorithm="none")
    hmac_token = jwt.encode({"sub": "x"}, "k" * 32, algorithm="HS256", headers={"kid": "k1"})
    for token in (unsigned, hmac_token, "not.a.token"):
        with pytest.raises(InvalidToken):
            await verifier.verify(token)


async def test_keys_are_cached_and_refetched_on_an_unknown_key_id() -> None:
    realm = Realm()
    verifier = realm.verifier()
    await verifier.verify(realm.token())
    await verifier.verify(realm.token())
    assert realm.fetches == 1
    realm.rotate("k2")  # Keycloak rotated its keys
    assert (await verifier.verify(realm.token(kid="k2"))).unit == "001.21.31.H59"
    assert realm.fetches == 2


async def test_unknown_key_ids_cannot_force_a_fetch_per_request() -> None:
    realm = Realm()
    settings = AuthSettings(issuer=ISSUER, jwks_refresh_min_s=3600)
    verifier = realm.verifier(settings)
    await verifier.verify(realm.token())
    realm.rotate("forged")
    for _ in range(5):
        with pytest.raises(InvalidToken, match="unknown key"):
            await verifier.verify(realm.token(kid="forged"))
    assert realm.fetches == 1


async def test_a_valid_token_is_remembered_until_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    realm, decoded = Realm(), []
    token = realm.token()
    decode = jwt.decode

    def counted(*args: Any, **kwargs: Any) -> Any:
        decoded.append(args[0])
        return decode(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counted)
    now = [time.time()]
    client = httpx.AsyncClient(transport=httpx.MockTransport(realm.jwks))
    verifier = TokenVerifier(SETTINGS, KeyCache(SETTINGS, client), clock=lambda: now[0])

    first, again = await verifier.verify(token), await verifier.verify(token)

    assert first == again and first.unit == "001.21.31.H59"
    assert len(decoded) == 1  # the second request cost a lookup, not a signature check
    now[0] = jwt.decode(token, options={"verify_signature": False})["exp"] + SETTINGS.leeway_s
    with pytest.raises(InvalidToken, match="expired"):
        await verifier.verify(token)


async def test_a_remembered_token_is_checked_again_when_its_key_is_gone() -> None:
    realm = Realm()
    settings = AuthSettings(issuer=ISSUER, jwks_max_age_s=1e-9)  # fetched again every time
    verifier = realm.verifier(settings)
    token = realm.token()
    assert (await verifier.verify(token)).unit == "001.21.31.H59"
    realm.rotate("k2")
    del realm.keys["k1"]  # Keycloak dropped the key that signed it
    with pytest.raises(InvalidToken, match="unknown key"):
        await verifier.verify(token)


async def test_an_unreachable_key_set_is_not_an_invalid_token() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    client = httpx.AsyncClient(transport=httpx.MockTransport(down))
    verifier = TokenVerifier(SETTINGS, KeyCache(SETTINGS, client))
    with pytest.raises(KeysUnavailable):
        await verifier.verify(Realm().token())


def principal(unit: str | None) -> Principal:
    return Principal("s", frozenset({Role.OFFICER}), unit, "c", "u")


def test_the_acting_unit_is_the_tokens_and_another_is_refused() -> None:
    assert acting_unit(principal("A"), None) == "A"
    assert acting_unit(principal("A"), "A") == "A"
    with pytest.raises(Forbidden) as refused:
        acting_unit(principal("A"), "B")
    assert (refused.value.code, refused.value.field) == ("wrong_unit", "unit")
    with pytest.raises(Forbidden, match="no unit"):
        acting_unit(principal(None), "A")


def test_a_successor_acts_for_the_units_it_took_over() -> None:
    took_over = {("MERGED", "OLD")}

    def rule(mine: str, named: str) -> bool:
        return (mine, named) in took_over

    assert acting_unit(principal("MERGED"), "OLD", rule) == "MERGED"
    with pytest.raises(Forbidden):
        acting_unit(principal("MERGED"), "OTHER", rule)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_refusals_are_problems_with_the_bearer_challenge() -> None:
    realm = Realm()
    app = FastAPI()
    install_error_handlers(app)
    install_auth(app, SETTINGS, realm.verifier())

    @app.get("/officers", dependencies=[allow(Role.OFFICER)])
    async def officers() -> dict[str, str]:
        return {"ok": "yes"}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        missing = await client.get("/officers")
        malformed = await client.get("/officers", headers={"Authorization": "Basic abc"})
        expired_token = realm.token(exp=int(time.time()) - 120)
        expired = await client.get(
            "/officers", headers={"Authorization": f"Bearer {expired_token}"}
        )
        wrong_role = await client.get("/officers", headers=bearer(realm.token()))
        officer_token = realm.token(realm_access={"roles": ["officer"]})
        allowed = await client.get(
            "/officers", headers={"Authorization": f"Bearer {officer_token}"}
        )
        scheme = (await client.get("/openapi.json")).json()["components"]["securitySchemes"]
    for response, status, code in [
        (missing, 401, "unauthenticated"),
        (malformed, 401, "unauthenticated"),
        (expired, 401, "invalid_token"),
        (wrong_role, 403, "forbidden"),
    ]:
        assert response.status_code == status
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code
    assert missing.headers["www-authenticate"] == 'Bearer realm="lienthong"'
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]
    assert allowed.json() == {"ok": "yes"}
    flows = scheme["keycloak"]["flows"]
    assert flows["clientCredentials"]["tokenUrl"] == f"{ISSUER}/protocol/openid-connect/token"
    assert (
        flows["authorizationCode"]["authorizationUrl"] == f"{ISSUER}/protocol/openid-connect/auth"
    )
