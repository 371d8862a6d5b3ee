"""Offline validation of OAuth 2.0 bearer access tokens (JWTs signed by the realm).

The signature is checked against the realm's cached keys, then the issuer, the
audience, expiry and not-before (with a small leeway). Nothing is asked of Keycloak per
request: only the key set is fetched, when unknown or old.

A caller sends the same token with every request until it expires, so a token that
passed is remembered (a bounded number of them): the next request with it costs a
lookup, not a signature check and claim validation. A remembered token still holds
only until it expires, and only while its key is the realm's current key for its id:
a key set fetched again (rotated, or old) makes every token it remembered be checked
in full once more.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWK

from shared.auth.keys import KeyCache
from shared.auth.principal import MalformedClaim, Principal
from shared.auth.settings import AuthSettings

REMEMBERED_TOKENS = 1024  # valid tokens kept verified; the oldest goes first


class InvalidToken(Exception):
    """The token is not one of ours, or no longer valid; the message says why."""


@dataclass(frozen=True)
class _Verified:
    """A token that passed: who it names, the key that signed it, until when it holds."""

    principal: Principal
    kid: str
    key: PyJWK
    valid_until: float  # expiry plus leeway, seconds since the epoch


class TokenVerifier:
    """Turns a bearer token into a ``Principal`` or raises ``InvalidToken``."""

    def __init__(
        self,
        settings: AuthSettings,
        keys: KeyCache | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.keys = keys or KeyCache(settings)
        self._clock = clock
        self._verified: dict[str, _Verified] = {}

    async def verify(self, token: str) -> Principal:
        """The caller, or InvalidToken; KeysUnavailable when the key set cannot be had."""
        known = self._verified.get(token)
        if known is None:
            return await self._verify_in_full(token)
        if self._clock() >= known.valid_until:
            del self._verified[token]
            raise InvalidToken("Signature has expired")
        if await self.keys.key(known.kid) is not known.key:  # the key set was fetched again
            del self._verified[token]
            return await self._verify_in_full(token)
        return known.principal

    async def _verify_in_full(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed token: {exc}") from exc
        kid, algorithm = header.get("kid"), header.get("alg")
        if algorithm not in self.settings.algorithms:
            raise InvalidToken(f"signature algorithm {algorithm!r} not accepted")
        if not isinstance(kid, str):
            raise InvalidToken("token has no key id")
        # KeysUnavailable propagates: the realm is unreachable, the token may well be fine.
        key = await self.keys.key(kid)
        if key is None:
            raise InvalidToken("token signed with an unknown key")
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=self.settings.leeway_s,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        try:
            principal = Principal.from_claims(claims)
        except MalformedClaim as exc:
            raise InvalidToken(str(exc)) from exc
        self._remember(
            token, _Verified(principal, kid, key, _expiry(claims) + self.settings.leeway_s)
        )
        return principal

    def _remember(self, token: str, verified: _Verified) -> None:
        if len(self._verified) >= REMEMBERED_TOKENS:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = verified


def _expiry(claims: dict[str, Any]) -> float:
    """``exp`` as a number: PyJWT also admits a numeric string, which would not add up."""
    exp = claims["exp"]
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise InvalidToken("exp is not a number")
    return float(exp)
