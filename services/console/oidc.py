"""The console's OpenID Connect client: authorisation code with PKCE, run by its server.

The browser only carries the user to Keycloak's login page and back with a one-time
code; the console exchanges it (with its client secret and the PKCE verifier) for the
tokens, which stay on the server. Tokens are refreshed with the refresh token before
they expire; signing out ends the Keycloak session too (RP-initiated logout).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from shared.auth import AuthSettings, TokenVerifier


class SignInFailed(Exception):
    """Keycloak refused the code or the refresh token (the session cannot go on)."""


def random_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Tokens:
    """What the token endpoint answered; times are epoch seconds."""

    access_token: str
    refresh_token: str | None
    id_token: str | None
    access_expires_at: float
    refresh_expires_at: float

    @classmethod
    def from_response(cls, body: dict[str, Any], now: float) -> Tokens:
        expires_in = float(body.get("expires_in", 300))
        # Keycloak: refresh_expires_in 0 means "as long as the SSO session" (offline).
        refresh_in = float(body.get("refresh_expires_in") or expires_in)
        return cls(
            access_token=str(body["access_token"]),
            refresh_token=body.get("refresh_token"),
            id_token=body.get("id_token"),
            access_expires_at=now + expires_in,
            refresh_expires_at=now + refresh_in,
        )


class OidcClient:
    """Code exchange, refresh and logout URLs against the realm, for one client."""

    def __init__(
        self,
        auth: AuthSettings,
        verifier: TokenVerifier,
        client_id: str,
        client_secret: str,
        http: httpx.AsyncClient,
    ) -> None:
        self._auth = auth
        self._verifier = verifier
        self.client_id = client_id
        self._secret = client_secret
        self._http = http

    def authorization_url(self, redirect_uri: str, state: str, nonce: str, verifier: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid",
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
        return f"{self._auth.authorization_url}?{urlencode(query)}"

    def logout_url(self, id_token: str | None, after: str, state: str | None = None) -> str:
        """Keycloak's end-session URL; ``state`` comes back to ``after`` as ``?state=``."""
        query = {"client_id": self.client_id, "post_logout_redirect_uri": after}
        if state:
            query["state"] = state
        if id_token:
            query["id_token_hint"] = id_token
        return f"{self._auth.end_session_url}?{urlencode(query)}"

    async def exchange(self, code: str, verifier: str, redirect_uri: str) -> Tokens:
        return await self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": verifier,
                "redirect_uri": redirect_uri,
            }
        )

    async def refresh(self, refresh_token: str) -> Tokens:
        return await self._token_request(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}
        )

    async def check_id_token(self, id_token: str | None, nonce: str) -> None:
        """The ID token is the realm's, for this client, and answers this login's nonce."""
        if not id_token:
            raise SignInFailed("the token endpoint sent no ID token")
        try:
            kid = jwt.get_unverified_header(id_token).get("kid")
            key = await self._verifier.keys.key(str(kid))
            if key is None:
                raise SignInFailed("ID token signed with an unknown key")
            claims = jwt.decode(
                id_token,
                key=key,
                algorithms=self._auth.algorithms,
                audience=self.client_id,
                issuer=self._auth.issuer,
                leeway=self._auth.leeway_s,
            )
        except jwt.PyJWTError as exc:
            raise SignInFailed(f"invalid ID token: {exc}") from exc
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise SignInFailed("the ID token answers another login (nonce)")

    async def _token_request(self, form: dict[str, str]) -> Tokens:
        now = time.time()
        response = await self._http.post(
            self._auth.backchannel_token_url,
            data=form,
            auth=(self.client_id, self._secret),  # client_secret_basic
        )
        if response.status_code != 200:
            raise SignInFailed(f"{response.status_code} {response.text[:200]}")
        return Tokens.from_response(response.json(), now)
