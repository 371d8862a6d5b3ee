"""Obtaining access tokens from the realm (client credentials, password grant), cached.

Used by the tools that call the APIs: ``make run``'s demo, the benchmark and the
tests. A token is reused until shortly before it expires.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx

# Renew this long before expiry, so a token never expires in flight.
RENEW_BEFORE_S = 60.0


@dataclass(frozen=True)
class Credentials:
    """A confidential client (client credentials) or a user of a public client (password)."""

    client_id: str
    client_secret: str | None = None
    username: str | None = None
    password: str | None = None

    def form(self) -> dict[str, str]:
        if self.username is not None:
            return {
                "grant_type": "password",
                "client_id": self.client_id,
                "username": self.username,
                "password": self.password or "",
            }
        return {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret or "",
        }


class TokenError(Exception):
    """The realm refused to issue a token; the message carries its error."""


class TokenClient:
    """Fetches and caches access tokens from one token endpoint (thread-safe)."""

    def __init__(self, token_url: str, timeout_s: float = 10.0) -> None:
        self.token_url = token_url
        self._timeout_s = timeout_s
        self._cache: dict[Credentials, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def token(self, credentials: Credentials) -> str:
        with self._lock:
            cached = self._cache.get(credentials)
            if cached is not None and cached[1] > time.monotonic():
                return cached[0]
            token, lifetime = self._fetch(credentials)
            self._cache[credentials] = (token, time.monotonic() + lifetime - RENEW_BEFORE_S)
            return token

    def _fetch(self, credentials: Credentials) -> tuple[str, float]:
        response = httpx.post(self.token_url, data=credentials.form(), timeout=self._timeout_s)
        if response.status_code != 200:
            who = credentials.username or credentials.client_id
            raise TokenError(
                f"{self.token_url} refused a token for {who}: "
                f"{response.status_code} {response.text[:200]}"
            )
        body = response.json()
        return str(body["access_token"]), float(body.get("expires_in", 300))
