"""Offline validation of OAuth 2.0 bearer access tokens (JWTs signed by the realm).

The signature is checked against the realm's cached keys, then the issuer, the
audience, expiry and not-before (with a small leeway). Nothing is asked of Keycloak per
request: only the key set is fetched, when unknown or old.
"""

from __future__ import annotations

import jwt

from shared.auth.keys import KeyCache
from shared.auth.principal import Principal
from shared.auth.settings import AuthSettings


class InvalidToken(Exception):
    """The token is not one of ours, or no longer valid; the message says why."""


class TokenVerifier:
    """Turns a bearer token into a ``Principal`` or raises ``InvalidToken``."""

    def __init__(self, settings: AuthSettings, keys: KeyCache | None = None) -> None:
        self.settings = settings
        self.keys = keys or KeyCache(settings)

    async def verify(self, token: str) -> Principal:
        """The caller, or InvalidToken; KeysUnavailable when the key set cannot be had."""
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
        return Principal.from_claims(claims)
